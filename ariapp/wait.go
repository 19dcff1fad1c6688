package ariapp

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/CyCoreSystems/ari/v6"

	"github.com/earshot/earshot"
)

// fill moves what the pump delivered into the session's queue, in order.
func (s *session) fill() { s.queue = append(s.queue, s.inbox.take()...) }

// await waits up to d for an event matching match and takes it out of the
// queue. Every other event stays queued, in order, for the main loop —
// nothing a wait sees is lost. An end of the supervisor's leg or of the
// call interrupts the wait with an *endError and stays queued as well, so
// the main loop ends the session for it.
func (s *session) await(ctx context.Context, d time.Duration, match func(ari.Event) bool) (ari.Event, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		s.fill()
		for i, e := range s.queue {
			if match(e) {
				s.queue = slices.Delete(s.queue, i, i+1)
				return e, nil
			}
			if r, ok := s.endOf(e); ok {
				return nil, endedBy(r)
			}
		}
		select {
		case <-s.inbox.signal:
		case <-timer.C:
			return nil, fmt.Errorf("timed out after %s", d)
		case <-ctx.Done():
			return nil, endedBy(earshot.EndShutdown)
		}
	}
}

// endOf says whether e ends the session, and why. Only an end of the
// supervisor's own leg is the supervisor hanging up; the agent leg's end,
// or the end of the spy snoop in the bridge (it dies with the agent leg),
// is the call ending. Ends of anything else — the agent tone's snoop, the
// barge path's snoops, channels of other sessions — are not.
func (s *session) endOf(e ari.Event) (earshot.EndReason, bool) {
	var id string
	switch e := e.(type) {
	case *ari.StasisEnd:
		id = e.Channel.ID
		if id == s.snoop && s.snoop != "" {
			return earshot.EndCallEnded, true
		}
	case *ari.ChannelDestroyed:
		id = e.Channel.ID
		if id == s.call.ID && s.call.ID != "" {
			return earshot.EndCallEnded, true
		}
	default:
		return "", false
	}
	if id == s.channel {
		return earshot.EndSupervisorHungUp, true
	}
	return "", false
}

// awaitStasis waits for a snoop of ours to enter Stasis: adding it to a
// bridge before that fails with "Channel not in Stasis". A snoop that
// ends first, or never arrives, fails the wait at once or after
// App.snoopWait (5 s).
func (s *session) awaitStasis(ctx context.Context, id string) error {
	e, err := s.await(ctx, s.app.snoopWait, func(e ari.Event) bool {
		switch e := e.(type) {
		case *ari.StasisStart:
			return e.Channel.ID == id
		case *ari.StasisEnd:
			return e.Channel.ID == id
		case *ari.ChannelDestroyed:
			return e.Channel.ID == id
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("snoop %s: %w", id, err)
	}
	if _, ok := e.(*ari.StasisStart); !ok {
		s.forgetOwned(id)
		return fmt.Errorf("snoop %s ended before it entered Stasis", id)
	}
	return nil
}

// pause waits for d and reports true, or false as soon as the
// supervisor's leg ends (or ctx does). It takes nothing from the queue.
func (s *session) pause(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		s.fill()
		for _, e := range s.queue {
			if r, ok := s.endOf(e); ok && r == earshot.EndSupervisorHungUp {
				return false
			}
		}
		select {
		case <-s.inbox.signal:
		case <-timer.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
}
