// Package offers binds supervisors to agents' live service calls for a
// limited time (R7, R8). A call from the supervisor's number to the
// supervising number within that time connects to exactly that call; no
// offer, no audio. Offers are single-use: a call claims the offer before
// it connects and consumes it once connected, so a leaked dial link (or
// several calls placed at the same moment) cannot connect twice.
package offers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"sync"
	"time"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/internal/feed"
)

// Errors Resolve returns; each maps to an audit reject reason.
var (
	ErrNoOffer = earshot.Errorf(earshot.ENOTFOUND, "no listen offer")
	ErrExpired = earshot.Errorf(earshot.ECONFLICT, "the listen offer expired")
	ErrBadCode = earshot.Errorf(earshot.EFORBIDDEN, "wrong one-time code")
	ErrClaimed = earshot.Errorf(earshot.ECONFLICT, "the listen offer is in use by another call")
)

// Config configures a Service.
type Config struct {
	Directory earshot.Directory
	Calls     earshot.Calls
	// TTL is how long an offer stays valid; default 2 minutes.
	TTL time.Duration
	// Codes adds a one-time numeric code to each offer (against caller-ID
	// spoofing); CodeDigits long, default 4.
	Codes      bool
	CodeDigits int
	// MaxCodeAttempts burns an offer after this many wrong codes; default 3.
	MaxCodeAttempts int
	// SupervisorsOf lists the supervisors who supervise an agent (R8);
	// nil means nobody does.
	SupervisorsOf func(ctx context.Context, agent string) ([]string, error)
	// Busy reports whether a supervisor already supervises a call, so no
	// offer is made for it; nil means never.
	Busy func(supervisor string, call earshot.ServiceCall) bool
	// NumberOf returns the supervising number of a node: an offer names
	// the number of the node holding the call (each node has its own).
	// nil leaves offers without one (the API's configured number applies).
	NumberOf func(node string) string
	// Reachable reports whether a node's Asterisk answers now; an offer
	// for a call on a node that does not is refused (ErrUnavailable),
	// since its number could not connect. nil means always.
	Reachable func(node string) bool
	// Store keeps offers across a restart, so a supervisor who pressed
	// Listen just before one can still dial in; nil keeps them in memory.
	Store Store
	Log   *slog.Logger
	Now   func() time.Time
}

// Store persists offers (store.DB implements it).
type Store interface {
	PutOffer(ctx context.Context, o earshot.Offer) error
	DeleteOffer(ctx context.Context, id string) error
	Offers(ctx context.Context) ([]earshot.Offer, error)
}

type entry struct {
	offer    earshot.Offer
	attempts int
	claimed  bool // a supervising call is connecting with it
}

// Service makes, finds and withdraws offers. Safe for concurrent use.
type Service struct {
	cfg Config

	mu     sync.Mutex
	byID   map[string]*entry
	latest map[string]string // supervisor → id of their newest offer
	made   map[string]int64  // offers made, by source
	gone   int64             // offers withdrawn

	feed *feed.Feed[earshot.OfferEvent]
}

// Stats counts offers since start.
type Stats struct {
	Live      int              // valid now
	Made      map[string]int64 // by source (ad_hoc, supervised)
	Withdrawn int64            // the call ended first
}

// Stats returns the counters.
func (s *Service) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	live := 0
	for _, e := range s.byID {
		if now.Before(e.offer.ExpiresAt) {
			live++
		}
	}
	return Stats{Live: live, Made: maps.Clone(s.made), Withdrawn: s.gone}
}

var _ earshot.Offers = (*Service)(nil)

// New returns a Service; call Run to follow call events.
func New(cfg Config) *Service {
	if cfg.TTL == 0 {
		cfg.TTL = 2 * time.Minute
	}
	if cfg.CodeDigits == 0 {
		cfg.CodeDigits = 4
	}
	if cfg.MaxCodeAttempts == 0 {
		cfg.MaxCodeAttempts = 3
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, byID: map[string]*entry{}, latest: map[string]string{}, made: map[string]int64{}, feed: feed.New[earshot.OfferEvent](256)}
}

