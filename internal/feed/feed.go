// Package feed fans events out to subscribers without ever blocking the
// publisher: the ARI event pump publishes into feeds, and it must never
// wait for a slow reader. A subscriber that falls behind loses events
// (counted) and should re-read the snapshot the feed mirrors.
package feed

import (
	"context"
	"sync"
	"sync/atomic"
)

// Feed is a broadcast of values of type T. The zero value is not usable;
// call New.
type Feed[T any] struct {
	mu      sync.Mutex
	subs    map[chan T]struct{}
	buffer  int
	dropped atomic.Int64
}

// New returns a feed whose subscribers buffer up to buffer values.
func New[T any](buffer int) *Feed[T] {
	return &Feed[T]{subs: make(map[chan T]struct{}), buffer: buffer}
}

// Subscribe delivers values until ctx ends, then closes the channel.
func (f *Feed[T]) Subscribe(ctx context.Context) <-chan T {
	ch := make(chan T, f.buffer)
	f.mu.Lock()
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	context.AfterFunc(ctx, func() {
		f.mu.Lock()
		delete(f.subs, ch)
		close(ch)
		f.mu.Unlock()
	})
	return ch
}

// Publish sends v to every subscriber with room for it.
func (f *Feed[T]) Publish(v T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- v:
		default:
			f.dropped.Add(1)
		}
	}
}

// Dropped counts values lost to full subscribers.
func (f *Feed[T]) Dropped() int64 { return f.dropped.Load() }
