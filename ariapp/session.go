package ariapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/CyCoreSystems/ari/v6"

	"github.com/earshot/earshot"
)

// session is one call to the supervising number, from its StasisStart to
// its end. Its goroutine alone owns its snoops, bridge, mode and event
// queue; others reach it through its inbox (events) and command channel.
//
// Its life: admit (the caller-ID gate, the offer claimed, the one-time
// code; gate.go, code.go) → connect (connect.go) → loop over events and
// commands, switching modes (modes.go) → finish. A rejected call hears
// the notice (notice.go) and nothing of the call.
type session struct {
	app     *App
	id      string
	channel string    // the supervisor's leg, in Stasis
	caller  string    // caller number as Asterisk gave it, then E.164
	born    time.Time // when the pump registered it (reconciliation)
	log     *slog.Logger
	inbox   *mailbox
	cmds    chan command
	done    chan struct{}
	info    atomic.Pointer[earshot.Session] // set once connected
	leg     string                          // earshot.LegPhone or LegBrowser
	// media is a browser leg's socket to Asterisk (browser.go), set
	// before the session is connected and never changed after.
	media *mediaLeg

	// Owned by the goroutine.
	sup      earshot.User
	call     earshot.ServiceCall
	mode     earshot.Mode
	bridge   string
	snoop    string     // the spy snoop in the bridge
	barge    *bargePath // the supervisor's voice to the customer, in whisper and barge
	repair   bool       // the barge path was lost in barge: rebuild it
	seq      int
	answered bool
	live     map[string]bool // channels we created and have not seen end
	beeps    map[string]bool // the agent-tone snoops among them
	queue    []ari.Event     // events taken from the inbox, not yet handled
}

type command struct {
	mode   earshot.Mode
	hangup bool
	reason earshot.EndReason // why, for hangup
	reply  chan error
}

func (a *App) newSession(ch ari.ChannelData) *session {
	s := a.newSessionWith(newSessionID(), ch.ID, earshot.LegPhone)
	if ch.Caller != nil {
		s.caller = ch.Caller.Number
	}
	s.answered = ch.State == "Up"
	return s
}

func (a *App) newSessionWith(id, channel, leg string) *session {
	return &session{
		app:     a,
		id:      id,
		channel: channel,
		leg:     leg,
		born:    time.Now(),
		log:     a.log.With("session", id, "supervisor_leg", channel),
		inbox:   newMailbox(),
		cmds:    make(chan command),
		done:    make(chan struct{}),
		live:    make(map[string]bool),
		beeps:   make(map[string]bool),
	}
}

