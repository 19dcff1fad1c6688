package ariapp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/earshot/earshot"
)

// connect builds the session in listen mode (R5): a mixing bridge with the
// supervisor's leg and a snoop on the agent leg, which stay together, as
// they are, until the session ends. The requests are issued
// back to back and the snoop joins once it is in Stasis.
func (s *session) connect(ctx context.Context) error {
	a := s.app
	s.bridge = a.objectID(s.id, "bridge", 0)
	snoop := a.objectID(s.id, "snoop", s.next())
	a.route(s.call.ID, s) // the agent leg's end ends the session
	if err := s.createSnoop(ctx, snoop, "both", "out"); err != nil {
		if IsNotFound(err) {
			return endedBy(earshot.EndCallEnded)
		}
		return fmt.Errorf("snoop agent leg: %w", err)
	}
	if err := a.ast.CreateBridge(ctx, s.bridge, "earshot session "+s.id); err != nil {
		return fmt.Errorf("create bridge: %w", err)
	}
	if err := s.answer(ctx); err != nil {
		return err
	}
	if err := s.awaitStasis(ctx, snoop); err != nil {
		if _, gone := a.tracker.Call(s.call.ID); gone != nil {
			return endedBy(earshot.EndCallEnded)
		}
		return err
	}
	if err := s.setMuted(ctx, snoop, true); err != nil {
		return fmt.Errorf("mute snoop: %w", err)
	}
	// The supervisor's keys switch modes; they must reach neither the
	// agent nor the customer (and DTMF crossing into a snoop while it was
	// swapped, when barge still swapped snoops, deadlocked Asterisk 22).
	if err := a.ast.AddAbsorbingDTMF(ctx, s.bridge, s.channel); err != nil {
		return fmt.Errorf("add supervisor to bridge: %w", err)
	}
	if err := a.ast.AddChannels(ctx, s.bridge, snoop); err != nil {
		return fmt.Errorf("add snoop to bridge: %w", err)
	}
	s.snoop = snoop
	s.mode = earshot.ModeListen
	info := earshot.Session{
		ID: s.id, Org: s.sup.Org, Supervisor: s.sup.ID, Agent: s.call.Agent, Pool: s.call.Pool,
		CallID: s.call.ID, Node: a.cfg.Node, Mode: s.mode, StartedAt: time.Now().UTC(), Leg: s.leg,
	}
	s.info.Store(&info)
	s.log = s.log.With("agent_leg", s.call.ID)
	s.log.Info("supervisor connected", "agent", s.call.Agent, "mode", s.mode, "leg", s.leg)
	a.stats.sessions.Add(1)
	a.audit(ctx, s.auditEntry(earshot.AuditConnect, ""))
	a.sessFeed.Publish(earshot.SessionEvent{Session: info, Kind: earshot.SessionStarted})
	if a.cfg.Tone != ToneOff {
		s.tone(ctx)
	}
	return nil
}

// createSnoop creates a spy snoop on the agent leg with an id of ours. The
// snoop counts as the session's before it is requested, and the request
// is not cut short by shutdown (the client's timeout bounds it): a request
// abandoned half-way may still create the channel in Asterisk, after the
// session's cleanup looked for it. Only an answer from Asterisk proves
// that nothing was created.
func (s *session) createSnoop(ctx context.Context, id, spy, whisper string) error {
	return s.createSnoopOn(ctx, s.call.ID, id, spy, whisper)
}

// createSnoopOn is createSnoop on another channel than the agent leg.
func (s *session) createSnoopOn(ctx context.Context, target, id, spy, whisper string) error {
	a := s.app
	a.route(id, s)
	s.live[id] = true
	kind := "snoop"
	if s.beeps[id] {
		kind = "beep"
	}
	err := a.ast.Snoop(context.WithoutCancel(ctx), target, id, spy, whisper, a.cfg.App, kind+","+s.id)
	var api *APIError
	if errors.As(err, &api) {
		s.forgetOwned(id)
	}
	return err
}

// hangupOwned hangs up a channel of ours; a 404 means it is gone already.
func (s *session) hangupOwned(ctx context.Context, id string) {
	if id == "" || !s.live[id] {
		return
	}
	if err := s.app.ast.Hangup(ctx, id); err != nil && !IsNotFound(err) {
		// Let it go anyway and try again in the background: kept, it
		// would be neither in use nor removed while the session lasts (a
		// barge feed given up might still whisper to the customer); let
		// go, reconciliation removes it if this try fails too.
		s.log.Error("hang up snoop; trying again", "channel", id, "error", err)
		s.app.hangupOrphan(id)
	}
	s.forgetOwned(id)
}

func (s *session) forgetOwned(id string) {
	if s.live[id] {
		delete(s.live, id)
		delete(s.beeps, id)
		s.app.unroute(id, s)
	}
}
