package ariapp

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/CyCoreSystems/ari/v6"
	"golang.org/x/net/websocket"
)

// Stream holds one websocket to ARI with subscribeAll. It reads events and
// hands each to handle on the reading goroutine itself — the "one fast
// pump": handle must never block (no ARI calls), so no event waits behind
// another and none is dropped, unlike a bus with fixed buffers. It
// reconnects with backoff until its context ends.
type Stream struct {
	wsURL    string
	origin   string
	auth     string
	log      *slog.Logger
	handle   func(ari.Event)
	onUp     func() // after every (re)connect, before events flow to handle
	up       atomic.Bool
	lastErr  atomic.Pointer[string]
	received atomic.Int64
	connects atomic.Int64
	bad      atomic.Int64 // events that could not be decoded
	last     atomic.Int64 // unix nanoseconds of the last event
	warned   bool         // the first failure before any connect was logged (run's goroutine only)
}

// NewStream returns a stream for application app; handle receives every
// decoded event, onUp (optional) runs after every (re)connect.
func NewStream(o Options, app string, log *slog.Logger, handle func(ari.Event), onUp func()) (*Stream, error) {
	s, err := newEventStream(BaseURL(o.URL), app, o.User, o.Password, log)
	if err != nil {
		return nil, err
	}
	s.handle, s.onUp = handle, onUp
	return s, nil
}

// Run connects and reconnects until ctx ends.
func (s *Stream) Run(ctx context.Context) { s.run(ctx) }

// Ready reports whether the stream is connected, and if not, why.
func (s *Stream) Ready() (bool, string) { return s.status() }

// Quiesce waits until no event has arrived for quiet, or max has passed.
// Closing the websocket unregisters the application, and Asterisk 22 can
// deadlock (stasis_app_unregister joining a subscription whose delivery
// waits on the same lock) when events for the application are still in
// flight; closing in a quiet moment avoids that window.
func (s *Stream) Quiesce(ctx context.Context, quiet, max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		idle := time.Since(time.Unix(0, s.last.Load()))
		if idle >= quiet {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(quiet - idle):
		}
	}
}

func newEventStream(base, app, user, password string, log *slog.Logger) (*Stream, error) {
	u, err := url.Parse(base + "/events")
	if err != nil {
		return nil, fmt.Errorf("ari url: %w", err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return nil, fmt.Errorf("ari url: scheme %q is not http or https", u.Scheme)
	}
	// subscribeAll: service calls run in dialplan, not in Stasis; only
	// with all events does Earshot see them start and end.
	u.RawQuery = url.Values{"app": {app}, "subscribeAll": {"true"}}.Encode()
	return &Stream{
		wsURL:  u.String(),
		origin: "http://localhost/",
		auth:   "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password)),
		log:    log,
	}, nil
}

// run connects and reconnects with backoff until ctx ends.
func (s *Stream) run(ctx context.Context) {
	// At most ~1 s between attempts: a restarted Asterisk is back in
	// Earshot's view within a second or two, and a refused connection
	// costs nothing.
	backoff := newBackoff(100*time.Millisecond, time.Second)
	for ctx.Err() == nil {
		err := s.session(ctx)
		if ctx.Err() != nil {
			return
		}
		msg := err.Error()
		s.lastErr.Store(&msg)
		d := backoff.next()
		// One warning when the stream goes down; the retries (about one a
		// second) only at debug level: while Asterisk stays away, the
		// program says once a minute that it is waiting.
		if s.up.Swap(false) || s.connects.Load() == 0 && !s.warned {
			s.warned = true
			s.log.Warn("ari event stream down; reconnecting", "error", err, "retry_in", d)
		} else {
			s.log.Debug("ari event stream still down; reconnecting", "error", err, "retry_in", d)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
		if err == nil {
			backoff.reset()
		}
	}
}

// session runs one websocket connection until it fails or ctx ends.
func (s *Stream) session(ctx context.Context) error {
	cfg, err := websocket.NewConfig(s.wsURL, s.origin)
	if err != nil {
		return fmt.Errorf("websocket config: %w", err)
	}
	cfg.Header.Set("Authorization", s.auth)
	cfg.Dialer = nil
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	ws, err := cfg.DialContext(dctx)
	cancel()
	if err != nil {
		return fmt.Errorf("connect %s: %w", s.wsURL, err)
	}
	stop := context.AfterFunc(ctx, func() { ws.Close() })
	defer stop()
	defer ws.Close()

	s.up.Store(true)
	s.connects.Add(1)
	s.lastErr.Store(nil)
	s.log.Info("ari event stream connected")
	if s.onUp != nil {
		s.onUp()
	}
	for {
		var data []byte
		if err := websocket.Message.Receive(ws, &data); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read: %w", err)
		}
		s.received.Add(1)
		s.last.Store(time.Now().UnixNano())
		e, err := ari.DecodeEvent(data)
		if err != nil {
			// Unknown event types are normal across Asterisk versions.
			if !strings.Contains(err.Error(), "unhandled") {
				s.bad.Add(1)
				s.log.Debug("undecodable ari event", "error", err, "bytes", len(data))
			}
			continue
		}
		s.handle(e)
	}
}

// status returns whether the stream is connected, and if not, why.
func (s *Stream) status() (bool, string) {
	if s.up.Load() {
		return true, ""
	}
	if p := s.lastErr.Load(); p != nil {
		return false, *p
	}
	return false, "not connected yet"
}

// backoff is exponential with full jitter, so many Earshots reconnecting
// to one restarted Asterisk do not arrive in lockstep.
type backoff struct {
	min, max, cur time.Duration
}

func newBackoff(min, max time.Duration) *backoff { return &backoff{min: min, max: max, cur: min} }

func (b *backoff) next() time.Duration {
	d := b.cur
	b.cur = min(b.cur*2, b.max)
	return d/2 + rand.N(d/2+1)
}

func (b *backoff) reset() { b.cur = b.min }
