package ariapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/CyCoreSystems/ari/v6"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/internal/feed"
	"github.com/earshot/earshot/offers"
)

// Tone settings for the agent's "a supervisor joined" tone (R10).
const (
	ToneOff     = "off"     // never
	ToneConnect = "connect" // when a supervisor connects
	ToneEvery   = "every"   // on connect and on every escalation to whisper or barge
)

// Config configures the application.
type Config struct {
	// URL, User, Password reach ARI (see Options).
	URL, User, Password string
	// App is the Stasis application name; default "earshot".
	App string
	// Node names the Asterisk node this application speaks to, when one
	// Earshot supervises several (one App per node); its calls, sessions
	// and audit entries carry it. "" for an Earshot of one node.
	Node      string
	Directory earshot.Directory
	Tracker   *Tracker
	Offers    *offers.Service
	// Audit receives every connect, mode change, end and reject; nil drops them.
	Audit earshot.AuditLog
	// DefaultRegion (ISO country) normalises caller numbers written without +.
	DefaultRegion string
	// Tone is ToneOff, ToneConnect (default) or ToneEvery.
	Tone string
	// DTMFKeys are the keys for listen, whisper and barge on the
	// supervisor's own call; default "456". DisableDTMF turns them off.
	DTMFKeys    string
	DisableDTMF bool
	// CodeTimeout bounds how long a supervising leg has to send its
	// one-time code; default 8 s.
	CodeTimeout time.Duration
	// ReconcileEvery is the period of the reconciliation sweep; default 15 s.
	ReconcileEvery time.Duration
	// BrowserGrace is how long a browser session lives without a media
	// link; default BrowserGrace.
	BrowserGrace time.Duration
	// Normalize turns a caller number into E.164 (package phone).
	Normalize func(raw, region string) (string, error)
	Log       *slog.Logger
}

// App is Earshot's ARI application: it follows service calls, answers
// calls to the supervising number, and runs one goroutine per supervising
// session.
type App struct {
	cfg    Config
	client *Client
	ast    asterisk // client, or a fake in the state machine's tests
	// snoopWait bounds the wait for a new snoop to enter Stasis.
	snoopWait    time.Duration
	browserGrace time.Duration
	stream       *Stream
	tracker      *Tracker
	log          *slog.Logger

	mu       sync.Mutex
	routes   map[string][]*session // channel or playback id → sessions that follow it
	sessions map[string]*session   // live sessions by id, connected or not
	// browsing holds the supervisor and call of each Listen here being
	// connected, so that two at once for one call make one session.
	browsing map[[2]string]bool

	wg        sync.WaitGroup
	runCtx    context.Context
	sessFeed  *feed.Feed[earshot.SessionEvent]
	reconcile chan struct{}
	stats     stats
	// started is when this process's application was made: Earshot
	// objects created before it are a previous run's leftovers.
	started time.Time
}

var _ earshot.Supervising = (*App)(nil)

// NewTracker returns the service-call tracker for the application app.
func NewTracker(dir earshot.Directory, app string, log *slog.Logger) *Tracker {
	return newTracker(dir, log, func(id string) bool { return ownedBy(app, id) })
}

// New returns an application; Run connects it.
func New(cfg Config) (*App, error) {
	if cfg.App == "" {
		cfg.App = "earshot"
	}
	if cfg.Tone == "" {
		cfg.Tone = ToneConnect
	}
	if cfg.DTMFKeys == "" {
		cfg.DTMFKeys = "456"
	}
	if len([]rune(cfg.DTMFKeys)) != 3 {
		return nil, fmt.Errorf("dtmf keys %q: want three keys, for listen, whisper and barge", cfg.DTMFKeys)
	}
	if cfg.CodeTimeout == 0 {
		cfg.CodeTimeout = 8 * time.Second
	}
	if cfg.ReconcileEvery == 0 {
		cfg.ReconcileEvery = 15 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.BrowserGrace <= 0 {
		cfg.BrowserGrace = BrowserGrace
	}
	if cfg.Directory == nil || cfg.Tracker == nil || cfg.Offers == nil || cfg.Normalize == nil {
		return nil, errors.New("ariapp: Directory, Tracker, Offers and Normalize are required")
	}
	a := &App{
		cfg:       cfg,
		client:    NewClient(Options{URL: cfg.URL, User: cfg.User, Password: cfg.Password}),
		tracker:   cfg.Tracker.onNode(cfg.Node),
		log:       cfg.Log,
		routes:    make(map[string][]*session),
		sessions:  make(map[string]*session),
		browsing:  make(map[[2]string]bool),
		sessFeed:  feed.New[earshot.SessionEvent](256),
		reconcile: make(chan struct{}, 1),
		started:   time.Now(),
		snoopWait: 5 * time.Second,
	}
	a.browserGrace = cfg.BrowserGrace
	a.ast = a.client
	s, err := newEventStream(a.client.base, cfg.App, cfg.User, cfg.Password, cfg.Log)
	if err != nil {
		return nil, err
	}
	s.handle = a.handle
	s.onUp = func() {
		a.requestReconcile()
		// Not a.background: a reconnect may come while Run waits for it.
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			a.filterEvents(ctx)
		}()
	}
	a.stream = s
	return a, nil
}

