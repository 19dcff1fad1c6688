package push_test

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/directory"
	"github.com/earshot/earshot/internal/logbuf"
	"github.com/earshot/earshot/internal/memdir"
	"github.com/earshot/earshot/push"
	"github.com/earshot/earshot/push/fcm"
	"github.com/earshot/earshot/push/fcmtest"
)

const supervisingNumber = "+35891234599"

// devices is an in-memory device list (the store's part in production).
type devices struct {
	mu sync.Mutex
	m  map[string][]push.Device
}

func (d *devices) Devices(_ context.Context, user string) ([]push.Device, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.m[user]), nil
}

func (d *devices) DeleteDevice(_ context.Context, token string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for u, ds := range d.m {
		d.m[u] = slices.DeleteFunc(ds, func(x push.Device) bool { return x.Token == token })
	}
	return nil
}

func (d *devices) tokens(user string) []string {
	ds, _ := d.Devices(context.Background(), user)
	var out []string
	for _, x := range ds {
		out = append(out, x.Token)
	}
	return out
}

type harness struct {
	fake     *fcmtest.Server
	devices  *devices
	n        *push.Notifier
	offers   chan earshot.OfferEvent
	sessions chan earshot.SessionEvent
	log      *logbuf.Buffer
	now      time.Time
}

