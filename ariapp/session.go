package ariapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/CyCoreSystems/ari/v6"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/offers"
)

// session is one call to the supervising number, from its StasisStart to
// its end. Its goroutine alone owns its snoops, bridge and mode; others
// reach it through its inbox (events) and command channel.
type session struct {
	app     *App
	id      string
	channel string // the supervisor's leg, in Stasis
	caller  string // caller number as Asterisk gave it
	log     *slog.Logger
	inbox   *mailbox
	cmds    chan command
	done    chan struct{}
	info    atomic.Pointer[earshot.Session] // set once connected

	// Owned by the goroutine.
	sup      earshot.User
	call     earshot.ServiceCall
	mode     earshot.Mode
	bridge   string
	snoop    string
	seq      int
	answered bool
	live     map[string]bool // channels we created and have not seen end
	pending  []ari.Event     // events set aside while awaiting another
	ended    bool
}

type command struct {
	mode   earshot.Mode
	hangup bool
	reply  chan error
}

// errLegGone ends a session: the supervisor or the call went away.
var (
	errSupervisorGone = errors.New("supervisor hung up")
	errCallGone       = errors.New("the service call ended")
	errShutdown       = errors.New("earshot is shutting down")
)

func (a *App) newSession(ch ari.ChannelData) *session {
	id := newSessionID()
	caller := ""
	if ch.Caller != nil {
		caller = ch.Caller.Number
	}
	return &session{
		app:      a,
		id:       id,
		channel:  ch.ID,
		caller:   caller,
		answered: ch.State == "Up",
		log:      a.log.With("session", id, "supervisor_leg", ch.ID),
		inbox:    newMailbox(),
		cmds:     make(chan command),
		done:     make(chan struct{}),
		live:     make(map[string]bool),
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

	offer, reason := s.authorize(ctx)
	if reason != "" {
		s.reject(cleanupCtx, reason, offer)
		return
	}
	if offer.Code != "" {
		if reason := s.checkCode(ctx, offer); reason != "" {
			s.reject(cleanupCtx, reason, offer)
			return
		}
	}
	err := s.connect(ctx)
	if err == nil {
		// Single use; consumed once connected, so a failed connect can be
		// retried, and the store write is not on the way to audio.
		s.app.cfg.Offers.Consume(offer.ID)
		err = s.loop(ctx)
	}
	s.finish(cleanupCtx, err)
}

// authorize finds who calls and what they may hear (R9). It returns a
// reject reason, or "" with the offer to connect.
func (s *session) authorize(ctx context.Context) (earshot.Offer, string) {
	a := s.app
	num, err := a.cfg.Normalize(s.caller, a.cfg.DefaultRegion)
	if err != nil {
		s.log.Info("supervising call from an invalid number", "caller", s.caller, "error", err)
		return earshot.Offer{}, earshot.RejectUnknownNumber
	}
	s.caller = num
	sup, err := a.cfg.Directory.UserByPhone(ctx, num)
	if err != nil {
		return earshot.Offer{}, earshot.RejectUnknownNumber
	}
	s.sup = sup
	s.log = s.log.With("supervisor", sup.ID)
	org, err := a.cfg.Directory.Org(ctx, sup.Org)
	if err != nil || !org.Has(earshot.FeatureSupervising) {
		return earshot.Offer{}, earshot.RejectFeatureOff
	}
	offer, err := a.cfg.Offers.Resolve(sup.ID)
	switch {
	case errors.Is(err, offers.ErrExpired):
		return offer, earshot.RejectOfferExpired
	case err != nil:
		return offer, earshot.RejectNoOffer
	}
	call, err := a.tracker.Call(offer.CallID)
	if err != nil {
		return offer, earshot.RejectCallEnded
	}
	agent, err := a.cfg.Directory.User(ctx, call.Agent)
	if err != nil {
		return offer, earshot.RejectNotPermitted
	}
	pool, err := a.cfg.Directory.Pool(ctx, call.Pool)
	if err != nil {
		return offer, earshot.RejectNotPermitted
	}
	switch err := earshot.MaySupervise(org, sup, agent, pool); {
	case errors.Is(err, earshot.ErrFeatureOff):
		return offer, earshot.RejectFeatureOff
	case err != nil:
		return offer, earshot.RejectNotPermitted
	}
	s.call = call
	return offer, ""
}

// checkCode answers and collects the offer's one-time code by DTMF,
// ended by '#' or by its length, within CodeTimeout.
func (s *session) checkCode(ctx context.Context, offer earshot.Offer) string {
	if err := s.answer(ctx); err != nil {
		return earshot.RejectInternal
	}
	var got strings.Builder
	deadline := time.Now().Add(s.app.cfg.CodeTimeout)
	for got.Len() < len(offer.Code) {
		e, err := s.await(ctx, time.Until(deadline), func(e ari.Event) bool {
			d, ok := e.(*ari.ChannelDtmfReceived)
			return ok && d.Channel.ID == s.channel
		})
		if err != nil {
			break
		}
		d := e.(*ari.ChannelDtmfReceived).Digit
		if d == "#" {
			break
		}
		got.WriteString(d)
	}
	if err := s.app.cfg.Offers.CheckCode(offer.ID, got.String()); err != nil {
		return earshot.RejectBadCode
	}
	return ""
}

func (s *session) answer(ctx context.Context) error {
	if s.answered {
		return nil
	}
	if err := s.app.client.Answer(ctx, s.channel); err != nil {
		return fmt.Errorf("answer supervisor leg: %w", err)
	}
	s.answered = true
	return nil
}

// reject tells the caller, with a short notice and no call audio, that
// they cannot be connected, and hangs up.
func (s *session) reject(ctx context.Context, reason string, offer earshot.Offer) {
	s.log.Info("supervising call rejected", "reason", reason, "caller", s.caller)
	s.app.stats.reject(reason)
	s.app.audit(ctx, earshot.AuditEntry{
		Kind: earshot.AuditReject, Org: s.sup.Org, Supervisor: s.sup.ID, Agent: offer.Agent,
		CallID: offer.CallID, Caller: s.caller, Reason: reason,
	})
	if err := s.answer(ctx); err == nil {
		s.notice(ctx)
	}
	if err := s.app.client.Hangup(ctx, s.channel); err != nil {
		s.log.Error("hang up rejected supervisor leg", "error", err)
	}
}

func (s *session) next() int { s.seq++; return s.seq }

// Notice is what a rejected supervising call hears before Earshot hangs
// up: one cycle of the Special Information Tone (950, 1400, 1800 Hz), the
// network's "this call cannot be completed" signal. It is tonal and
// language-free, and none of its frequencies is a party's test tone.
var Notice = []string{"tone:950", "tone:1400", "tone:1800"}

// NoticeDuration is how long a rejected caller hears the notice.
const NoticeDuration = 1100 * time.Millisecond

// notice plays the SIT for NoticeDuration, ending early if the caller
// hangs up. A tone playback never ends by itself, so each tone is stopped
// by starting the next.
func (s *session) notice(ctx context.Context) {
	if err := s.app.playNotice(ctx, s.channel, func(d time.Duration) bool {
		_, err := s.await(ctx, d, func(ari.Event) bool { return false })
		return !errors.Is(err, errSupervisorGone) && ctx.Err() == nil
	}); err != nil {
		s.log.Warn("play notice", "error", err)
	}
}

// playNotice plays each SIT tone for a third of NoticeDuration on a
// channel; wait returns false to cut it short.
func (a *App) playNotice(ctx context.Context, channel string, wait func(time.Duration) bool) error {
	id := newSessionID()
	for i, tone := range Notice {
		pb := a.objectID(id, "notice", i+1)
		if err := a.client.Play(ctx, channel, pb, tone); err != nil {
			return err
		}
		if !wait(NoticeDuration / time.Duration(len(Notice))) {
			return nil
		}
		if err := a.client.StopPlayback(ctx, pb); err != nil {
			return err
		}
	}
	return nil
}

// whisper is the snoop whisper direction for each mode (DESIGN §2):
// "out" is the audio sent to the agent; "in" would reach the customer.
// Listening uses a whisper snoop too, muted: listen and whisper then
// differ by a mute alone, and switching between them leaves the bridge
// untouched (no swap, no gap in what the supervisor hears).
func whisper(m earshot.Mode) string {
	if m == earshot.ModeBarge {
		return "both"
	}
	return "out"
}

// muted reports whether the session's snoop must whisper nothing in mode m.
func muted(m earshot.Mode) bool { return m == earshot.ModeListen }

// connect builds the session in listen mode (R5): a mixing bridge with the
// supervisor's leg and a snoop on the agent leg. The requests are issued
// back to back and the snoop joins once it is in Stasis.
func (s *session) connect(ctx context.Context) error {
	a := s.app
	s.bridge = a.objectID(s.id, "bridge", 0)
	snoop := a.objectID(s.id, "snoop", s.next())
	a.route(s.call.ID, s) // the agent leg's end ends the session
	if err := s.createSnoop(ctx, snoop, "both", whisper(earshot.ModeListen), "snoop"); err != nil {
		if IsNotFound(err) {
			return errCallGone
		}
		return fmt.Errorf("snoop agent leg: %w", err)
	}
	if err := a.client.CreateBridge(ctx, s.bridge, "earshot session "+s.id); err != nil {
		return fmt.Errorf("create bridge: %w", err)
	}
	if err := s.answer(ctx); err != nil {
		return err
	}
	if err := s.awaitStasis(ctx, snoop); err != nil {
		return err
	}
	if err := a.client.Mute(ctx, snoop, "out"); err != nil {
		return fmt.Errorf("mute snoop: %w", err)
	}
	// The supervisor's keys switch modes; they must reach neither the
	// agent nor the customer (and DTMF crossing into a snoop while it is
	// swapped has deadlocked Asterisk 22 in tests).
	if err := a.client.AddAbsorbingDTMF(ctx, s.bridge, s.channel); err != nil {
		return fmt.Errorf("add supervisor to bridge: %w", err)
	}
	if err := a.client.AddChannels(ctx, s.bridge, snoop); err != nil {
		return fmt.Errorf("add snoop to bridge: %w", err)
	}
	s.snoop = snoop
	s.mode = earshot.ModeListen
	info := earshot.Session{
		ID: s.id, Org: s.sup.Org, Supervisor: s.sup.ID, Agent: s.call.Agent, Pool: s.call.Pool,
		CallID: s.call.ID, Mode: s.mode, StartedAt: time.Now().UTC(),
	}
	s.info.Store(&info)
	s.log = s.log.With("agent_leg", s.call.ID)
	s.log.Info("supervisor connected", "agent", s.call.Agent, "mode", s.mode)
	a.stats.sessions.Add(1)
	a.audit(ctx, s.auditEntry(earshot.AuditConnect, ""))
	a.sessFeed.Publish(earshot.SessionEvent{Session: info, Kind: earshot.SessionStarted})
	if a.cfg.Tone != ToneOff {
		s.tone(ctx)
	}
	return nil
}

// awaitStasis waits for a snoop to enter Stasis: adding it to a bridge
// before that fails with "Channel not in Stasis".
func (s *session) awaitStasis(ctx context.Context, id string) error {
	_, err := s.await(ctx, 5*time.Second, func(e ari.Event) bool {
		st, ok := e.(*ari.StasisStart)
		return ok && st.Channel.ID == id
	})
	return err
}

// tone plays the short "supervisor joined" beep to the agent only (R10):
// a whisper-only snoop ("out": towards the agent) plays sound:beep and is
// hung up when the playback finishes.
func (s *session) tone(ctx context.Context) {
	a := s.app
	beep := a.objectID(s.id, "beep", s.next())
	if err := s.createSnoop(ctx, beep, "none", "out", "beep"); err != nil {
		s.log.Warn("agent tone snoop", "error", err)
	}
}

// createSnoop creates a snoop on the agent leg with an id of ours. The
// snoop counts as the session's before it is requested, and the request
// is not cut short by shutdown (the client's timeout bounds it): a request
// abandoned half-way may still create the channel in Asterisk, after the
// session's cleanup looked for it. Only an answer from Asterisk proves
// that nothing was created.
func (s *session) createSnoop(ctx context.Context, id, spy, whisper, kind string) error {
	a := s.app
	a.route(id, s)
	s.live[id] = true
	err := a.client.Snoop(context.WithoutCancel(ctx), s.call.ID, id, spy, whisper, a.cfg.App, kind+","+s.id)
	var api *APIError
	if errors.As(err, &api) {
		s.forgetOwned(id)
	}
	return err
}

// onBeepStart plays the tone once the beep snoop is in Stasis.
func (s *session) onBeepStart(ctx context.Context, beep string) {
	pb := s.app.objectID(s.id, "pb", s.next())
	s.app.route(pb, s)
	if err := s.app.client.Play(ctx, beep, pb, "sound:beep"); err != nil {
		s.log.Warn("agent tone playback", "error", err)
		s.hangupOwned(ctx, beep)
	}
}

// await waits for an event matching match. Events that do not match are
// set aside for the main loop. The supervisor hanging up or the call
// ending interrupts the wait.
func (s *session) await(ctx context.Context, d time.Duration, match func(ari.Event) bool) (ari.Event, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		for _, e := range s.inbox.take() {
			switch {
			case match(e):
				s.pending = append(s.pending, s.inbox.take()...)
				return e, nil
			case s.isSupervisorEnd(e):
				return nil, errSupervisorGone
			case s.isCallEnd(e):
				return nil, errCallGone
			}
			s.pending = append(s.pending, e)
		}
		select {
		case <-s.inbox.signal:
		case <-timer.C:
			return nil, fmt.Errorf("timed out after %s", d)
		case <-ctx.Done():
			return nil, errShutdown
		}
	}
}

