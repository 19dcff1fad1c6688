package ariapp_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/ariapp"
	"github.com/earshot/earshot/directory"
	"github.com/earshot/earshot/internal/audio"
	"github.com/earshot/earshot/internal/memdir"
	"github.com/earshot/earshot/internal/phones"
	"github.com/earshot/earshot/offers"
	"github.com/earshot/earshot/phone"
)

// Numbers of the supervisors in testdata/directory/load.yaml.
const (
	saraNumber = "+358401234567"
	samNumber  = "+358401234568"
	sidNumber  = "+358401234570"
	ginaNumber = "+358401234569"
)

// fixture is one Earshot (its own Stasis application) on the sandbox
// Asterisk, with a harness to place calls.
type fixture struct {
	t      *testing.T
	h      *phones.Harness
	app    *ariapp.App
	name   string
	dir    *memdir.Memory
	offers *offers.Service
	audit  *memAudit
	clock  *clock
	events <-chan earshot.SessionEvent
	stop   func() // stops Earshot (idempotent) and checks for leaks
}

type fixtureOpts struct {
	codes bool
	tone  string
	grace time.Duration // a browser session's life without a media link
}

func newFixture(t *testing.T, o fixtureOpts) *fixture {
	t.Helper()
	h := phones.New(t)
	env := h.Env()
	f, err := directory.Load("../testdata/directory/load.yaml", "FI")
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "earshot-t" + hex.EncodeToString(b)
	level := slog.LevelWarn
	if os.Getenv("EARSHOT_TEST_LOG") == "info" {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level})).With("app", name)
	fx := &fixture{t: t, h: h, name: name, dir: memdir.New(f), audit: &memAudit{}, clock: &clock{now: time.Now()}}
	tracker := ariapp.NewTracker(fx.dir, name, log)
	fx.offers = offers.New(offers.Config{Directory: fx.dir, Calls: tracker, Codes: o.codes, Log: log, Now: fx.clock.Now})
	fx.app, err = ariapp.New(ariapp.Config{
		URL: env.URL, User: env.User, Password: env.Password, App: name,
		Directory: fx.dir, Tracker: tracker, Offers: fx.offers, Audit: fx.audit,
		DefaultRegion: "FI", Normalize: phone.Normalize, Tone: o.tone, Log: log, BrowserGrace: o.grace,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	fx.events = fx.app.Subscribe(ctx)
	done := make(chan struct{})
	go func() { fx.app.Run(ctx); close(done) }()
	go fx.offers.Run(ctx)
	var once sync.Once
	fx.stop = func() {
		once.Do(func() {
			cancel()
			<-done
			h.AssertNoLeaks(t, name+".")
		})
	}
	t.Cleanup(func() {
		h.HangupAll()
		fx.stop()
	})
	deadline := time.Now().Add(10 * time.Second)
	for ok, why := fx.app.Ready(); !ok; ok, why = fx.app.Ready() {
		if time.Now().After(deadline) {
			t.Fatalf("earshot did not connect to ARI: %s", why)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fx
}

// serviceCall places a pool call and waits until Earshot tracks it.
func (fx *fixture) serviceCall(agent string, via phones.Via) *phones.Call {
	fx.t.Helper()
	return fx.serviceCallWith(phones.ServiceOpts{Pool: "sales", Agent: agent, Via: via})
}

// serviceCallWith subscribes to call events first (so the start cannot
// be missed), places the call, and waits for Earshot to report it.
func (fx *fixture) serviceCallWith(o phones.ServiceOpts) *phones.Call {
	fx.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := fx.app.Tracker().Subscribe(ctx)
	agent := cmp.Or(o.AgentID, o.Agent)
	call, err := fx.h.Service(ctx, o)
	if err != nil {
		fx.t.Fatal(err)
	}
	awaitCall(fx.t, events, agent)
	return call
}

// supervise offers the agent's call to sup and dials in from number,
// waiting until the session is connected.
func (fx *fixture) supervise(sup, name, number, agent string) (*phones.Call, earshot.Session) {
	fx.t.Helper()
	if _, err := fx.offers.Offer(context.Background(), sup, agent, earshot.OfferAdHoc); err != nil {
		fx.t.Fatalf("offer %s → %s: %v", sup, agent, err)
	}
	call, err := fx.h.Supervisor(context.Background(), phones.SupervisorOpts{Name: name, Number: number, App: fx.name})
	if err != nil {
		fx.t.Fatal(err)
	}
	return call, fx.waitSession(earshot.SessionStarted, sup)
}

// waitSession waits for a session event of kind for supervisor sup.
func (fx *fixture) waitSession(kind, sup string) earshot.Session {
	fx.t.Helper()
	return awaitSession(fx.t, fx.events, kind, sup)
}

// awaitCall waits up to 5 s for the start of agent's service call,
// passing over other events.
func awaitCall(t *testing.T, events <-chan earshot.CallEvent, agent string) earshot.ServiceCall {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.Call.Agent == agent && !ev.Ended {
				return ev.Call
			}
		case <-timeout:
			t.Fatalf("earshot never saw %s's service call", agent)
		}
	}
}

// awaitSession waits up to 10 s for a session event of kind for sup,
// passing over the others.
func awaitSession(t *testing.T, events <-chan earshot.SessionEvent, kind, sup string) earshot.Session {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.Kind == kind && ev.Session.Supervisor == sup {
				return ev.Session
			}
		case <-timeout:
			t.Fatalf("no %s session event for %s", kind, sup)
		}
	}
}

