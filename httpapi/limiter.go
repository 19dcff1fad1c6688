package httpapi

import (
	"sync"
	"time"
)

// Sign-in attempts: after loginFailures failures within loginWindow, a
// user name or a remote address must wait until the oldest failure ages
// out. Keying on both stops guessing one user's password from many
// addresses and many users' passwords from one address.
const (
	loginFailures = 5
	loginWindow   = 5 * time.Minute
	// limiterSweep bounds the map: past this many keys, aged-out keys are
	// dropped, so guessed user names cannot grow it without bound.
	limiterSweep = 4096
)

// limiter counts recent failures per key. Safe for concurrent use.
type limiter struct {
	max    int
	window time.Duration

	mu    sync.Mutex
	fails map[string][]time.Time
}

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, fails: map[string][]time.Time{}}
}

// wait returns how long until every key may try again; 0 if they may now.
func (l *limiter) wait(now time.Time, keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var longest time.Duration
	for _, k := range keys {
		f := l.recentLocked(now, k)
		if len(f) >= l.max {
			// The key is free again once its oldest counted failure
			// leaves the window.
			longest = max(longest, f[len(f)-l.max].Add(l.window).Sub(now))
		}
	}
	return longest
}

// fail records a failure against every key.
func (l *limiter) fail(now time.Time, keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) > limiterSweep {
		for k := range l.fails {
			l.recentLocked(now, k)
		}
	}
	for _, k := range keys {
		l.fails[k] = append(l.recentLocked(now, k), now)
	}
}

// reset forgets a key's failures (after a successful sign-in).
func (l *limiter) reset(key string) {
	l.mu.Lock()
	delete(l.fails, key)
	l.mu.Unlock()
}

// recentLocked drops a key's failures older than the window and returns
// the rest, oldest first.
func (l *limiter) recentLocked(now time.Time, key string) []time.Time {
	f := l.fails[key]
	i := 0
	for i < len(f) && !f[i].Add(l.window).After(now) {
		i++
	}
	switch {
	case i == len(f):
		delete(l.fails, key)
		return nil
	case i > 0:
		f = append(f[:0:0], f[i:]...)
		l.fails[key] = f
	}
	return f
}
