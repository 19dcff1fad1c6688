// Package phones simulates the people on a call inside the sandbox
// Asterisk, for integration tests. Each phone is the ";2" half of a
// Local/<party>@earshot-test-phones/n channel: it records only what it
// hears, answers and plays its own tone (testdata/asterisk). The harness
// follows Asterisk's events over its own ARI connection to learn channel
// ids, bridges and hang-up times, and maps wall-clock instants onto each
// recording.
package phones

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v6"

	"github.com/earshot/earshot/ariapp"
	"github.com/earshot/earshot/internal/sandbox"
)

// Tones of the parties (docs/design.md §5.2); the agent tone of R10 is ~700 Hz.
const (
	CustomerHz   = 400.0
	AgentHz      = 1000.0
	SupervisorHz = 2500.0
	BeepHz       = 700.0
)

// SupervisingNumber is the number supervisor calls dial in tests.
const SupervisingNumber = "+35891234599"

// RecDir is where phones record, inside the sandbox.
const RecDir = "/var/spool/asterisk/earshot-test"

// Harness places and observes simulated calls. Create one per test with New.
type Harness struct {
	tb     testing.TB
	env    sandbox.Env
	client *ariapp.Client
	log    *slog.Logger

	mu        sync.Mutex
	chans     map[string]ari.ChannelData      // live channels by id
	byName    map[string]string               // live channel name → id
	inBridge  map[string]string               // channel id → bridge id
	members   map[string]map[string]bool      // bridge id → channel ids
	destroyed map[string]time.Time            // channel id → when it was destroyed
	answered  map[string]time.Time            // dialled channel id → its Dial ANSWER
	apps      map[string]map[string]time.Time // channel id → dialplan application → when it first started
	dtmf      map[string][]time.Time          // channel id → when each DTMF key ended on it
	notify    chan struct{}                   // closed and replaced on every change
	calls     []*Call
}

// New connects a harness to the sandbox (skipping the test without one)
// and registers cleanup that hangs up every call it placed.
func New(tb testing.TB) *Harness {
	tb.Helper()
	return NewOn(tb, sandbox.Require(tb))
}

// NewOn connects a harness to the sandbox env (the second node's, for
// tests of several nodes: sandbox.RequireNode2).
func NewOn(tb testing.TB, env sandbox.Env) *Harness {
	tb.Helper()
	h := &Harness{
		tb:        tb,
		env:       env,
		log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		chans:     map[string]ari.ChannelData{},
		byName:    map[string]string{},
		inBridge:  map[string]string{},
		members:   map[string]map[string]bool{},
		destroyed: map[string]time.Time{},
		answered:  map[string]time.Time{},
		apps:      map[string]map[string]time.Time{},
		dtmf:      map[string][]time.Time{},
		notify:    make(chan struct{}),
	}
	opts := ariapp.Options{URL: env.URL, User: env.User, Password: env.Password}
	h.client = ariapp.NewClient(opts)
	ready := make(chan struct{})
	var connected atomic.Bool
	stream, err := ariapp.NewStream(opts, "earshot-harness-"+randHex(4), h.log, h.handle, func() {
		if connected.CompareAndSwap(false, true) {
			close(ready)
			return
		}
		// A reconnect (Asterisk restarted): channels may have gone
		// without a ChannelDestroyed reaching us.
		go h.resync()
	})
	if err != nil {
		tb.Fatalf("harness: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { stream.Run(ctx); close(done) }()
	tb.Cleanup(func() {
		h.hangupAll()
		stream.Quiesce(context.Background(), 250*time.Millisecond, 3*time.Second)
		cancel()
		<-done
		h.client.Close()
	})
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		tb.Fatalf("harness: ARI event stream did not connect: %v", func() string { _, why := stream.Ready(); return why }())
	}
	// Learn channels that existed before the stream connected.
	chs, err := h.client.Channels(context.Background())
	if err != nil {
		tb.Fatalf("harness: list channels: %v", err)
	}
	h.mu.Lock()
	for _, ch := range chs {
		h.chans[ch.ID] = ch
		h.byName[ch.Name] = ch.ID
	}
	h.mu.Unlock()
	return h
}

// resync rebuilds the harness's view from Asterisk after a reconnect:
// channels that went while the stream was down are marked destroyed, and
// channels and bridges that appeared meanwhile are learnt.
func (h *Harness) resync() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	chs, err := h.client.Channels(ctx)
	if err != nil {
		return
	}
	bridges, err := h.client.Bridges(ctx)
	if err != nil {
		return
	}
	live := map[string]bool{}
	for _, ch := range chs {
		live[ch.ID] = true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for id := range h.chans {
		if !live[id] {
			h.destroyed[id] = time.Now()
		}
	}
	for _, c := range h.calls {
		for _, id := range c.channels() {
			if _, gone := h.destroyed[id]; !gone && !live[id] {
				h.destroyed[id] = time.Now()
			}
		}
	}
	h.chans, h.byName = map[string]ari.ChannelData{}, map[string]string{}
	for _, ch := range chs {
		h.track(ch)
	}
	h.inBridge, h.members = map[string]string{}, map[string]map[string]bool{}
	for _, b := range bridges {
		h.members[b.ID] = map[string]bool{}
		for _, id := range b.ChannelIDs {
			h.members[b.ID][id] = true
			h.inBridge[id] = b.ID
		}
	}
	close(h.notify)
	h.notify = make(chan struct{})
}

// AppAt returns when channel id first started dialplan application app
// (Stasis, ChanSpy): where a supervisor's call reaches the spy.
func (h *Harness) AppAt(id, app string) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.apps[id][app]
	return t, ok
}

