package httpapi

import (
	"net"
	"sync"
	"time"
)

// Sign-in attempts are counted before the password is checked (reserve),
// so parallel requests cannot all get past a limit that only failures
// already finished would fill. Three counts, all over loginWindow:
//
//   - one user name from one address (loginPerUserAddr): the guessing
//     limit that matters, and a successful sign-in from that address clears it;
//   - one address over every user name (loginPerAddr): one address trying
//     many users;
//   - one user name from every address (loginPerUser): a ceiling far above
//     the first, so that locking a user out for everyone takes many
//     addresses, yet guessing one password from many is still bounded.
//
// IPv6 addresses count by their /64, which one client usually has whole.
const (
	loginWindow      = 5 * time.Minute
	loginPerUserAddr = 5
	loginPerAddr     = 20
	loginPerUser     = 100

	// Operator (admin token) failures per address.
	operatorFailures = 10

	// limiterSweep bounds the map: past this many keys, aged-out keys are
	// dropped, so guessed user names cannot grow it without bound.
	limiterSweep = 4096
)

// maxUserKey is how much of a user name the counts key on.
const maxUserKey = 256

// limit is one count: a key and how many attempts it allows per window.
type limit struct {
	key string
	max int
}

// loginLimits are the counts one sign-in attempt is charged to.
func loginLimits(user, addr string) (userAddr, byAddr, byUser limit) {
	if len(user) > maxUserKey {
		// No user id is this long (the store allows 255 bytes); a
		// longer name must not make the map's keys as large as a body.
		user = user[:maxUserKey]
	}
	a := addrKey(addr)
	return limit{"ua\x00" + user + "\x00" + a, loginPerUserAddr},
		limit{"a\x00" + a, loginPerAddr},
		limit{"u\x00" + user, loginPerUser}
}

// addrKey is what an address counts as: itself, or for IPv6 its /64.
func addrKey(addr string) string {
	ip := net.ParseIP(addr)
	if ip == nil || ip.To4() != nil {
		return addr
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// limiter counts attempts per key within a sliding window. Safe for
// concurrent use.
type limiter struct {
	window time.Duration

	mu   sync.Mutex
	hits map[string][]time.Time // per key, oldest first
}

func newLimiter(window time.Duration) *limiter {
	return &limiter{window: window, hits: map[string][]time.Time{}}
}

// reserve charges one attempt at now to every limit, all or none: if any
// limit is full, nothing is charged and wait is how long until that limit
// has room (the longest, when several are full). The check and the charge
// are one step under the lock, so of any number of parallel attempts at
// most max get through.
func (l *limiter) reserve(now time.Time, limits ...limit) (wait time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, lim := range limits {
		h := l.recentLocked(now, lim.key)
		if len(h) >= lim.max {
			// The key has room again once the attempt max places
			// from the newest leaves the window.
			wait = max(wait, h[len(h)-lim.max].Add(l.window).Sub(now))
		}
	}
	if wait > 0 {
		return wait, false
	}
	if len(l.hits) > limiterSweep {
		for k := range l.hits {
			l.recentLocked(now, k)
		}
	}
	for _, lim := range limits {
		l.hits[lim.key] = append(l.hits[lim.key], now)
	}
	return 0, true
}

// release takes back one attempt charged at at to each key: for an
// attempt that turned out not to count (it succeeded, or was never
// checked).
func (l *limiter) release(at time.Time, keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		h := l.hits[k]
		for i := len(h) - 1; i >= 0; i-- {
			if h[i].Equal(at) {
				h = append(h[:i:i], h[i+1:]...)
				break
			}
		}
		if len(h) == 0 {
			delete(l.hits, k)
		} else {
			l.hits[k] = h
		}
	}
}

// reset forgets every attempt of a key.
func (l *limiter) reset(key string) {
	l.mu.Lock()
	delete(l.hits, key)
	l.mu.Unlock()
}

// recentLocked drops a key's attempts older than the window and returns
// the rest, oldest first.
func (l *limiter) recentLocked(now time.Time, key string) []time.Time {
	h := l.hits[key]
	i := 0
	for i < len(h) && !h[i].Add(l.window).After(now) {
		i++
	}
	switch {
	case i == len(h):
		delete(l.hits, key)
		return nil
	case i > 0:
		h = append(h[:0:0], h[i:]...)
		l.hits[key] = h
	}
	return h
}

// gate bounds how many password checks run at once: each is a slow hash
// on purpose (bcrypt, argon2id with tens of MiB), so unbounded parallel
// sign-ins would be a lever on CPU and memory. A few may wait briefly for
// a slot; past that the caller is told to come back (503, Retry-After).
type gate struct {
	slots   chan struct{}
	waiters chan struct{}
	wait    time.Duration
}

func newGate(slots, waiters int, wait time.Duration) *gate {
	return &gate{slots: make(chan struct{}, slots), waiters: make(chan struct{}, waiters), wait: wait}
}

// enter takes a slot, waiting at most g.wait and only while fewer than
// the waiters bound wait; done ends the wait early. It reports whether the
// slot was taken; leave gives it back.
func (g *gate) enter(done <-chan struct{}) bool {
	select {
	case g.slots <- struct{}{}:
		return true
	default:
	}
	select {
	case g.waiters <- struct{}{}:
		defer func() { <-g.waiters }()
	default:
		return false
	}
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return true
	case <-t.C:
	case <-done:
	}
	return false
}

func (g *gate) leave() { <-g.slots }