func (s *session) isSupervisorEnd(e ari.Event) bool {
	switch e := e.(type) {
	case *ari.StasisEnd:
		return e.Channel.ID == s.channel
	case *ari.ChannelDestroyed:
		return e.Channel.ID == s.channel
	}
	return false
}

func (s *session) isCallEnd(e ari.Event) bool {
	switch e := e.(type) {
	case *ari.ChannelDestroyed:
		return s.call.ID != "" && e.Channel.ID == s.call.ID
	case *ari.StasisEnd:
		// The current spy snoop ends with the agent leg.
		return s.snoop != "" && e.Channel.ID == s.snoop
	}
	return false
}

// loop serves the connected session until it ends.
func (s *session) loop(ctx context.Context) error {
	for {
		events := append(s.pending, s.inbox.take()...)
		s.pending = nil
		for _, e := range events {
			if err := s.onEvent(ctx, e); err != nil {
				return err
			}
		}
		select {
		case <-s.inbox.signal:
		case c := <-s.cmds:
			if c.hangup {
				c.reply <- nil
				return errors.New("hung up through the API")
			}
			c.reply <- s.switchMode(ctx, c.mode)
		case <-ctx.Done():
			return errShutdown
		}
	}
}

func (s *session) onEvent(ctx context.Context, e ari.Event) error {
	switch {
	case s.isSupervisorEnd(e):
		return errSupervisorGone
	case s.isCallEnd(e):
		return errCallGone
	}
	switch e := e.(type) {
	case *ari.StasisStart:
		if strings.Contains(e.Channel.ID, ".beep") {
			s.onBeepStart(ctx, e.Channel.ID)
		}
	case *ari.PlaybackFinished:
		s.app.unroute(e.Playback.ID, s)
		if beep, ok := strings.CutPrefix(e.Playback.TargetURI, "channel:"); ok && strings.Contains(beep, ".beep") {
			s.hangupOwned(ctx, beep)
		}
	case *ari.StasisEnd:
		s.forgetOwned(e.Channel.ID)
	case *ari.ChannelDestroyed:
		s.forgetOwned(e.Channel.ID)
	case *ari.ChannelDtmfReceived:
		if m, ok := s.dtmfMode(e.Digit); ok {
			if err := s.switchMode(ctx, m); err != nil {
				s.log.Warn("mode switch by dtmf failed", "digit", e.Digit, "error", err)
			}
		}
	}
	return nil
}