// hold keeps the calls up while audio flows: there is no event to wait for.
func hold(d time.Duration) (time.Time, time.Time) {
	from := time.Now()
	time.Sleep(d)
	return from, time.Now()
}

// span is a measured wall-clock interval, trimmed of the transition at
// its start (jitter buffers, 20 ms frames).
type span struct {
	name     string
	from, to time.Time
	mode     earshot.Mode
}

func (s span) on(r *phones.Heard) audio.Interval {
	return r.Between(s.from.Add(250*time.Millisecond), s.to.Add(-60*time.Millisecond))
}

// assertMatrix checks who hears whom during a span in a mode (R2–R4):
// everyone hears the call's two parties but never themselves; the agent
// hears the supervisor in whisper and barge, the customer only in barge.
func assertMatrix(t *testing.T, s span, sup, cust, agent *phones.Heard) {
	t.Helper()
	check := func(r *phones.Heard, who string, hz float64, want bool) {
		t.Helper()
		label := who + " (" + s.name + ")"
		if want {
			audio.AssertHears(t, r.Recording, label, hz, s.on(r))
		} else {
			audio.AssertNotHears(t, r.Recording, label, hz, s.on(r))
		}
	}
	check(sup, "supervisor", phones.CustomerHz, true)
	check(sup, "supervisor", phones.AgentHz, true)
	check(sup, "supervisor", phones.SupervisorHz, false)
	check(agent, "agent", phones.CustomerHz, true)
	check(agent, "agent", phones.AgentHz, false)
	check(agent, "agent", phones.SupervisorHz, s.mode != earshot.ModeListen)
	check(cust, "customer", phones.AgentHz, true)
	check(cust, "customer", phones.CustomerHz, false)
	check(cust, "customer", phones.SupervisorHz, s.mode == earshot.ModeBarge)
}

func recording(t *testing.T, c *phones.Call, party string) *phones.Heard {
	t.Helper()
	r, err := c.Recording(context.Background(), party)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type memAudit struct {
	mu sync.Mutex
	e  []earshot.AuditEntry
}

func (m *memAudit) Record(_ context.Context, e earshot.AuditEntry) error {
	m.mu.Lock()
	m.e = append(m.e, e)
	m.mu.Unlock()
	return nil
}

func (m *memAudit) rejects() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, e := range m.e {
		if e.Kind == earshot.AuditReject {
			out = append(out, e.Reason)
		}
	}
	return out
}

// clock is a settable clock for offer expiry.
type clock struct {
	mu  sync.Mutex
	now time.Time
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

// waitSessionEnd waits for sup's session to end and returns why.
func (fx *fixture) waitSessionEnd(sup string) earshot.EndReason {
	fx.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-fx.events:
			if ev.Kind == earshot.SessionEnded && ev.Session.Supervisor == sup {
				return ev.Reason
			}
		case <-timeout:
			fx.t.Fatalf("no end of a session for %s", sup)
		}
	}
}