// Node returns the id of the node the application speaks to.
func (a *App) Node() string { return a.cfg.Node }

// Tracker returns the service-call tracker.
func (a *App) Tracker() *Tracker { return a.tracker }

// Client returns the ARI REST client.
func (a *App) Client() *Client { return a.client }

// Check probes ARI once: it fails when Asterisk is unreachable or the
// credentials are wrong, with an error that says which.
func (a *App) Check(ctx context.Context) error {
	_, err := a.client.Info(ctx)
	switch {
	case IsUnauthorized(err):
		return fmt.Errorf("ari at %s rejected user %q: wrong ari-user or ari-password", a.client.base, a.cfg.User)
	case err != nil:
		return fmt.Errorf("ari at %s is unreachable: %w", a.client.base, err)
	}
	return nil
}

// Ready reports whether the event stream is connected, and if not, why.
func (a *App) Ready() (bool, string) { return a.stream.status() }

// Run connects to ARI and serves until ctx ends; then it ends every
// session cleanly (supervisor legs hung up, snoops and bridges deleted)
// before returning.
//
// The event stream closes last, after the sessions and in a quiet moment
// (see Stream.Quiesce): closing an ARI websocket unregisters the
// application, and Asterisk 22 can deadlock when an application
// unregisters while events for it are still being delivered. Ending
// sessions first also lets Earshot see its own cleanup.
func (a *App) Run(ctx context.Context) error {
	a.mu.Lock()
	a.runCtx = ctx
	a.mu.Unlock()
	streamCtx, stopStream := context.WithCancel(context.WithoutCancel(ctx))
	defer stopStream()
	var bg sync.WaitGroup
	bg.Go(func() { a.stream.run(streamCtx) })
	a.reconcileLoop(ctx)
	// Sessions saw ctx end too; wait for their cleanup.
	a.wg.Wait()
	a.stream.Quiesce(context.Background(), 250*time.Millisecond, 3*time.Second)
	stopStream()
	bg.Wait()
	a.client.Close()
	return nil
}

// WantedEvents returns the event types Earshot acts on (the tracker, the
// sessions, eventIDs); Asterisk is asked to send no others.
func WantedEvents() []string {
	return []string{
		"StasisStart", "StasisEnd", "Dial", "ChannelEnteredBridge", "ChannelStateChange",
		"ChannelDestroyed", "ChannelDtmfReceived", "PlaybackFinished",
	}
}

// filterEvents asks Asterisk, after each connect, to send only
// WantedEvents: with subscribeAll, the dialplan steps and variable changes
// of every call would otherwise be ~6 of every 7 events, serialised by
// Asterisk and decoded here for nothing (see the capacity benchmark). An
// Asterisk without event filters sends everything, which works as well.
func (a *App) filterEvents(ctx context.Context) {
	if err := a.client.FilterEvents(ctx, a.cfg.App, WantedEvents()); err != nil {
		a.log.Warn("ari event filter not set; receiving every event", "error", err)
	}
}

func (a *App) requestReconcile() {
	select {
	case a.reconcile <- struct{}{}:
	default:
	}
}

// handle is the event pump: it runs on the websocket reader and must not
// block. Ordering: the tracker first, so a session reacting to an event
// sees the tracker already updated.
func (a *App) handle(e ari.Event) {
	a.stats.events.Add(1)
	a.tracker.handle(e)
	if ss, ok := e.(*ari.StasisStart); ok && ss.Application == a.cfg.App {
		if a.startLeg(ss) {
			return
		}
	}
	ids := eventIDs(e)
	if len(ids) == 0 {
		return
	}
	a.mu.Lock()
	var targets []*session
	for _, id := range ids {
		targets = append(targets, a.routes[id]...)
	}
	a.mu.Unlock()
	for _, s := range targets {
		s.inbox.put(e)
	}
	// A snoop of ours entering Stasis with no session to own it (the
	// session ended while it was being created) must not live on.
	if ss, ok := e.(*ari.StasisStart); ok && len(targets) == 0 && a.isOurs(ss.Channel.ID) {
		a.hangupOrphan(ss.Channel.ID)
	}
}

// startLeg starts a session goroutine for a call to the supervising
// number. The route is registered here, on the pump, before any later
// event of that channel can arrive.
func (a *App) startLeg(ss *ari.StasisStart) bool {
	if len(ss.Args) == 0 || ss.Args[0] != "supervise" {
		return false
	}
	// With subscribeAll, be certain the channel entered this application,
	// not another one that also takes "supervise".
	if app, _ := stasisApp(ss.Channel.Dialplan); app != "" && app != a.cfg.App {
		return false
	}
	s := a.newSession(ss.Channel)
	a.mu.Lock()
	if a.runCtx == nil || a.runCtx.Err() != nil {
		a.mu.Unlock()
		return true
	}
	a.sessions[s.id] = s
	a.routes[s.channel] = append(a.routes[s.channel], s)
	a.wg.Add(1)
	a.mu.Unlock()
	go func() {
		defer a.wg.Done()
		s.run(a.runCtx)
	}()
	return true
}

