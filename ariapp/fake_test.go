package ariapp

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v6"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/directory"
	"github.com/earshot/earshot/internal/feed"
	"github.com/earshot/earshot/internal/memdir"
	"github.com/earshot/earshot/offers"
)

// fakeAsterisk records what a session asks of Asterisk and answers like
// it: a snoop enters Stasis (a StasisStart fed to the pump) unless told
// otherwise; a hang-up ends the channel (StasisEnd). Hooks let a test
// feed events at any step, to play every interleaving.
type fakeAsterisk struct {
	app *App

	mu    sync.Mutex
	calls []string
	// noStasis lists snoop id suffixes (".snoop2") that never enter Stasis.
	noStasis map[string]bool
	// fail makes calls starting with a prefix fail with an error.
	fail map[string]error
	// before runs when a call is made, before its default effect; it may
	// feed events (f.feed). Returning true skips the default effect.
	before func(call string) bool
	// channels answers Channels; listing runs just before it returns.
	channels []ari.ChannelData
	listing  func()
	bridges  []ari.BridgeData // answers Bridges
	gone     map[string]bool  // channels hung up
	// vars answers Variable by "<channel> <name>"; absent is empty.
	vars map[string]string
}

func (f *fakeAsterisk) record(format string, args ...any) (string, error) {
	call := fmt.Sprintf(format, args...)
	f.mu.Lock()
	f.calls = append(f.calls, call)
	var err error
	for prefix, e := range f.fail {
		if strings.HasPrefix(call, prefix) {
			err = e
		}
	}
	f.mu.Unlock()
	return call, err
}

// feed hands events to the pump, as the websocket reader would.
func (f *fakeAsterisk) feed(events ...ari.Event) {
	for _, e := range events {
		switch e := e.(type) {
		case *ari.StasisEnd:
			f.ended(e.Channel.ID)
		case *ari.ChannelDestroyed:
			f.ended(e.Channel.ID)
		}
		f.app.handle(e)
	}
}

func (f *fakeAsterisk) ended(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gone == nil {
		f.gone = map[string]bool{}
	}
	f.gone[id] = true
}

func (f *fakeAsterisk) skip(call string) bool { return f.before != nil && f.before(call) }

