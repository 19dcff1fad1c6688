package httpapi

import (
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t0 := time.Date(2025, 11, 24, 9, 0, 0, 0, time.UTC)
	a, b := limit{"a", 2}, limit{"b", 3}
	type step struct {
		at     time.Duration // after t0
		op     string        // "reserve a b", "release", "reset a"
		limits []limit
		ok     bool
		wait   time.Duration
	}
	for _, tt := range []struct {
		name  string
		steps []step
	}{
		{"UpToMax", []step{
			{0, "reserve", []limit{a}, true, 0},
			{time.Minute, "reserve", []limit{a}, true, 0},
			{2 * time.Minute, "reserve", []limit{a}, false, 3 * time.Minute},
			{5 * time.Minute, "reserve", []limit{a}, true, 0}, // the first aged out
		}},
		{"AllOrNone", []step{
			// a fills; a reservation of a and b charges neither.
			{0, "reserve", []limit{a, b}, true, 0},
			{0, "reserve", []limit{a, b}, true, 0},
			{0, "reserve", []limit{a, b}, false, 5 * time.Minute},
			{0, "reserve", []limit{b}, true, 0},
			{0, "reserve", []limit{b}, false, 5 * time.Minute},
		}},
		{"Release", []step{
			{0, "reserve", []limit{a}, true, 0},
			{time.Second, "reserve", []limit{a}, true, 0},
			{time.Second, "release", []limit{a}, true, 0},
			{time.Second, "reserve", []limit{a}, true, 0},
			{time.Second, "reserve", []limit{a}, false, 5*time.Minute - time.Second},
		}},
		{"Reset", []step{
			{0, "reserve", []limit{a}, true, 0},
			{0, "reserve", []limit{a}, true, 0},
			{0, "reset", []limit{a}, true, 0},
			{0, "reserve", []limit{a}, true, 0},
		}},
		{"WaitIsLongest", []step{
			{0, "reserve", []limit{a, b}, true, 0},
			{time.Minute, "reserve", []limit{a, b}, true, 0},
			{2 * time.Minute, "reserve", []limit{b}, true, 0},
			// Both full, and both have room once the attempt at 0
			// ages out: in 2 minutes.
			{3 * time.Minute, "reserve", []limit{a, b}, false, 2 * time.Minute},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := newLimiter(5 * time.Minute)
			for i, s := range tt.steps {
				now := t0.Add(s.at)
				switch s.op {
				case "reserve":
					wait, ok := l.reserve(now, s.limits...)
					if ok != s.ok || wait != s.wait {
						t.Fatalf("step %d: reserve = %v, %v; want %v, %v", i, wait, ok, s.wait, s.ok)
					}
				case "release":
					l.release(now, s.limits[0].key)
				case "reset":
					l.reset(s.limits[0].key)
				}
			}
		})
	}
	t.Run("Parallel", func(t *testing.T) {
		l := newLimiter(5 * time.Minute)
		var (
			wg sync.WaitGroup
			mu sync.Mutex
			n  int
		)
		for range 200 {
			wg.Go(func() {
				if _, ok := l.reserve(t0, limit{"k", 5}, limit{"wide", 1000}); ok {
					mu.Lock()
					n++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if n != 5 {
			t.Fatalf("%d reservations went through, want 5", n)
		}
	})
	t.Run("Sweep", func(t *testing.T) {
		// Aged-out keys are dropped once the map is large.
		l := newLimiter(time.Minute)
		for i := range limiterSweep + 1 {
			l.reserve(t0, limit{string(rune(i + 1000)), 1})
		}
		l.reserve(t0.Add(2*time.Minute), limit{"new", 1})
		if len(l.hits) != 1 {
			t.Fatalf("%d keys kept, want 1", len(l.hits))
		}
	})
}

func TestAddrKey(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2::5", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"::ffff:192.0.2.1", "::ffff:192.0.2.1"},
		{"not an address", "not an address"},
	} {
		if got := addrKey(tt.in); got != tt.want {
			t.Errorf("addrKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestGate(t *testing.T) {
	g := newGate(1, 1, 50*time.Millisecond)
	if !g.enter(nil) {
		t.Fatal("first: no slot")
	}
	// One may wait; it times out while the slot is held.
	if g.enter(nil) {
		t.Fatal("second: got a held slot")
	}
	// With the waiting place taken, the next is refused at once.
	g.waiters <- struct{}{}
	if g.enter(nil) {
		t.Fatal("third: got a held slot")
	}
	<-g.waiters
	done := make(chan bool)
	go func() { done <- g.enter(nil) }()
	g.leave()
	if !<-done {
		t.Fatal("a waiter did not get the slot given back")
	}
}

func TestLoginLimits_LongName(t *testing.T) {
	// A name as long as a body does not make keys as long: the counts
	// stay small whatever is sent.
	long := strings.Repeat("x", 60000)
	ua, _, u := loginLimits(long, "192.0.2.1")
	if len(ua.key) > 300 || len(u.key) > 300 {
		t.Fatalf("key lengths %d, %d", len(ua.key), len(u.key))
	}
	if a, _, _ := loginLimits(long+"y", "192.0.2.1"); a.key != ua.key {
		t.Fatal("names differing past the cut count apart")
	}
}
