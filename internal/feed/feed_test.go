package feed_test

import (
	"context"
	"testing"

	"github.com/earshot/earshot/internal/feed"
)

func TestFeed_Publish(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		f := feed.New[int](4)
		ctx, cancel := context.WithCancel(context.Background())
		ch := f.Subscribe(ctx)
		f.Publish(1)
		f.Publish(2)
		if a, b := <-ch, <-ch; a != 1 || b != 2 {
			t.Fatalf("got %d, %d; want 1, 2", a, b)
		}
		cancel()
		if _, ok := <-ch; ok {
			t.Fatal("channel still open after cancel")
		}
	})
	t.Run("SlowSubscriberDoesNotBlock", func(t *testing.T) {
		f := feed.New[int](2)
		_ = f.Subscribe(context.Background())
		for i := range 10 {
			f.Publish(i)
		}
		if got := f.Dropped(); got != 8 {
			t.Fatalf("dropped %d, want 8", got)
		}
	})
}

func TestMerge(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	a, b := feed.New[int](8), feed.New[int](8)
	out := feed.Merge(ctx, a.Subscribe(ctx), b.Subscribe(ctx))
	a.Publish(1)
	b.Publish(2)
	a.Publish(3)
	got := map[int]bool{}
	for range 3 {
		got[<-out] = true
	}
	if !got[1] || !got[2] || !got[3] {
		t.Fatalf("merged %v, want 1, 2 and 3", got)
	}
	cancel()
	// Closed once both inputs are: no goroutine stays behind.
	for range out {
	}
}