func (s *session) dtmfMode(digit string) (earshot.Mode, bool) {
	if s.app.cfg.DisableDTMF {
		return "", false
	}
	i := strings.Index(s.app.cfg.DTMFKeys, digit)
	if digit == "" || i < 0 {
		return "", false
	}
	return earshot.Modes[i], true
}

// switchMode changes what the supervisor's voice reaches. Between listen
// and whisper it mutes or unmutes the snoop's whisper. To or from barge it
// swaps the snoop for one with the other whisper direction, in the
// measured order (DESIGN §2): new snoop in Stasis (muted if listening),
// old snoop gone, new snoop in. The bridge never holds two snoops (the
// agent would hear himself) and stays at two channels (no
// mixing-technology flip).
func (s *session) switchMode(ctx context.Context, m earshot.Mode) error {
	if m == s.mode {
		return nil
	}
	a := s.app
	if whisper(m) == whisper(s.mode) {
		var err error
		if muted(m) {
			err = a.client.Mute(ctx, s.snoop, "out")
		} else {
			err = a.client.Unmute(ctx, s.snoop, "out")
		}
		if err != nil {
			return fmt.Errorf("switch to %s: %w", m, err)
		}
		s.changed(ctx, m)
		return nil
	}
	snoop := a.objectID(s.id, "snoop", s.next())
	if err := s.createSnoop(ctx, snoop, "both", whisper(m), "snoop"); err != nil {
		return fmt.Errorf("snoop for %s: %w", m, err)
	}
	if err := s.awaitStasis(ctx, snoop); err != nil {
		s.hangupOwned(ctx, snoop)
		return fmt.Errorf("snoop for %s: %w", m, err)
	}
	if muted(m) {
		if err := a.client.Mute(ctx, snoop, "out"); err != nil {
			s.hangupOwned(ctx, snoop)
			return fmt.Errorf("mute snoop for %s: %w", m, err)
		}
	}
	old := s.snoop
	s.snoop = snoop
	s.hangupOwned(ctx, old)
	if err := a.client.AddChannels(ctx, s.bridge, snoop); err != nil {
		return fmt.Errorf("add %s snoop to bridge: %w", m, err)
	}
	s.changed(ctx, m)
	return nil
}