// command hands a request to the session goroutine and waits for it.
func (s *session) command(ctx context.Context, c command) error {
	c.reply = make(chan error, 1)
	select {
	case s.cmds <- c:
	case <-s.done:
		return earshot.ErrSessionNotFound
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-c.reply:
		return err
	case <-s.done:
		if c.hangup {
			return nil
		}
		return earshot.ErrSessionNotFound
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *session) run(ctx context.Context) {
	defer close(s.done)
	defer s.app.forget(s)
	// Cleanup must run even when ctx is what ended the session.
	cleanupCtx := context.WithoutCancel(ctx)

	offer, reason := s.admit(ctx)
	if reason != "" {
		s.reject(cleanupCtx, reason, offer)
		return
	}
	err := s.connect(ctx)
	if err != nil {
		// The supervisor may call again while the offer is valid.
		s.app.cfg.Offers.Release(cleanupCtx, offer.ID)
	} else {
		s.app.cfg.Offers.Consume(offer.ID)
		err = s.loop(ctx)
	}
	s.finish(cleanupCtx, err)
}

// loop serves the connected session until it ends. Events are handled in
// the order Asterisk sent them, including those a wait inside a mode
// switch set aside: a key pressed or a hang-up during a switch takes
// effect as soon as the switch completes.
func (s *session) loop(ctx context.Context) error {
	for {
		s.fill()
		for len(s.queue) > 0 {
			e := s.queue[0]
			s.queue = s.queue[1:]
			if err := s.onEvent(ctx, e); err != nil {
				return err
			}
			s.fill()
		}
		if err := s.repairBarge(ctx); err != nil {
			return err
		}
		select {
		case <-s.inbox.signal:
		case c := <-s.cmds:
			if c.hangup {
				c.reply <- nil
				return endedBy(c.reason)
			}
			err := s.switchMode(ctx, c.mode)
			if isEnd(err) {
				c.reply <- earshot.ErrSessionNotFound
				return err
			}
			c.reply <- err
			if err := s.prepareBarge(ctx); err != nil {
				return err
			}
		case <-ctx.Done():
			return endedBy(earshot.EndShutdown)
		}
	}
}

func (s *session) onEvent(ctx context.Context, e ari.Event) error {
	if r, ok := s.endOf(e); ok {
		return endedBy(r)
	}
	switch e := e.(type) {
	case *ari.StasisStart:
		if s.beeps[e.Channel.ID] {
			s.onBeepStart(ctx, e.Channel.ID)
		}
	case *ari.PlaybackFinished:
		s.onPlaybackFinished(ctx, e)
	case *ari.StasisEnd:
		s.forgetOwned(e.Channel.ID)
		s.onBargePathEnd(ctx, e.Channel.ID)
	case *ari.ChannelDestroyed:
		s.forgetOwned(e.Channel.ID)
		s.onBargePathEnd(ctx, e.Channel.ID)
	case *ari.ChannelDtmfReceived:
		// Only the supervisor's own leg steers. The session follows the
		// agent leg and its snoops too (for their ends); their keys are
		// the agent's or the customer's, never a command.
		if e.Channel.ID != s.channel {
			return nil
		}
		if m, ok := s.dtmfMode(e.Digit); ok {
			err := s.switchMode(ctx, m)
			if isEnd(err) {
				return err
			}
			if err != nil {
				s.log.Warn("mode switch by dtmf failed", "digit", e.Digit, "error", err)
			}
			return s.prepareBarge(ctx)
		}
	case *peerSeen:
		return s.onPeer(ctx, e.peer, e.seen)
	}
	return nil
}

// endError ends a session for a reason.
type endError struct{ reason earshot.EndReason }

func (e *endError) Error() string { return "session ended: " + string(e.reason) }

func endedBy(r earshot.EndReason) error { return &endError{r} }

// isEnd reports whether err ends the session (not a mere failed step).
func isEnd(err error) bool {
	var end *endError
	return errors.As(err, &end)
}

// reasonOf says why err ended a session: an end event or command, or a
// failure.
func reasonOf(err error) earshot.EndReason {
	var end *endError
	if errors.As(err, &end) {
		return end.reason
	}
	return earshot.EndFailed
}

// finish tears the session down on every path: snoops hung up, bridge
// deleted, and the supervisor's leg hung up at once whatever ended the
// session (a 404 — the leg already gone — counts as done).
func (s *session) finish(ctx context.Context, why error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	a := s.app
	reason := reasonOf(why)
	for id := range s.live {
		s.hangupOwned(ctx, id)
	}
	bridges := []string{s.bridge}
	if s.barge != nil {
		bridges = append(bridges, s.barge.bridge)
	}
	for _, b := range bridges {
		if b == "" {
			continue
		}
		if err := a.ast.DeleteBridge(ctx, b); err != nil && !IsNotFound(err) {
			s.log.Error("delete bridge", "bridge", b, "error", err)
		}
	}
	// Taken away by someone else: the supervisor hears why (the notice)
	// rather than a silent drop, and no call audio meanwhile (the snoops
	// are gone).
	if reason == earshot.EndFeatureOff || reason == earshot.EndAccessRevoked {
		s.notice(ctx)
	}
	if err := a.ast.Hangup(ctx, s.channel); err != nil && !IsNotFound(err) {
		s.log.Error("hang up supervisor leg", "error", err)
	}
	if info := s.info.Load(); info != nil {
		s.log.Info("session ended", "reason", reason, "error", errOrNil(why))
		a.audit(ctx, s.auditEntry(earshot.AuditEnd, string(reason)))
		a.sessFeed.Publish(earshot.SessionEvent{Session: *info, Kind: earshot.SessionEnded, Reason: reason})
		return
	}
	reject := earshot.RejectInternal
	if reason == earshot.EndCallEnded {
		reject = earshot.RejectCallEnded
	}
	s.log.Warn("supervising call failed before connecting", "reason", reject, "error", why)
	a.stats.reject(reject)
	a.audit(ctx, earshot.AuditEntry{
		Kind: earshot.AuditReject, Org: s.sup.Org, Supervisor: s.sup.ID, Agent: s.call.Agent,
		CallID: s.call.ID, Caller: s.caller, Reason: reject,
	})
}

// errOrNil logs only errors that are failures, not ordinary ends.
func errOrNil(err error) error {
	if isEnd(err) {
		return nil
	}
	return err
}

func (s *session) auditEntry(kind, reason string) earshot.AuditEntry {
	return earshot.AuditEntry{
		Kind: kind, Org: s.sup.Org, Session: s.id, Supervisor: s.sup.ID, Agent: s.call.Agent,
		Pool: s.call.Pool, CallID: s.call.ID, Caller: s.caller, Mode: s.mode, Reason: reason, Leg: s.leg,
	}
}

func (s *session) next() int { s.seq++; return s.seq }

func (s *session) answer(ctx context.Context) error {
	if s.answered {
		return nil
	}
	if err := s.app.ast.Answer(ctx, s.channel); err != nil {
		return fmt.Errorf("answer supervisor leg: %w", err)
	}
	s.answered = true
	return nil
}