// KeysAt returns when each DTMF key received on channel id ended (ARI
// reports keys on every channel to an application subscribed to all).
func (h *Harness) KeysAt(id string) []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.dtmf[id])
}

// WaitApp waits until channel id has started dialplan application app.
func (h *Harness) WaitApp(ctx context.Context, id, app string) error {
	return h.waitFor(ctx, 10*time.Second, id+" in "+app, func() bool {
		_, ok := h.apps[id][app]
		return ok
	})
}

// AnsweredAt returns when Dial reported channel id answered (the agent
// leg of a service call).
func (h *Harness) AnsweredAt(id string) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.answered[id]
	return t, ok
}

// ChannelName returns a live channel's name.
func (h *Harness) ChannelName(id string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.chans[id].Name
}

// Client returns the harness's ARI client.
func (h *Harness) Client() *ariapp.Client { return h.client }

// Env returns the sandbox coordinates.
func (h *Harness) Env() sandbox.Env { return h.env }

func (h *Harness) handle(e ari.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch e := e.(type) {
	case *ari.ChannelDestroyed:
		delete(h.chans, e.Channel.ID)
		delete(h.byName, e.Channel.Name)
		h.destroyed[e.Channel.ID] = time.Time(e.Timestamp)
	case *ari.ChannelEnteredBridge:
		h.track(e.Channel)
		h.inBridge[e.Channel.ID] = e.Bridge.ID
		if h.members[e.Bridge.ID] == nil {
			h.members[e.Bridge.ID] = map[string]bool{}
		}
		h.members[e.Bridge.ID][e.Channel.ID] = true
	case *ari.ChannelLeftBridge:
		delete(h.inBridge, e.Channel.ID)
		delete(h.members[e.Bridge.ID], e.Channel.ID)
	case *ari.BridgeDestroyed:
		delete(h.members, e.Bridge.ID)
	case *ari.ChannelCreated:
		h.track(e.Channel)
	case *ari.ChannelStateChange:
		h.track(e.Channel)

	case *ari.ChannelVarset:
		h.track(e.Channel)
	case *ari.ChannelDialplan:
		if h.apps[e.Channel.ID] == nil {
			h.apps[e.Channel.ID] = map[string]time.Time{}
		}
		if _, seen := h.apps[e.Channel.ID][e.DialplanApp]; !seen {
			h.apps[e.Channel.ID][e.DialplanApp] = time.Time(e.Timestamp)
		}
	case *ari.ChannelDtmfReceived:
		h.dtmf[e.Channel.ID] = append(h.dtmf[e.Channel.ID], time.Time(e.Timestamp))
		return
	case *ari.Dial:
		h.track(e.Peer)
		if e.Dialstatus == "ANSWER" {
			h.answered[e.Peer.ID] = time.Time(e.Timestamp)
		}
	default:
		return
	}
	close(h.notify)
	h.notify = make(chan struct{})
}