// changed records, logs, audits and announces a mode change made.
func (s *session) changed(ctx context.Context, m earshot.Mode) {
	a := s.app
	prev := s.mode
	s.mode = m
	info := *s.info.Load()
	info.Mode = m
	s.info.Store(&info)
	s.log.Info("mode changed", "from", prev, "mode", m)
	a.audit(ctx, s.auditEntry(earshot.AuditMode, ""))
	a.sessFeed.Publish(earshot.SessionEvent{Session: info, Kind: earshot.SessionModeChanged})
	if a.cfg.Tone == ToneEvery && m != earshot.ModeListen {
		s.tone(ctx)
	}
}

func (s *session) hangupOwned(ctx context.Context, id string) {
	if id == "" || !s.live[id] {
		return
	}
	if err := s.app.client.Hangup(ctx, id); err != nil {
		s.log.Error("hang up snoop", "channel", id, "error", err)
		return
	}
	s.forgetOwned(id)
}

func (s *session) forgetOwned(id string) {
	if s.live[id] {
		delete(s.live, id)
		s.app.unroute(id, s)
	}
}

// finish tears the session down on every path: snoops hung up, bridge
// deleted, the supervisor's leg hung up (with a 404 counting as done).
func (s *session) finish(ctx context.Context, why error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	a := s.app
	for id := range s.live {
		s.hangupOwned(ctx, id)
	}
	if s.bridge != "" {
		if err := a.client.DeleteBridge(ctx, s.bridge); err != nil {
			s.log.Error("delete bridge", "bridge", s.bridge, "error", err)
		}
	}
	if !errors.Is(why, errSupervisorGone) {
		if err := a.client.Hangup(ctx, s.channel); err != nil {
			s.log.Error("hang up supervisor leg", "error", err)
		}
	}
	reason := "error"
	if why != nil {
		reason = why.Error()
	}
	if info := s.info.Load(); info != nil {
		s.log.Info("session ended", "reason", reason)
		a.audit(ctx, s.auditEntry(earshot.AuditEnd, reason))
		a.sessFeed.Publish(earshot.SessionEvent{Session: *info, Kind: earshot.SessionEnded, Reason: reason})
	} else {
		s.log.Warn("supervising call failed before connecting", "reason", reason)
		a.stats.reject(rejectReason(why))
		a.audit(ctx, earshot.AuditEntry{
			Kind: earshot.AuditReject, Org: s.sup.Org, Supervisor: s.sup.ID, Agent: s.call.Agent,
			CallID: s.call.ID, Caller: s.caller, Reason: rejectReason(why),
		})
	}
}

func rejectReason(err error) string {
	if errors.Is(err, errCallGone) {
		return earshot.RejectCallEnded
	}
	return earshot.RejectInternal
}

func (s *session) auditEntry(kind, reason string) earshot.AuditEntry {
	return earshot.AuditEntry{
		Kind: kind, Org: s.sup.Org, Session: s.id, Supervisor: s.sup.ID, Agent: s.call.Agent,
		Pool: s.call.Pool, CallID: s.call.ID, Caller: s.caller, Mode: s.mode, Reason: reason,
	}
}
