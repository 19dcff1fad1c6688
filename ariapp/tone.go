package ariapp

import (
	"context"
	"strings"

	"github.com/CyCoreSystems/ari/v6"
)

// tone plays the short "supervisor joined" beep to the agent only (R10):
// a whisper-only snoop ("out": towards the agent) plays sound:beep and is
// hung up when the playback finishes.
func (s *session) tone(ctx context.Context) {
	beep := s.app.objectID(s.id, "beep", s.next())
	s.beeps[beep] = true
	if err := s.createSnoop(ctx, beep, "none", "out"); err != nil {
		s.log.Warn("agent tone snoop", "error", err)
	}
}

// onBeepStart plays the tone once the beep snoop is in Stasis. A repeated
// StasisStart (a duplicate event) finds the playback already routed and
// does not play it twice.
func (s *session) onBeepStart(ctx context.Context, beep string) {
	if !s.live[beep] {
		return
	}
	pb := s.app.objectID(s.id, "pb", s.next())
	s.app.route(pb, s)
	s.beeps[beep] = false
	if err := s.app.ast.Play(ctx, beep, pb, "sound:beep"); err != nil {
		s.log.Warn("agent tone playback", "error", err)
		s.hangupOwned(ctx, beep)
	}
}

// onPlaybackFinished hangs up the beep snoop whose tone has played.
func (s *session) onPlaybackFinished(ctx context.Context, e *ari.PlaybackFinished) {
	s.app.unroute(e.Playback.ID, s)
	if ch, ok := strings.CutPrefix(e.Playback.TargetURI, "channel:"); ok {
		if _, beep := s.beeps[ch]; beep {
			s.hangupOwned(ctx, ch)
		}
	}
}