func (h *Harness) track(ch ari.ChannelData) {
	if ch.ID == "" {
		return
	}
	if _, gone := h.destroyed[ch.ID]; gone {
		return
	}
	h.chans[ch.ID] = ch
	h.byName[ch.Name] = ch.ID
}

// waitFor waits until cond, evaluated under the harness lock after every
// event, holds; it fails after d.
func (h *Harness) waitFor(ctx context.Context, d time.Duration, what string, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		h.mu.Lock()
		ok := cond()
		ch := h.notify
		h.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		}
	}
}

// Via is how a pool reaches the agent.
type Via string

// Ways a pool reaches an agent (testdata/asterisk/extensions_earshot_test.conf).
const (
	ViaDial       Via = "dial"   // Dial()
	ViaQueue      Via = "queue"  // Queue() with the agent's device as member
	ViaLocalQueue Via = "lqueue" // Queue() with an optimisable Local member
	Direct        Via = "direct" // a direct call: no pool marker
	// ViaMobile reaches the agent's phone on a leg that names the agent
	// (AgentID) in EARSHOT_AGENT, as a pre-dial handler does for a mobile
	// over a trunk: the channel name binds nobody.
	ViaMobile Via = "mobile"
)

// ServiceOpts describe a customer calling a pool.
type ServiceOpts struct {
	Pool  string // pool id (EARSHOT_POOL)
	Agent string // agent's phone: Local/<Agent>@earshot-test-phones
	// AgentID is the agent's user id where it is not the phone's name: an
	// agent with several phones, or the id a ViaMobile leg names.
	AgentID string
	Via     Via
	// Tones in Hz; 0 gives the defaults, Silent sends silence.
	CustomerTone, AgentTone float64
	CustomerNumber          string
	// NoRecord: the phones record nothing (load tests); Recording fails.
	NoRecord bool
}

// Silent as a tone makes a phone send silence.
const Silent = -1.0

func toneArg(hz, def float64) string {
	switch {
	case hz == Silent:
		return "0"
	case hz == 0:
		hz = def
	}
	return strconv.Itoa(int(hz))
}

func norec(no bool) string {
	if no {
		return "1"
	}
	return ""
}

// Call is one simulated call and its phones.
type Call struct {
	h  *Harness
	ID string // names the recordings
	// Phones maps a party ("customer", the agent's name, the supervisor's
	// name) to its phone channel (the ";2" half that records).
	Phones map[string]string
	// Legs are the other halves: the customer's pool-side channel, the
	// agent leg (bound to the agent's endpoint), the supervisor's leg.
	Customer, AgentLeg, SupervisorLeg string
	Agent                             string
}

