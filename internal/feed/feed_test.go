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