// Load reads the offers a previous run kept and still valid; call it
// before serving. An offer whose call ended while Earshot was down is
// refused at dial-in (call_ended) and expires as usual.
func (s *Service) Load(ctx context.Context) error {
	if s.cfg.Store == nil {
		return nil
	}
	offers, err := s.cfg.Store.Offers(ctx)
	if err != nil {
		return fmt.Errorf("load offers: %w", err)
	}
	now := s.cfg.Now()
	var expired []string
	defer func() {
		for _, id := range expired {
			s.forget(ctx, id)
		}
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range offers {
		if !now.Before(o.ExpiresAt) {
			expired = append(expired, o.ID)
			continue
		}
		s.byID[o.ID] = &entry{offer: o}
		if cur := s.byID[s.latest[o.Supervisor]]; cur == nil || cur.offer.CreatedAt.Before(o.CreatedAt) {
			s.latest[o.Supervisor] = o.ID
		}
	}
	return nil
}

// keep and forget write through to the store; a failure is logged, not
// returned: the offer still works until a restart.
func (s *Service) keep(ctx context.Context, o earshot.Offer) {
	if s.cfg.Store == nil {
		return
	}
	if err := s.cfg.Store.PutOffer(context.WithoutCancel(ctx), o); err != nil {
		s.cfg.Log.Error("store offer", "offer", o.ID, "error", err)
	}
}

func (s *Service) forget(ctx context.Context, id string) {
	if s.cfg.Store == nil {
		return
	}
	if err := s.cfg.Store.DeleteOffer(context.WithoutCancel(ctx), id); err != nil {
		s.cfg.Log.Error("delete stored offer", "offer", id, "error", err)
	}
}

// Offer implements earshot.Offers.
func (s *Service) Offer(ctx context.Context, supervisor, agent, source string) (earshot.Offer, error) {
	dir := s.cfg.Directory
	sup, err := dir.User(ctx, supervisor)
	if err != nil {
		return earshot.Offer{}, fmt.Errorf("supervisor %s: %w", supervisor, err)
	}
	ag, err := dir.User(ctx, agent)
	if err != nil {
		return earshot.Offer{}, fmt.Errorf("agent %s: %w", agent, err)
	}
	org, err := dir.Org(ctx, sup.Org)
	if err != nil {
		return earshot.Offer{}, fmt.Errorf("org %s: %w", sup.Org, err)
	}
	// Permission first: whether the agent is on a call is not the
	// business of a supervisor who may not supervise them.
	if err := s.inScope(ctx, org, sup, ag); err != nil {
		return earshot.Offer{}, err
	}
	call, err := s.cfg.Calls.CallOf(agent)
	if err != nil {
		return earshot.Offer{}, err
	}
	pool, err := dir.Pool(ctx, call.Pool)
	if err != nil {
		return earshot.Offer{}, fmt.Errorf("pool %s: %w", call.Pool, err)
	}
	switch err := earshot.MaySupervise(org, sup, ag, pool); {
	case errors.Is(err, earshot.ErrNotPermitted):
		// A call in a pool outside the supervisor's scope is hidden, as
		// in the user views and the event stream.
		return earshot.Offer{}, earshot.ErrNotOnCall
	case err != nil:
		return earshot.Offer{}, err
	}
	if sup.PhoneNumber == "" {
		return earshot.Offer{}, earshot.ErrNoPhoneNumber
	}
	if s.cfg.Reachable != nil && !s.cfg.Reachable(call.Node) {
		return earshot.Offer{}, earshot.ErrUnavailable
	}
	now := s.cfg.Now()
	s.mu.Lock()
	// A second Listen for the same call refreshes the offer rather than
	// making another, so the supervisor's notifications do not pile up.
	// The same call announced again (R8 after a restart) is no news.
	if id, ok := s.latest[supervisor]; ok {
		if e := s.byID[id]; e != nil && e.offer.CallID == call.ID && e.offer.Node == call.Node && now.Before(e.offer.ExpiresAt) {
			if source == earshot.OfferSupervised {
				o := e.offer
				s.mu.Unlock()
				return o, nil
			}
			e.offer.ExpiresAt = now.Add(s.cfg.TTL)
			o, claimed := e.offer, e.claimed
			s.mu.Unlock()
			if !claimed { // a claimed offer stays out of the store (Claim)
				s.keep(ctx, o)
			}
			s.feed.Publish(earshot.OfferEvent{Offer: o, Source: source})
			return o, nil
		}
	}
	o := earshot.Offer{
		ID: newID(), Org: org.ID, Supervisor: supervisor, Agent: agent, Pool: pool.ID, CallID: call.ID,
		Node: call.Node, CreatedAt: now, ExpiresAt: now.Add(s.cfg.TTL),
	}
	if s.cfg.NumberOf != nil {
		o.SupervisingNumber = s.cfg.NumberOf(call.Node)
	}
	if s.cfg.Codes {
		o.Code = newCode(s.cfg.CodeDigits)
	}
	s.byID[o.ID] = &entry{offer: o}
	s.latest[supervisor] = o.ID
	s.made[source]++
	s.mu.Unlock()
	s.keep(ctx, o)
	s.cfg.Log.Info("listen offer made", "offer", o.ID, "supervisor", supervisor, "agent", agent, "call", call.ID, "node", call.Node, "source", source)
	s.feed.Publish(earshot.OfferEvent{Offer: o, Source: source})
	return o, nil
}

// inScope reads the supervisor's scope pools and asks
// earshot.MaySuperviseAgent, which decides without looking at any call.
func (s *Service) inScope(ctx context.Context, org earshot.Organization, sup, agent earshot.User) error {
	scope := make([]earshot.Pool, 0, len(sup.Pools))
	for _, id := range sup.Pools {
		if p, err := s.cfg.Directory.Pool(ctx, id); err == nil {
			scope = append(scope, p)
		}
	}
	return earshot.MaySuperviseAgent(org, sup, agent, scope)
}

// Resolve returns the supervisor's newest offer if it is still valid:
// ErrNoOffer, or ErrExpired. It does not claim it.
func (s *Service) Resolve(supervisor string) (earshot.Offer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resolveLocked(supervisor)
}

func (s *Service) resolveLocked(supervisor string) (earshot.Offer, error) {
	e := s.byID[s.latest[supervisor]]
	switch {
	case e == nil:
		return earshot.Offer{}, ErrNoOffer
	case !s.cfg.Now().Before(e.offer.ExpiresAt):
		return e.offer, ErrExpired
	}
	return e.offer, nil
}

// Claim takes the supervisor's newest valid offer for one supervising
// call: until Release or Consume, every other call finds no offer
// (ErrClaimed), so concurrent calls on one offer connect at most once.
// The offer leaves the store at once: should Earshot die while the call
// connects, the offer is spent rather than usable a second time.
func (s *Service) Claim(ctx context.Context, supervisor string) (earshot.Offer, error) {
	s.mu.Lock()
	o, err := s.resolveLocked(supervisor)
	if err == nil {
		e := s.byID[o.ID]
		if e.claimed {
			err = ErrClaimed
		}
		e.claimed = true
	}
	s.mu.Unlock()
	if err != nil {
		return o, err
	}
	s.forget(ctx, o.ID)
	return o, nil
}

// Release gives back a claimed offer whose call did not connect (a wrong
// code, a failed connect), so the supervisor can call again while it is
// valid.
func (s *Service) Release(ctx context.Context, offerID string) {
	s.mu.Lock()
	e := s.byID[offerID]
	if e == nil || !e.claimed {
		s.mu.Unlock()
		return
	}
	e.claimed = false
	o := e.offer
	s.mu.Unlock()
	s.keep(ctx, o)
}

// CheckCode verifies a one-time code for an offer. After MaxCodeAttempts
// wrong codes the offer is burned, so codes cannot be guessed by redialling.
func (s *Service) CheckCode(offerID, code string) error {
	s.mu.Lock()
	e := s.byID[offerID]
	if e == nil {
		s.mu.Unlock()
		return ErrNoOffer
	}
	if e.offer.Code == code {
		s.mu.Unlock()
		return nil
	}
	e.attempts++
	burnt := e.attempts >= s.cfg.MaxCodeAttempts
	if burnt {
		s.removeLocked(offerID)
	}
	s.mu.Unlock()
	if burnt {
		s.forget(context.Background(), offerID)
	}
	return ErrBadCode
}

// Consume removes an offer once its claiming call has connected.
func (s *Service) Consume(offerID string) {
	s.mu.Lock()
	s.removeLocked(offerID)
	s.mu.Unlock()
	s.forget(context.Background(), offerID)
}

// removeLocked drops an offer from memory; the caller forgets it in the
// store after unlocking, so no disk write happens under the lock.
func (s *Service) removeLocked(id string) {
	e := s.byID[id]
	if e == nil {
		return
	}
	delete(s.byID, id)
	if s.latest[e.offer.Supervisor] == id {
		delete(s.latest, e.offer.Supervisor)
	}
}

// Live lists the offers still valid, newest last.
func (s *Service) Live(supervisor string) []earshot.Offer {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	var out []earshot.Offer
	for _, e := range s.byID {
		if (supervisor == "" || e.offer.Supervisor == supervisor) && now.Before(e.offer.ExpiresAt) {
			out = append(out, e.offer)
		}
	}
	return out
}

// Subscribe implements earshot.Offers.
func (s *Service) Subscribe(ctx context.Context) <-chan earshot.OfferEvent {
	return s.feed.Subscribe(ctx)
}

// Run follows call events until ctx ends: a call that ends withdraws its
// offers; a supervised agent's new call makes offers (R8). It also drops
// offers long expired.
func (s *Service) Run(ctx context.Context) {
	events := s.cfg.Calls.Subscribe(ctx)
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if ev.Ended {
				s.withdrawCall(ev.Call)
			} else {
				s.offerSupervisors(ctx, ev.Call)
			}
		case <-tick.C:
			s.sweep()
		}
	}
}