// Service places a service (or direct) call and waits until the agent
// has answered, is bridged with the customer, and both phones' recordings
// are running (StartLag).
func (h *Harness) Service(ctx context.Context, o ServiceOpts) (*Call, error) {
	if o.Via == "" {
		o.Via = ViaDial
	}
	if o.CustomerNumber == "" {
		o.CustomerNumber = "+358501111111"
	}
	c := &Call{h: h, ID: "svc-" + randHex(6), Phones: map[string]string{}, Agent: o.Agent}
	ext := string(o.Via) + "-" + o.Pool
	if o.Via == Direct {
		ext = "direct"
	}
	ch, err := h.client.Originate(ctx, ariapp.OriginateRequest{
		Endpoint: "Local/customer@earshot-test-phones/n", Context: "earshot-test-pools", Extension: ext,
		CallerID: o.CustomerNumber, Formats: "slin",
		Variables: map[string]string{
			"__CALL_ID": c.ID, "__TONE_customer": toneArg(o.CustomerTone, CustomerHz),
			"__TONE_" + o.Agent: toneArg(o.AgentTone, AgentHz), "AGENT": o.Agent,
			"AGENT_ID": o.AgentID, "__NOREC": norec(o.NoRecord),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("originate customer: %w", err)
	}
	c.Customer = ch.ID
	h.register(c)
	prefix := "Local/" + o.Agent + "@earshot-test-phones-"
	err = h.waitFor(ctx, 15*time.Second, "agent "+o.Agent+" bridged with the customer", func() bool {
		for name, id := range h.byName {
			if !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, ";1") {
				continue
			}
			if b := h.inBridge[id]; b != "" && len(h.members[b]) >= 2 && h.chans[id].State == "Up" {
				c.AgentLeg = id
				c.Phones[o.Agent] = h.byName[strings.TrimSuffix(name, ";1")+";2"]
				c.Phones["customer"] = h.byName[strings.TrimSuffix(h.chans[c.Customer].Name, ";1")+";2"]
				return c.Phones[o.Agent] != "" && c.Phones["customer"] != ""
			}
		}
		return false
	})
	if err != nil {
		return c, err
	}
	if !o.NoRecord {
		// There is no event for "MixMonitor has started writing".
		time.Sleep(StartLag)
	}
	return c, nil
}

// SupervisorOpts describe a supervisor calling the supervising number.
type SupervisorOpts struct {
	Name   string // the supervisor's phone: Local/<Name>@earshot-test-phones
	Number string // caller id
	// Dial is the number called; default SupervisingNumber (the test
	// dialplan sends any number to App).
	Dial   string
	App    string // the Stasis application under test
	Tone   float64
	Digits string // sent by DTMF half a second after answering (a one-time code)
	// FileVoice makes the phone play its tone from a sound file, as the
	// ChanSpy phones of Spy must: benchmarks use it on both sides.
	FileVoice bool
	NoRecord  bool // as in ServiceOpts
}

// Supervisor places a call to the supervising number; it returns once
// Asterisk has accepted it (not once Earshot has connected it). The call
// reaches Earshot StartLag after answering, so its recording covers
// everything Earshot does.
func (h *Harness) Supervisor(ctx context.Context, o SupervisorOpts) (*Call, error) {
	c := &Call{h: h, ID: "sup-" + randHex(6), Phones: map[string]string{}}
	vars := map[string]string{
		"EARSHOT_APP": o.App, "PRE_STASIS_WAIT": fmt.Sprintf("%.3f", StartLag.Seconds()), "__CALL_ID": c.ID, "__TONE_" + o.Name: toneArg(o.Tone, SupervisorHz),
		"__NOREC": norec(o.NoRecord),
	}
	if o.Digits != "" {
		vars["__DIGITS_"+o.Name] = o.Digits
	}
	if o.FileVoice {
		file, err := h.voiceFile(o.Tone)
		if err != nil {
			return nil, err
		}
		vars["__VOICE_"+o.Name] = file
	}
	ch, err := h.client.Originate(ctx, ariapp.OriginateRequest{
		Endpoint: "Local/" + o.Name + "@earshot-test-phones/n", Context: "earshot-test-supervise",
		Extension: cmp.Or(o.Dial, SupervisingNumber), CallerID: o.Number, Formats: "slin", Variables: vars,
	})
	if err != nil {
		return nil, fmt.Errorf("originate supervisor: %w", err)
	}
	return c, h.supervisorPhone(ctx, c, o.Name, ch)
}

// SpyOpts describe a supervisor reaching a call with Asterisk's own
// ChanSpy instead of Earshot (benchmarks).
type SpyOpts struct {
	Name, Number string
	// Target is the agent leg's channel name; Options are ChanSpy's
	// besides q (e.g. "d" for DTMF mode switching: 4 spy, 5 whisper, 6
	// barge; Call.PressKeys presses them).
	Target, Options string
}

// Spy places a call from a supervisor's phone into ChanSpy on Target.
// The phone's voice comes from a sound file: with Playtones the spying
// Local channel hears nothing (ChanSpy's generator starves).
func (h *Harness) Spy(ctx context.Context, o SpyOpts) (*Call, error) {
	c := &Call{h: h, ID: "spy-" + randHex(6), Phones: map[string]string{}}
	file, err := h.voiceFile(0)
	if err != nil {
		return nil, err
	}
	ch, err := h.client.Originate(ctx, ariapp.OriginateRequest{
		Endpoint: "Local/" + o.Name + "@earshot-test-phones/n", Context: "earshot-test-chanspy",
		Extension: o.Name, CallerID: o.Number, Formats: "slin",
		Variables: map[string]string{
			"PRE_SPY_WAIT": fmt.Sprintf("%.3f", StartLag.Seconds()), "SPY_TARGET": o.Target, "SPY_OPTIONS": o.Options,
			"__CALL_ID": c.ID, "__TONE_" + o.Name: toneArg(0, SupervisorHz),
			"__VOICE_" + o.Name: file,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("originate spy: %w", err)
	}
	return c, h.supervisorPhone(ctx, c, o.Name, ch)
}

// PressKeys has party's phone send DTMF keys (100 ms each) while it goes
// on talking, as a person pressing keys on a phone does; ARI cannot send
// DTMF from a channel outside Stasis, so a helper call in the dialplan
// does (earshot-test-keys). It returns when the press was requested.
func (c *Call) PressKeys(ctx context.Context, party, keys string) (time.Time, error) {
	id := c.Phones[party]
	if id == "" {
		return time.Time{}, fmt.Errorf("no phone for %q in call %s", party, c.ID)
	}
	at := time.Now()
	_, err := c.h.client.Originate(ctx, ariapp.OriginateRequest{
		Endpoint: "Local/keys@earshot-test-keys/n", Context: "earshot-test-keys", Extension: "idle",
		Formats: "slin", Variables: map[string]string{"KEYS": keys, "KEYS_CHANNEL": c.h.ChannelName(id)},
	})
	if err != nil {
		return at, fmt.Errorf("press keys on %s: %w", party, err)
	}
	return at, nil
}

// supervisorPhone registers a supervisor's call whose leg is ch and waits
// for its phone half (";2", the one that records).
func (h *Harness) supervisorPhone(ctx context.Context, c *Call, name string, ch ari.ChannelData) error {
	c.SupervisorLeg = ch.ID
	h.register(c)
	return h.waitFor(ctx, 10*time.Second, name+"'s phone", func() bool {
		c.Phones[name] = h.byName[strings.TrimSuffix(ch.Name, ";1")+";2"]
		return c.Phones[name] != ""
	})
}

func (h *Harness) register(c *Call) {
	h.mu.Lock()
	h.calls = append(h.calls, c)
	h.mu.Unlock()
}

// channels returns every channel of the call.
func (c *Call) channels() []string {
	ids := []string{c.Customer, c.AgentLeg, c.SupervisorLeg}
	for _, id := range c.Phones {
		ids = append(ids, id)
	}
	var out []string
	for _, id := range ids {
		if id != "" {
			out = append(out, id)
		}
	}
	return out
}

// Hangup hangs up every channel of the call and waits until they are gone.
func (c *Call) Hangup(ctx context.Context) error {
	ids := c.channels()
	for _, id := range ids {
		if err := c.h.client.Hangup(ctx, id); err != nil {
			return err
		}
	}
	return c.WaitGone(ctx, ids...)
}

// HangupParty hangs up one party's phone, as when that person hangs up.
func (c *Call) HangupParty(ctx context.Context, party string) error {
	id := c.Phones[party]
	if id == "" {
		return fmt.Errorf("no phone for %q in call %s", party, c.ID)
	}
	if err := c.h.client.Hangup(ctx, id); err != nil {
		return err
	}
	return c.WaitGone(ctx, id)
}

// Gone reports whether Asterisk has destroyed channel id.
func (c *Call) Gone(id string) bool {
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	_, gone := c.h.destroyed[id]
	return gone
}

// WaitGone waits until the channels are destroyed (all of the call's when
// none are named).
func (c *Call) WaitGone(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		ids = c.channels()
	}
	return c.h.waitFor(ctx, 10*time.Second, "channels destroyed", func() bool {
		for _, id := range ids {
			if _, gone := c.h.destroyed[id]; !gone {
				return false
			}
		}
		return true
	})
}

// HangupAll hangs up every call the harness placed and waits until their
// channels are gone. Tests call it before stopping the application under
// test, so no ARI application unregisters while its calls are live.
func (h *Harness) HangupAll() { h.hangupAll() }

func (h *Harness) hangupAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	h.mu.Lock()
	calls := h.calls
	h.mu.Unlock()
	for _, c := range calls {
		if err := c.Hangup(ctx); err != nil {
			h.tb.Errorf("harness cleanup: call %s: %v", c.ID, err)
		}
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Parallel runs f(0..n-1) at once, as calls placed together, and fails
// the test on any error.
func Parallel(tb testing.TB, n int, f func(i int) error) {
	tb.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = f(i) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			tb.Fatalf("%d: %v", i, err)
		}
	}
}

// WaitFor polls cond until it holds, failing the test after d; it returns
// how long that took.
func WaitFor(tb testing.TB, d time.Duration, what string, cond func() bool) time.Duration {
	tb.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			tb.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}
