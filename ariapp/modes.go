package ariapp

import (
	"context"
	"fmt"
	"strings"

	"github.com/earshot/earshot"
)

// whisper is the snoop whisper direction for each mode (docs/design.md §2.6):
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

// switchMode changes what the supervisor's voice reaches. Between listen
// and whisper it mutes or unmutes the snoop's whisper. To or from barge it
// swaps the snoop for one with the other whisper direction, in the
// measured order (docs/design.md §2.6): new snoop in Stasis (muted if
// listening), old snoop gone, new snoop in. The bridge never holds two
// snoops (the agent would hear himself) and stays at two channels (no
// mixing-technology flip). A switch that fails leaves the mode as it was.
func (s *session) switchMode(ctx context.Context, m earshot.Mode) error {
	if m == s.mode {
		return nil
	}
	a := s.app
	if whisper(m) == whisper(s.mode) {
		var err error
		if muted(m) {
			err = a.ast.Mute(ctx, s.snoop, "out")
		} else {
			err = a.ast.Unmute(ctx, s.snoop, "out")
		}
		if err != nil {
			return fmt.Errorf("switch to %s: %w", m, err)
		}
		s.changed(ctx, m)
		return nil
	}
	snoop := a.objectID(s.id, "snoop", s.next())
	if err := s.createSnoop(ctx, snoop, "both", whisper(m)); err != nil {
		return fmt.Errorf("snoop for %s: %w", m, err)
	}
	if err := s.awaitStasis(ctx, snoop); err != nil {
		s.hangupOwned(ctx, snoop)
		return fmt.Errorf("switch to %s: %w", m, err)
	}
	if muted(m) {
		if err := a.ast.Mute(ctx, snoop, "out"); err != nil {
			s.hangupOwned(ctx, snoop)
			return fmt.Errorf("mute snoop for %s: %w", m, err)
		}
	}
	old := s.snoop
	s.snoop = snoop
	s.hangupOwned(ctx, old)
	if err := a.ast.AddChannels(ctx, s.bridge, snoop); err != nil {
		// The old snoop is gone: the supervisor would hear nothing, so
		// the session ends rather than pretend.
		return endedBy(earshot.EndFailed)
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
