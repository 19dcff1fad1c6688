package ariapp

import (
	"context"
	"time"

	"github.com/earshot/earshot"
)

// Notice is what a rejected supervising call hears before Earshot hangs
// up: one cycle of the Special Information Tone (950, 1400, 1800 Hz), the
// network's "this call cannot be completed" signal. It is tonal and
// language-free, and none of its frequencies is a party's test tone.
var Notice = []string{"tone:950", "tone:1400", "tone:1800"}

// NoticeDuration is how long a rejected caller hears the notice.
const NoticeDuration = 1100 * time.Millisecond

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
	if err := s.app.ast.Hangup(ctx, s.channel); err != nil && !IsNotFound(err) {
		s.log.Error("hang up rejected supervisor leg", "error", err)
	}
}

// notice plays the SIT for NoticeDuration, ending early if the caller
// hangs up. A tone playback never ends by itself, so each tone is stopped
// by starting the next.
func (s *session) notice(ctx context.Context) {
	if err := s.app.playNotice(ctx, s.channel, func(d time.Duration) bool {
		return s.pause(ctx, d)
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
		if err := a.ast.Play(ctx, channel, pb, tone); err != nil {
			return err
		}
		if !wait(NoticeDuration / time.Duration(len(Notice))) {
			return nil
		}
		if err := a.ast.StopPlayback(ctx, pb); err != nil {
			return err
		}
	}
	return nil
}
