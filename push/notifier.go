package push

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/internal/feed"
)

// Config configures a Notifier; zero values take the defaults.
type Config struct {
	Sender            Sender
	Devices           Devices
	Directory         earshot.Directory
	SupervisingNumber string
	// Queue bounds the messages waiting for delivery (default 1024).
	Queue int
	// Workers deliver in parallel (default 4); one key stays on one worker.
	Workers int
	// Attempts bounds the tries of one message, the first included
	// (default 5).
	Attempts int
	// Timeout bounds one attempt (default 15 s).
	Timeout time.Duration
	// BaseDelay is the first retry's backoff (default 1 s); it doubles per
	// attempt, with jitter, up to MaxDelay (default 60 s). A Retry-After
	// longer than MaxDelay gives up on the message.
	BaseDelay, MaxDelay time.Duration
	Log                 *slog.Logger
	Now                 func() time.Time
}

// Notifier sends offer and session events to supervisors' devices.
type Notifier struct {
	cfg    Config
	build  builder
	shards []chan []Message
	notes  *feed.Feed[Note]

	queued, sent, failed, dropped, retries, removed atomic.Int64
}

// New returns a notifier; Run starts it.
func New(cfg Config) (*Notifier, error) {
	if cfg.Sender == nil || cfg.Devices == nil || cfg.Directory == nil {
		return nil, errors.New("push: Sender, Devices and Directory are required")
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 1024
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 5
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.BaseDelay <= 0 {
		cfg.BaseDelay = time.Second
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	n := &Notifier{
		cfg:   cfg,
		build: builder{dir: cfg.Directory, supervisingNumber: cfg.SupervisingNumber, now: cfg.Now},
		notes: feed.New[Note](64),
	}
	per := max(1, cfg.Queue/cfg.Workers)
	for range cfg.Workers {
		n.shards = append(n.shards, make(chan []Message, per))
	}
	return n, nil
}

// Run notifies from the two event streams until ctx ends, then stops its
// workers; messages still queued are dropped. The caller subscribes to
// the streams before starting Run, so no event falls between.
func (n *Notifier) Run(ctx context.Context, offers <-chan earshot.OfferEvent, sessions <-chan earshot.SessionEvent) {
	var wg sync.WaitGroup
	for _, q := range n.shards {
		wg.Go(func() { n.work(ctx, q) })
	}
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-offers:
			if !ok {
				offers = nil
				continue
			}
			if m, ok := n.build.offer(ctx, ev); ok {
				n.notify(ctx, ev.Offer.Supervisor, m)
			}
		case ev, ok := <-sessions:
			if !ok {
				sessions = nil
				continue
			}
			n.notify(ctx, ev.Session.Supervisor, n.build.session(ctx, ev))
		}
	}
}

// Stats returns the counters.
func (n *Notifier) Stats() Stats {
	return Stats{
		Queued: n.queued.Load(), Sent: n.sent.Load(), Failed: n.failed.Load(),
		Dropped: n.dropped.Load(), Retries: n.retries.Load(), Removed: n.removed.Load(),
	}
}

// Subscribe delivers every notification as it is made, for every user,
// whether or not they have a device (the console shows them live), until
// ctx ends. A slow reader loses notes rather than delaying delivery.
func (n *Notifier) Subscribe(ctx context.Context) <-chan Note {
	return n.notes.Subscribe(ctx)
}

// notify queues m for each of user's devices, without waiting.
func (n *Notifier) notify(ctx context.Context, user string, m Message) {
	n.notes.Publish(Note{User: user, Message: m})
	devices, err := n.cfg.Devices.Devices(ctx, user)
	if err != nil {
		n.cfg.Log.Error("push: list devices", "user", user, "type", m.Type, "error", err)
		return
	}
	if len(devices) == 0 {
		// Said at info with push in log mode, where this line is what
		// the demo's reader looks for (README, "Try it").
		n.cfg.Log.Log(ctx, n.noDeviceLevel(), "push: no device registered; notification not sent", "user", user, "type", m.Type)
		return
	}
	msgs := make([]Message, len(devices))
	for i, d := range devices {
		msgs[i] = m
		msgs[i].User, msgs[i].Token, msgs[i].Platform = user, d.Token, d.Platform
	}
	h := fnv.New32a()
	h.Write([]byte(m.Key))
	select {
	case n.shards[h.Sum32()%uint32(len(n.shards))] <- msgs:
		n.queued.Add(int64(len(msgs)))
	default:
		n.dropped.Add(int64(len(msgs)))
		n.cfg.Log.Warn("push: queue full; notification dropped", "user", user, "type", m.Type, "devices", len(msgs))
	}
}