// Calls returns the calls recorded so far.
func (f *fakeAsterisk) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeAsterisk) count(prefix string) int {
	n := 0
	for _, c := range f.Calls() {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func notFound() error { return &APIError{Status: http.StatusNotFound, Message: "Channel not found"} }

func (f *fakeAsterisk) Answer(_ context.Context, ch string) error {
	call, err := f.record("answer %s", ch)
	f.skip(call)
	return err
}

func (f *fakeAsterisk) Hangup(_ context.Context, ch string) error {
	call, err := f.record("hangup %s", ch)
	if err != nil || f.skip(call) {
		return err
	}
	f.mu.Lock()
	gone := f.gone[ch]
	f.mu.Unlock()
	if gone {
		return notFound()
	}
	f.feed(&ari.StasisEnd{Channel: ari.ChannelData{ID: ch}})
	return nil
}

func (f *fakeAsterisk) Variable(_ context.Context, ch, name string) (string, error) {
	call, err := f.record("variable %s %s", ch, name)
	if err != nil || f.skip(call) {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.vars[ch+" "+name], nil
}

func (f *fakeAsterisk) Snoop(_ context.Context, target, id, spy, whisper, app, args string) error {
	call, err := f.record("snoop %s %s spy=%s whisper=%s", target, id, spy, whisper)
	if err != nil || f.skip(call) {
		return err
	}
	f.mu.Lock()
	never := f.noStasis[id[strings.LastIndex(id, "."):]]
	f.mu.Unlock()
	if !never {
		f.feed(&ari.StasisStart{EventData: ari.EventData{Application: app}, Args: strings.Split(args, ","), Channel: ari.ChannelData{ID: id}})
	}
	return nil
}

func (f *fakeAsterisk) Mute(_ context.Context, ch, dir string) error {
	call, err := f.record("mute %s %s", ch, dir)
	f.skip(call)
	return err
}

func (f *fakeAsterisk) Unmute(_ context.Context, ch, dir string) error {
	call, err := f.record("unmute %s %s", ch, dir)
	f.skip(call)
	return err
}

func (f *fakeAsterisk) Play(_ context.Context, ch, pb string, media ...string) error {
	call, err := f.record("play %s %s %s", ch, pb, strings.Join(media, ","))
	f.skip(call)
	return err
}

func (f *fakeAsterisk) StopPlayback(_ context.Context, pb string) error {
	_, err := f.record("stop %s", pb)
	return err
}

func (f *fakeAsterisk) CreateBridge(_ context.Context, id, _ string) error {
	_, err := f.record("bridge %s", id)
	return err
}

func (f *fakeAsterisk) AddChannels(_ context.Context, bridge string, ids ...string) error {
	call, err := f.record("add %s %s", bridge, strings.Join(ids, ","))
	f.skip(call)
	return err
}

func (f *fakeAsterisk) AddAbsorbingDTMF(_ context.Context, bridge, ch string) error {
	_, err := f.record("absorb %s %s", bridge, ch)
	return err
}

func (f *fakeAsterisk) DeleteBridge(_ context.Context, id string) error {
	_, err := f.record("delete %s", id)
	return err
}

func (f *fakeAsterisk) Channels(context.Context) ([]ari.ChannelData, error) {
	f.mu.Lock()
	list := slices.Clone(f.channels)
	f.mu.Unlock()
	if f.listing != nil {
		f.listing()
	}
	return list, nil
}

func (f *fakeAsterisk) Bridges(context.Context) ([]ari.BridgeData, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.bridges), nil
}

func (f *fakeAsterisk) Clock(context.Context) (time.Time, error) { return time.Now(), nil }

// Names used by the state machine's tests.
const (
	supLeg   = "sup1"
	agentLeg = "agent1"
	custLeg  = "cust1"
	saraTel  = "+358401234567"
)

// bench is an App on a fake Asterisk with one service call (alice, pool
// sales) and sara holding a listen offer for it.
type bench struct {
	t      *testing.T
	dir    *memdir.Memory
	app    *App
	ast    *fakeAsterisk
	offers *offers.Service
	offer  earshot.Offer
	events <-chan earshot.SessionEvent
	cancel context.CancelFunc
}

type benchOpts struct {
	codes bool
	tone  string
}

func newBench(t *testing.T, o benchOpts) *bench {
	t.Helper()
	f, err := directory.Parse(strings.NewReader(`
organizations: [{id: acme, name: Acme, features: [supervising]}]
users:
  - {id: sara, org: acme, name: Sara, roles: [supervisor], phone_number: "+358401234567"}
  - {id: alice, org: acme, name: Alice, roles: [agent], endpoint: "PJSIP/1001"}
pools: [{id: sales, org: acme, name: Sales, number: "+35891234500", members: [alice]}]
`), "FI")
	if err != nil {
		t.Fatal(err)
	}
	dir := memdir.New(f)
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	tracker := NewTracker(dir, "earshot", log)
	offs := offers.New(offers.Config{Directory: dir, Calls: tracker, Codes: o.codes, Log: log})
	tone := o.tone
	if tone == "" {
		tone = ToneOff
	}
	fake := &fakeAsterisk{noStasis: map[string]bool{}, fail: map[string]error{}}
	ctx, cancel := context.WithCancel(context.Background())
	a := &App{
		cfg: Config{
			App: "earshot", Directory: dir, Tracker: tracker, Offers: offs, Tone: tone, DTMFKeys: "456",
			CodeTimeout: 2 * time.Second, Log: log,
			Normalize: func(raw, _ string) (string, error) { return raw, nil },
		},
		ast: fake, tracker: tracker, log: log,
		routes: map[string][]*session{}, sessions: map[string]*session{},
		sessFeed: feed.New[earshot.SessionEvent](256), reconcile: make(chan struct{}, 1),
		started: time.Now(), snoopWait: 300 * time.Millisecond,
		stream: &Stream{}, runCtx: ctx,
	}
	a.stream.up.Store(true)
	fake.app = a
	// The subscription outlives a shutdown (cancel), to see its end.
	subCtx, unsubscribe := context.WithCancel(context.Background())
	b := &bench{t: t, dir: dir, app: a, ast: fake, offers: offs, events: a.Subscribe(subCtx), cancel: cancel}
	t.Cleanup(func() {
		cancel()
		b.idle()
		unsubscribe()
	})
	// The service call: the agent leg answered in pool sales.
	a.handle(&ari.Dial{Dialstatus: "ANSWER", Caller: ari.ChannelData{ID: custLeg}, Peer: ari.ChannelData{
		ID: agentLeg, Name: "PJSIP/1001-00000001", State: "Up",
		Connected: &ari.CallerID{Number: "+358501111111"}, ChannelVars: map[string]string{PoolVar: "sales"},
	}})
	b.offer, err = offs.Offer(ctx, "sara", "alice", earshot.OfferAdHoc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// dial places a call from number to the supervising number: its leg
// enters Stasis.
func (b *bench) dial(leg, number string) {
	b.ast.feed(&ari.StasisStart{EventData: ari.EventData{Application: "earshot"}, Args: []string{"supervise"}, Channel: ari.ChannelData{
		ID: leg, State: "Up", Caller: &ari.CallerID{Number: number},
	}})
}

// next waits for the next session event.
func (b *bench) next() earshot.SessionEvent {
	b.t.Helper()
	select {
	case ev, ok := <-b.events:
		if !ok {
			b.t.Fatal("session events closed")
		}
		return ev
	case <-time.After(3 * time.Second):
		b.t.Fatalf("no session event; calls: %q", b.ast.Calls())
	}
	return earshot.SessionEvent{}
}

// connected dials in as sara and waits for the session.
func (b *bench) connected() earshot.Session {
	b.t.Helper()
	b.dial(supLeg, saraTel)
	ev := b.next()
	if ev.Kind != earshot.SessionStarted {
		b.t.Fatalf("got %s (%s), want started", ev.Kind, ev.Reason)
	}
	return ev.Session
}

// ended waits for the session's end and returns why.
func (b *bench) ended() earshot.EndReason {
	b.t.Helper()
	for {
		ev := b.next()
		if ev.Kind == earshot.SessionEnded {
			return ev.Reason
		}
	}
}

// eventually waits until cond holds, or fails after 3 s.
func (b *bench) eventually(what string, cond func() bool) {
	b.t.Helper()
	for deadline := time.Now().Add(3 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.t.Fatalf("not within 3 s: %s; calls: %q", what, b.ast.Calls())
		}
	}
}

// idle waits until every session goroutine has finished.
func (b *bench) idle() {
	b.t.Helper()
	done := make(chan struct{})
	go func() { b.app.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		b.t.Fatalf("sessions still running; calls: %q", b.ast.Calls())
	}
}

// mode returns the session's mode as the API sees it.
func (b *bench) mode(id string) earshot.Mode {
	for _, s := range b.app.Sessions("") {
		if s.ID == id {
			return s.Mode
		}
	}
	return ""
}

// supervisorHangsUp ends the session from the supervisor's phone and
// checks that nothing is left.
func (b *bench) supervisorHangsUp() {
	b.t.Helper()
	b.ast.feed(stasisEnd(supLeg))
	b.ended()
	b.clean(supLeg)
}

// asked checks that the sessions made each of these calls.
func (b *bench) asked(calls ...string) {
	b.t.Helper()
	for _, want := range calls {
		if !slices.Contains(b.ast.Calls(), want) {
			b.t.Errorf("no %q: %q", want, b.ast.Calls())
		}
	}
}

// clean checks that nothing the sessions made is left: every snoop
// created was hung up or ended, every bridge deleted, and the
// supervisor's leg hung up.
func (b *bench) clean(legs ...string) {
	b.t.Helper()
	b.idle()
	calls := b.ast.Calls()
	made := map[string]bool{}
	for _, c := range calls {
		f := strings.Fields(c)
		switch f[0] {
		case "snoop":
			made[f[2]] = true
		case "bridge":
			made[f[1]] = true
		case "hangup", "delete":
			delete(made, f[1])
		}
	}
	b.ast.mu.Lock()
	for id := range b.ast.gone {
		delete(made, id)
	}
	b.ast.mu.Unlock()
	if len(made) > 0 {
		b.t.Errorf("left in Asterisk: %v; calls: %q", made, calls)
	}
	for _, leg := range legs {
		if !slices.Contains(calls, "hangup "+leg) {
			b.t.Errorf("supervisor leg %s not hung up; calls: %q", leg, calls)
		}
	}
	b.app.mu.Lock()
	defer b.app.mu.Unlock()
	if len(b.app.routes) > 0 || len(b.app.sessions) > 0 {
		b.t.Errorf("routes %v, sessions %d left", b.app.routes, len(b.app.sessions))
	}
}

func dtmf(ch, digit string) *ari.ChannelDtmfReceived {
	return &ari.ChannelDtmfReceived{Channel: ari.ChannelData{ID: ch}, Digit: digit}
}

func stasisEnd(ch string) *ari.StasisEnd { return &ari.StasisEnd{Channel: ari.ChannelData{ID: ch}} }

func destroyed(ch string) *ari.ChannelDestroyed {
	return &ari.ChannelDestroyed{Channel: ari.ChannelData{ID: ch}}
}