func (a *App) route(id string, s *session) {
	a.mu.Lock()
	a.routes[id] = append(a.routes[id], s)
	a.mu.Unlock()
}

func (a *App) unroute(id string, s *session) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rs := slices.DeleteFunc(a.routes[id], func(x *session) bool { return x == s })
	if len(rs) == 0 {
		delete(a.routes, id)
		return
	}
	a.routes[id] = rs
}

// forget drops every route of a finished session.
func (a *App) forget(s *session) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, s.id)
	for id, rs := range a.routes {
		rs = slices.DeleteFunc(rs, func(x *session) bool { return x == s })
		if len(rs) == 0 {
			delete(a.routes, id)
		} else {
			a.routes[id] = rs
		}
	}
}

// background runs cleanup work off the event pump, with its own timeout
// (it must finish even during shutdown); Run waits for it.
func (a *App) background(f func(ctx context.Context)) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		f(ctx)
	}()
}

func (a *App) hangupOrphan(id string) {
	a.background(func(ctx context.Context) {
		if err := a.ast.Hangup(ctx, id); err != nil && !IsNotFound(err) {
			a.log.Error("hang up orphan channel", "channel", id, "error", err)
		}
	})
}

// Sessions implements earshot.Supervising: connected sessions only.
func (a *App) Sessions(supervisor string) []earshot.Session {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []earshot.Session
	for _, s := range a.sessions {
		info := s.info.Load()
		if info == nil || (supervisor != "" && info.Supervisor != supervisor) {
			continue
		}
		out = append(out, *info)
	}
	slices.SortFunc(out, func(x, y earshot.Session) int { return x.StartedAt.Compare(y.StartedAt) })
	return out
}

func (a *App) connected(id string) (*session, error) {
	a.mu.Lock()
	s := a.sessions[id]
	a.mu.Unlock()
	if s == nil || s.info.Load() == nil {
		return nil, earshot.ErrSessionNotFound
	}
	return s, nil
}

// SetMode implements earshot.Supervising.
func (a *App) SetMode(ctx context.Context, id string, m earshot.Mode) error {
	if !m.Valid() {
		return earshot.Errorf(earshot.EINVALID, "mode %q is not one of listen, whisper, barge", m)
	}
	s, err := a.connected(id)
	if err != nil {
		return err
	}
	if ok, _ := a.Ready(); !ok {
		return earshot.ErrUnavailable
	}
	return s.command(ctx, command{mode: m})
}

// Hangup implements earshot.Supervising.
func (a *App) Hangup(ctx context.Context, id string) error {
	s, err := a.connected(id)
	if err != nil {
		return err
	}
	return s.command(ctx, command{hangup: true, reason: earshot.EndHungUp})
}

// EndWhere implements earshot.Supervising: for revocations (R1: turning
// supervising off ends sessions at once; so does deleting a supervisor or
// narrowing what they may supervise).
func (a *App) EndWhere(ctx context.Context, match func(earshot.Session) bool, reason earshot.EndReason) int {
	a.mu.Lock()
	var targets []*session
	for _, s := range a.sessions {
		if info := s.info.Load(); info != nil && match(*info) {
			targets = append(targets, s)
		}
	}
	a.mu.Unlock()
	n := 0
	for _, s := range targets {
		if err := s.command(ctx, command{hangup: true, reason: reason}); err == nil {
			n++
		}
	}
	return n
}

// Subscribe implements earshot.Supervising.
func (a *App) Subscribe(ctx context.Context) <-chan earshot.SessionEvent {
	return a.sessFeed.Subscribe(ctx)
}

// Busy reports whether supervisor already supervises call callID.
func (a *App) Busy(supervisor, callID string) bool {
	for _, s := range a.Sessions(supervisor) {
		if s.CallID == callID {
			return true
		}
	}
	return false
}

// auditTimeout bounds one audit record's write.
const auditTimeout = 10 * time.Second

func (a *App) audit(ctx context.Context, e earshot.AuditEntry) {
	if a.cfg.Audit == nil {
		return
	}
	e.Time = time.Now().UTC()
	e.Node = a.cfg.Node
	// A deadline of its own: a session's teardown may have spent its own
	// on a slow Asterisk (seen at saturation: session ends went
	// unrecorded), and the record of what happened must not go with it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	if err := a.cfg.Audit.Record(ctx, e); err != nil {
		a.log.Error("audit record", "kind", e.Kind, "session", e.Session, "error", err)
	}
}