func (s *Service) withdrawCall(call earshot.ServiceCall) {
	s.mu.Lock()
	var gone []earshot.Offer
	for id, e := range s.byID {
		if e.offer.CallID == call.ID && e.offer.Node == call.Node {
			gone = append(gone, e.offer)
			s.removeLocked(id)
		}
	}
	s.gone += int64(len(gone))
	s.mu.Unlock()
	for _, o := range gone {
		s.forget(context.Background(), o.ID)
		s.feed.Publish(earshot.OfferEvent{Offer: o, Withdrawn: true})
	}
}

func (s *Service) offerSupervisors(ctx context.Context, call earshot.ServiceCall) {
	if s.cfg.SupervisorsOf == nil {
		return
	}
	sups, err := s.cfg.SupervisorsOf(ctx, call.Agent)
	if err != nil {
		s.cfg.Log.Error("list supervisors of agent", "agent", call.Agent, "error", err)
		return
	}
	for _, sup := range sups {
		if s.cfg.Busy != nil && s.cfg.Busy(sup, call) {
			continue
		}
		if _, err := s.Offer(ctx, sup, call.Agent, earshot.OfferSupervised); err != nil {
			s.cfg.Log.Info("no offer for supervised agent", "supervisor", sup, "agent", call.Agent, "reason", err)
		}
	}
}

// sweep forgets offers expired for over ten minutes; until then Resolve
// can still tell "expired" from "none".
func (s *Service) sweep() {
	cutoff := s.cfg.Now().Add(-10 * time.Minute)
	s.mu.Lock()
	var gone []string
	for id, e := range s.byID {
		if e.offer.ExpiresAt.Before(cutoff) {
			s.removeLocked(id)
			gone = append(gone, id)
		}
	}
	s.mu.Unlock()
	for _, id := range gone {
		s.forget(context.Background(), id)
	}
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

func newCode(digits int) string {
	max := big.NewInt(1)
	for range digits {
		max.Mul(max, big.NewInt(10))
	}
	n, _ := rand.Int(rand.Reader, max)
	return fmt.Sprintf("%0*d", digits, n)
}
