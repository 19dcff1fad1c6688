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

// Merge delivers the values of several subscriptions on one channel
// (buffered like each of them), closed once all of them are: a view over
// several Asterisk nodes subscribes to each node's feed. Each input keeps
// its order; a merged reader that falls behind makes the inputs' feeds
// drop, as a slow direct subscriber would. ctx must be the one the inputs
// were subscribed with: once it ends, nothing waits for the reader.
func Merge[T any](ctx context.Context, ins ...<-chan T) <-chan T {
	if len(ins) == 1 {
		return ins[0]
	}
	size := 0
	for _, in := range ins {
		size = max(size, cap(in))
	}
	out := make(chan T, size)
	var wg sync.WaitGroup
	for _, in := range ins {
		wg.Go(func() {
			for v := range in {
				select {
				case out <- v:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(out) }()
	return out
}