func (n *Notifier) work(ctx context.Context, q chan []Message) {
	for {
		select {
		case msgs := <-q:
			n.deliver(ctx, msgs)
		case <-ctx.Done():
			for {
				select {
				case msgs := <-q:
					n.dropped.Add(int64(len(msgs)))
				default:
					return
				}
			}
		}
	}
}

// deliver sends msgs, retrying the ones that failed for a passing reason
// with backoff until the attempts run out.
func (n *Notifier) deliver(ctx context.Context, msgs []Message) {
	for attempt := 1; ; attempt++ {
		msgs = n.unexpired(msgs)
		if len(msgs) == 0 {
			return
		}
		if attempt > 1 {
			n.retries.Add(int64(len(msgs)))
		}
		actx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
		errs := n.cfg.Sender.Send(actx, msgs)
		cancel()
		var retry []Message
		var retryErrs []error
		var after time.Duration
		for i, m := range msgs {
			var err error = errors.New("push: sender gave no answer")
			if i < len(errs) {
				err = errs[i]
			}
			var re *RetryError
			switch {
			case err == nil:
				n.sent.Add(1)
			case ctx.Err() != nil:
				n.dropped.Add(1)
			case errors.Is(err, ErrUnregistered):
				n.failed.Add(1)
				n.removeToken(ctx, m, err)
			case errors.As(err, &re):
				retry, retryErrs = append(retry, m), append(retryErrs, err)
				after = max(after, re.After)
			default:
				n.failed.Add(1)
				n.cfg.Log.Warn("push: refused", "user", m.User, "type", m.Type, "token", TokenTail(m.Token), "error", err)
			}
		}
		if len(retry) == 0 {
			return
		}
		wait, why := n.backoff(attempt, after)
		if why != "" {
			for i, m := range retry {
				n.dropped.Add(1)
				n.cfg.Log.Warn("push: given up", "user", m.User, "type", m.Type, "token", TokenTail(m.Token),
					"attempts", attempt, "why", why, "error", retryErrs[i])
			}
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			n.dropped.Add(int64(len(retry)))
			return
		}
		msgs = retry
	}
}

// backoff is the wait before attempt+1: exponential with jitter, at
// least the push service's Retry-After; why says why not to retry.
func (n *Notifier) backoff(attempt int, retryAfter time.Duration) (time.Duration, string) {
	if attempt >= n.cfg.Attempts {
		return 0, "attempts exhausted"
	}
	if retryAfter > n.cfg.MaxDelay {
		return 0, "Retry-After " + retryAfter.String() + " exceeds the maximum delay"
	}
	ceil := n.cfg.BaseDelay << min(attempt-1, 20)
	if ceil > n.cfg.MaxDelay || ceil <= 0 {
		ceil = n.cfg.MaxDelay
	}
	// "Equal jitter": half fixed, half random, so retries spread out but
	// never come back at once.
	d := ceil/2 + rand.N(ceil/2+1)
	return max(d, retryAfter), ""
}

// unexpired drops messages no longer worth delivering (an offer past its
// expiry).
func (n *Notifier) unexpired(msgs []Message) []Message {
	now := n.cfg.Now()
	out := msgs[:0:0]
	for _, m := range msgs {
		if !m.Expires.IsZero() && !now.Before(m.Expires) {
			n.dropped.Add(1)
			n.cfg.Log.Info("push: expired before delivery", "user", m.User, "type", m.Type, "token", TokenTail(m.Token))
			continue
		}
		out = append(out, m)
	}
	return out
}

func (n *Notifier) removeToken(ctx context.Context, m Message, why error) {
	if err := n.cfg.Devices.DeleteDevice(context.WithoutCancel(ctx), m.Token); err != nil {
		n.cfg.Log.Error("push: delete rejected token", "user", m.User, "token", TokenTail(m.Token), "error", err)
		return
	}
	n.removed.Add(1)
	n.cfg.Log.Warn("push: token removed", "user", m.User, "type", m.Type, "token", TokenTail(m.Token), "error", why)
}

// TokenTail shortens a push token for logs: tokens are credentials of a
// sort, and the end is enough to tell devices apart.
func TokenTail(token string) string {
	// Real tokens are 64 characters and more; a short one (tests, a
	// mistake) still shows no more than half of itself.
	n := min(8, len(token)/2)
	return "…" + token[len(token)-n:]
}

// noDeviceLevel is the level of "no device registered": info with push in
// log mode, where the log is the only place a notification shows, debug
// with FCM, where a supervisor without the app is ordinary.
func (n *Notifier) noDeviceLevel() slog.Level {
	if _, ok := n.cfg.Sender.(LogSender); ok {
		return slog.LevelInfo
	}
	if p, ok := n.cfg.Sender.(PlatformSenders); ok && p.logOnly() {
		return slog.LevelInfo
	}
	return slog.LevelDebug
}