// start runs a notifier against the fake FCM; change adjusts its config.
func start(t *testing.T, change func(*push.Config)) *harness {
	t.Helper()
	f, err := directory.Load("testdata/directory.yaml", "FI")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{
		fake: fcmtest.New(t),
		devices: &devices{m: map[string][]push.Device{
			"sara": {{Token: "sara-phone", Platform: "android"}, {Token: "sara-tablet", Platform: "ios"}},
			"sam":  {{Token: "sam-phone", Platform: "ios"}},
		}},
		offers:   make(chan earshot.OfferEvent, 16),
		sessions: make(chan earshot.SessionEvent, 16),
		log:      &logbuf.Buffer{},
		now:      time.Now(),
	}
	sender, err := fcm.New(context.Background(), fcm.Config{
		CredentialsFile: h.fake.Credentials(t), ProjectID: fcmtest.Project, Endpoint: h.fake.Endpoint(),
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := push.Config{
		Sender: sender, Devices: h.devices, Directory: memdir.New(f),
		SupervisingNumber: supervisingNumber, BaseDelay: 20 * time.Millisecond, MaxDelay: 2 * time.Second,
		Log: slog.New(slog.NewTextHandler(h.log, nil)),
	}
	if change != nil {
		change(&cfg)
	}
	h.n, err = push.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.n.Run(ctx, h.offers, h.sessions); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

// waitStats polls the counters until ok holds for them.
func (h *harness) waitStats(t *testing.T, what string, ok func(push.Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s := h.n.Stats(); !ok(s); s = h.n.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("stats = %+v, want %s", s, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) offer(code string) earshot.OfferEvent {
	return earshot.OfferEvent{Source: earshot.OfferSupervised, Offer: earshot.Offer{
		ID: "off1", Org: "acme", Supervisor: "sara", Agent: "alice", Pool: "sales", CallID: "1700.1",
		Code: code, CreatedAt: h.now, ExpiresAt: h.now.Add(2 * time.Minute),
	}}
}

func session(kind string, m earshot.Mode) earshot.SessionEvent {
	return earshot.SessionEvent{Kind: kind, Reason: "supervisor hung up", Session: earshot.Session{
		ID: "ses1", Org: "acme", Supervisor: "sara", Agent: "alice", Pool: "sales", CallID: "1700.1", Mode: m,
	}}
}

// Each event becomes one message per device of the supervisor, with the
// documented payload.
func TestNotifier_Messages(t *testing.T) {
	for _, tc := range []struct {
		name     string
		send     func(*harness)
		data     map[string]string
		title    string
		category string
		call     string // the replace-key's call; default 1700.1
	}{{
		name: "listen offer",
		send: func(h *harness) { h.offers <- h.offer("") },
		data: map[string]string{
			"type": "listen_offer", "offer_id": "off1", "agent_id": "alice", "agent_name": "Alice Agent",
			"pool_id": "sales", "pool_name": "Sales", "source": "supervised",
			"supervising_number": supervisingNumber, "dial_uri": "tel:" + supervisingNumber,
		},
		title: "Alice Agent is on a service call", category: push.CategoryListenOffer,
	}, {
		name:  "listen offer with a code",
		send:  func(h *harness) { h.offers <- h.offer("4711") },
		data:  map[string]string{"type": "listen_offer", "dial_uri": "tel:" + supervisingNumber + ",4711#"},
		title: "Alice Agent is on a service call", category: push.CategoryListenOffer,
	}, {
		// Several Asterisk nodes: the offer names its node's number.
		name: "listen offer on another node",
		send: func(h *harness) {
			ev := h.offer("4711")
			ev.Offer.Node, ev.Offer.SupervisingNumber = "b", "+35891234598"
			h.offers <- ev
		},
		data: map[string]string{
			"type": "listen_offer", "node": "b", "supervising_number": "+35891234598", "dial_uri": "tel:+35891234598,4711#",
		},
		title: "Alice Agent is on a service call", category: push.CategoryListenOffer,
		call: "b:1700.1", // ids are unique per node only
	}, {
		name:  "offer withdrawn",
		send:  func(h *harness) { ev := h.offer(""); ev.Withdrawn = true; h.offers <- ev },
		data:  map[string]string{"type": "offer_withdrawn", "offer_id": "off1", "agent_id": "alice"},
		title: "Call ended", category: push.CategoryInfo,
	}, {
		name: "status listen",
		send: func(h *harness) { h.sessions <- session(earshot.SessionStarted, earshot.ModeListen) },
		data: map[string]string{
			"type": "supervising_status", "session_id": "ses1", "mode": "listen", "actions": "whisper,barge",
			"agent_name": "Alice Agent", "pool_name": "Sales",
		},
		title: "Supervising Alice Agent: listen", category: "EARSHOT_STATUS_LISTEN",
	}, {
		name:  "status whisper",
		send:  func(h *harness) { h.sessions <- session(earshot.SessionModeChanged, earshot.ModeWhisper) },
		data:  map[string]string{"type": "supervising_status", "mode": "whisper", "actions": "listen,barge"},
		title: "Supervising Alice Agent: whisper", category: "EARSHOT_STATUS_WHISPER",
	}, {
		name:  "session ended",
		send:  func(h *harness) { h.sessions <- session(earshot.SessionEnded, earshot.ModeBarge) },
		data:  map[string]string{"type": "session_ended", "session_id": "ses1", "reason": "supervisor hung up"},
		title: "Supervising ended", category: push.CategoryInfo,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, nil)
			tc.send(h)
			got := h.fake.Wait(t, 5*time.Second, "one message per device", func(r []fcmtest.Received) bool { return len(r) == 2 })
			var tokens []string
			for _, m := range got {
				tokens = append(tokens, m.Token)
				for k, v := range tc.data {
					if m.Data[k] != v {
						t.Errorf("%s: data[%s] = %q, want %q", m.Token, k, m.Data[k], v)
					}
				}
				if m.Notification.Title != tc.title || m.APNS.Payload.Aps.Category != tc.category {
					t.Errorf("%s: title %q category %q, want %q %q", m.Token, m.Notification.Title,
						m.APNS.Payload.Aps.Category, tc.title, tc.category)
				}
				if m.Android.Notification.Tag != push.Key(cmp.Or(tc.call, "1700.1")) {
					t.Errorf("%s: tag %q, want the call's key", m.Token, m.Android.Notification.Tag)
				}
			}
			slices.Sort(tokens)
			if !slices.Equal(tokens, []string{"sara-phone", "sara-tablet"}) {
				t.Errorf("delivered to %v, want sara's two devices", tokens)
			}
		})
	}
}

// The offer's TTL is what is left of its life, and its expiry is in the
// payload.
func TestNotifier_OfferTTL(t *testing.T) {
	h := start(t, nil)
	h.offers <- h.offer("")
	m := h.fake.Wait(t, 5*time.Second, "offer", func(r []fcmtest.Received) bool { return len(r) == 2 })[0]
	if ttl, _ := time.ParseDuration(m.Android.TTL); ttl < 110*time.Second || ttl > 120*time.Second {
		t.Errorf("android ttl = %s, want the offer's remaining ~2m", m.Android.TTL)
	}
	if want := h.now.Add(2 * time.Minute).UTC().Format(time.RFC3339); m.Data["expires_at"] != want {
		t.Errorf("expires_at = %q, want %q", m.Data["expires_at"], want)
	}
}

// 429 and 500 are retried with backoff until delivered; one key's
// messages arrive in order even when the first needed retries.
func TestNotifier_RetriesInOrder(t *testing.T) {
	h := start(t, func(c *push.Config) { c.Workers = 1 })
	h.devices.m = map[string][]push.Device{"sara": {{Token: "sara-phone"}}}
	h.fake.Fail(1, 429, "")
	h.fake.Fail(1, 500, "")
	h.sessions <- session(earshot.SessionStarted, earshot.ModeListen)
	h.sessions <- session(earshot.SessionModeChanged, earshot.ModeWhisper)
	got := h.fake.Wait(t, 5*time.Second, "both statuses", func(r []fcmtest.Received) bool { return len(r) == 2 })
	if got[0].Data["mode"] != "listen" || got[1].Data["mode"] != "whisper" {
		t.Errorf("order: %s then %s, want listen then whisper", got[0].Data["mode"], got[1].Data["mode"])
	}
	h.waitStats(t, "2 sent after 2 retries", func(s push.Stats) bool {
		return s.Sent == 2 && s.Retries == 2 && s.Failed == 0 && s.Dropped == 0
	})
}

// A Retry-After is honoured: the retry waits at least that long.
func TestNotifier_RetryAfter(t *testing.T) {
	h := start(t, nil)
	h.devices.m = map[string][]push.Device{"sara": {{Token: "sara-phone"}}}
	h.fake.Fail(1, 429, "1")
	begin := time.Now()
	h.sessions <- session(earshot.SessionStarted, earshot.ModeListen)
	h.fake.Wait(t, 5*time.Second, "status", func(r []fcmtest.Received) bool { return len(r) == 1 })
	if waited := time.Since(begin); waited < time.Second {
		t.Errorf("delivered after %s, before Retry-After: 1", waited)
	}
}

// A token FCM reports unregistered is deleted; the user's other devices
// still get the message.
func TestNotifier_Unregistered(t *testing.T) {
	h := start(t, nil)
	h.fake.Unregister("sara-tablet")
	h.offers <- h.offer("")
	got := h.fake.Wait(t, 5*time.Second, "offer to the phone", func(r []fcmtest.Received) bool { return len(r) == 1 })
	if got[0].Token != "sara-phone" {
		t.Errorf("delivered to %s, want sara-phone", got[0].Token)
	}
	deadline := time.Now().Add(5 * time.Second)
	for slices.Contains(h.devices.tokens("sara"), "sara-tablet") {
		if time.Now().After(deadline) {
			t.Fatal("unregistered token still stored")
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.waitStats(t, "1 sent, 1 failed, 1 removed", func(s push.Stats) bool {
		return s.Removed == 1 && s.Failed == 1 && s.Sent == 1
	})
	if !strings.Contains(h.log.String(), "push: token removed") {
		t.Errorf("no log line for the removed token:\n%s", h.log)
	}
}

// FCM unreachable: each message is tried the bounded number of times,
// then dropped with a log line naming why; nothing waits on it.
func TestNotifier_Unreachable(t *testing.T) {
	dead := fcmtest.Unreachable(t)
	h := start(t, func(c *push.Config) {
		s, err := fcm.New(context.Background(), fcm.Config{
			CredentialsFile: fcmtest.New(t).Credentials(t), ProjectID: fcmtest.Project, Endpoint: dead,
		})
		if err != nil {
			t.Fatal(err)
		}
		c.Sender, c.Attempts, c.Timeout = s, 2, 200*time.Millisecond
	})
	h.offers <- h.offer("")
	h.waitStats(t, "both dropped after 2 retries", func(s push.Stats) bool {
		return s.Dropped == 2 && s.Sent == 0 && s.Retries == 2
	})
	if got := strings.Count(h.log.String(), "push: given up"); got != 2 {
		t.Errorf("%d 'given up' log lines, want 2:\n%s", got, h.log)
	}
}

// blocked is a Sender that holds every send until released.
type blocked struct{ release chan struct{} }

func (b blocked) Send(ctx context.Context, msgs []push.Message) []error {
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	return make([]error, len(msgs))
}

// A full queue drops at once and counts it; the event reader never waits.
func TestNotifier_QueueFull(t *testing.T) {
	b := blocked{release: make(chan struct{})}
	h := start(t, func(c *push.Config) { c.Sender, c.Queue, c.Workers = b, 1, 1 })
	h.devices.m = map[string][]push.Device{"sara": {{Token: "sara-phone"}}}
	// One in the worker, one queued, the rest dropped.
	for range 10 {
		h.sessions <- session(earshot.SessionModeChanged, earshot.ModeWhisper)
	}
	h.waitStats(t, "10 queued or dropped", func(s push.Stats) bool { return s.Dropped+s.Queued == 10 })
	close(b.release)
	if s := h.n.Stats(); s.Dropped < 8 || !strings.Contains(h.log.String(), "push: queue full") {
		t.Errorf("stats = %+v, want at least 8 dropped with a log line", s)
	}
}

// An offer that expired while waiting is not delivered.
func TestNotifier_Expired(t *testing.T) {
	h := start(t, nil)
	ev := h.offer("")
	ev.Offer.ExpiresAt = time.Now().Add(-time.Second)
	h.offers <- ev
	h.sessions <- session(earshot.SessionStarted, earshot.ModeListen)
	got := h.fake.Wait(t, 5*time.Second, "the status", func(r []fcmtest.Received) bool { return len(r) == 2 })
	if n := len(fcmtest.OfType(got, push.TypeListenOffer)); n != 0 {
		t.Errorf("%d expired offers delivered", n)
	}
}
