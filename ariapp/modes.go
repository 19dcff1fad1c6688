package ariapp

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/earshot/earshot"
)

// dtmfMode maps a key of the supervisor's leg to the mode it selects.
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

// switchMode changes what the supervisor's voice reaches by muting and
// unmuting alone (docs/design.md §2.6): the spy snoop's whisper (to the
// agent) is open in whisper and barge, the barge path's (to the customer)
// in barge only. The bridge the supervisor hears the call through is
// never touched, so no switch leaves a gap. The barge path is prepared
// after a switch to whisper (or built at a switch to barge) and removed
// at a switch to listen. A switch that fails leaves the mode as it was.
func (s *session) switchMode(ctx context.Context, m earshot.Mode) error {
	if m == s.mode {
		return nil
	}
	if m == earshot.ModeBarge && s.barge == nil {
		if err := s.buildBarge(ctx); err != nil {
			return s.switchFailed(m, err)
		}
	}
	var done []muteStep
	for _, st := range s.muteSteps(m) {
		err := s.setMuted(ctx, st.channel, st.mute)
		if err == nil {
			done = append(done, st)
			continue
		}
		if !st.mute && IsUnanswered(err) {
			// Asterisk may carry the unmute out yet: undo it too. The
			// barge path goes outright (a hang-up is final whenever
			// Asterisk gets to it; a mute sent after might overtake it).
			if s.isFeed(st.channel) {
				s.removeBarge(ctx)
			} else {
				done = append(done, st)
			}
		}
		for _, d := range slices.Backward(done) {
			if err := s.undo(ctx, d); err != nil {
				return err
			}
		}
		return s.switchFailed(m, err)
	}
	s.changed(ctx, m)
	if m == earshot.ModeListen {
		// Both whispers are muted: the path goes without a sound.
		s.removeBarge(ctx)
	}
	return nil
}

// undo reverts one step of a failed switch. Reverting an unmute must
// work: if the mute back fails too, the barge path goes, or for the spy
// snoop the session ends — rather than leave the agent hearing a
// supervisor who is told nobody hears them. A mute that cannot be undone
// leaves less open than the mode says, which harms nobody; it is logged.
func (s *session) undo(ctx context.Context, st muteStep) error {
	err := s.setMuted(ctx, st.channel, !st.mute)
	switch {
	case err == nil:
		return nil
	case st.mute:
		s.log.Warn("undoing a mute failed: less is open than the mode says", "channel", st.channel, "error", err)
		return nil
	case s.isFeed(st.channel):
		s.removeBarge(ctx)
		return nil
	default:
		s.log.Error("the supervisor's whisper cannot be muted again: ending the session", "channel", st.channel, "error", err)
		return endedBy(earshot.EndFailed)
	}
}

// switchFailed is the error of a switch that did not happen: the mode is
// what it was. When Asterisk did not answer, the caller is told to try
// again (unavailable), not that Earshot failed.
func (s *session) switchFailed(m earshot.Mode, err error) error {
	if IsUnanswered(err) {
		s.log.Warn("mode switch: Asterisk did not answer", "mode", m, "error", err)
		return earshot.Errorf(earshot.EUNAVAILABLE, "the phone system did not answer in time: the session is still in %s; try again", s.mode)
	}
	return fmt.Errorf("switch to %s: %w", m, err)
}

type muteStep struct {
	channel string
	mute    bool
}

// muteSteps lists the mutes and unmutes that take the session from its
// mode to m. What is muted follows from the mode alone: the spy snoop's
// whisper in listen, the barge feed (muted when built) outside barge. The
// customer's path closes before, and opens after, the agent's: leaving
// barge, the customer stops hearing first; entering it from listen, both
// hear the supervisor from the same moment (the tap carries nothing while
// the agent's whisper is muted).
func (s *session) muteSteps(m earshot.Mode) []muteStep {
	var steps []muteStep
	if listen := m == earshot.ModeListen; listen != (s.mode == earshot.ModeListen) {
		steps = append(steps, muteStep{s.snoop, listen})
	}
	if barge := m == earshot.ModeBarge; s.barge != nil && barge != (s.mode == earshot.ModeBarge) {
		feed := muteStep{s.barge.feed, !barge}
		if feed.mute {
			return append([]muteStep{feed}, steps...)
		}
		steps = append(steps, feed)
	}
	return steps
}

// setMuted mutes or unmutes what a snoop whispers.
func (s *session) setMuted(ctx context.Context, ch string, mute bool) error {
	if mute {
		return s.app.ast.Mute(ctx, ch, "out")
	}
	return s.app.ast.Unmute(ctx, ch, "out")
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
