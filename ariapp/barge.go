package ariapp

import (
	"context"
	"fmt"
	"time"

	"github.com/earshot/earshot"
)

// bargePath carries the supervisor's voice to the customer without
// touching the bridge the supervisor hears the call through
// (docs/design.md §2.5, §2.6). Its tap is a snoop on the session's spy
// snoop that hears what is written to it — the supervisor's voice, once
// the agent's whisper is open (muted, nothing reaches the tap). Its feed
// is a whisper-only snoop on the customer's side of the call (feedTarget).
// The two share a bridge of their own, and the feed is muted except in
// barge.
//
// It is built right after a switch to whisper (so that barge is then a
// mute alone), or at a switch to barge straight from listen, and removed
// when the session returns to listen: it nearly doubles what a session
// costs Asterisk (two more snoops and a bridge), so only a supervisor who
// is talking pays for it.
type bargePath struct {
	bridge string
	tap    string
	feed   string
	// target is the peer the feed whispers to, "" when it whispers
	// through the agent leg (which follows the agent wherever the call
	// goes); built is when the path was made (docs/design.md §2.5).
	target string
	built  time.Time
}

// buildBarge creates the barge path with its feed muted. On failure what
// was made is removed and the session goes on without one; an end of the
// session met on the way is returned as such.
func (s *session) buildBarge(ctx context.Context) error {
	a := s.app
	n := s.next()
	b := &bargePath{
		bridge: a.objectID(s.id, "bargebridge", n),
		tap:    a.objectID(s.id, "tap", n),
		feed:   a.objectID(s.id, "feed", n),
	}
	fail := func(err error) error {
		s.removePath(ctx, b)
		return err
	}
	// spy=out on the spy snoop: the frames written to it, i.e. what the
	// supervisor says into the bridge, not the call it plays out.
	if err := s.createSnoopOn(ctx, s.snoop, b.tap, "out", "none"); err != nil {
		return fail(fmt.Errorf("barge tap: %w", err))
	}
	target, dir := s.feedTarget(ctx)
	if err := s.createSnoopOn(ctx, target, b.feed, "none", dir); err != nil {
		return fail(fmt.Errorf("barge feed: %w", err))
	}
	if err := a.ast.CreateBridge(ctx, b.bridge, "earshot barge "+s.id); err != nil {
		return fail(fmt.Errorf("barge bridge: %w", err))
	}
	for _, id := range []string{b.tap, b.feed} {
		if err := s.awaitStasis(ctx, id); err != nil {
			return fail(err)
		}
	}
	if err := s.setMuted(ctx, b.feed, true); err != nil {
		return fail(fmt.Errorf("mute barge feed: %w", err))
	}
	if err := a.ast.AddChannels(ctx, b.bridge, b.tap, b.feed); err != nil {
		return fail(fmt.Errorf("barge bridge: %w", err))
	}
	if dir == "out" {
		b.target = target
	}
	b.built = time.Now()
	s.barge = b
	s.log.Debug("barge path built", "bridge", b.bridge, "feed_on", target, "feed_whisper", dir)
	return nil
}

// prepareBarge builds the barge path after a switch to whisper, so that
// a later switch to barge is a mute alone. A failure is only logged (the
// switch to barge tries again); an end of the session is returned.
func (s *session) prepareBarge(ctx context.Context) error {
	if s.mode != earshot.ModeWhisper || s.barge != nil {
		return nil
	}
	err := s.buildBarge(ctx)
	if err != nil && !isEnd(err) {
		s.log.Warn("prepare barge path", "error", err)
		return nil
	}
	return err
}

// onBargePathEnd drops a barge path one of whose channels ended while
// the session goes on (someone hung it up): the rest is removed, and the
// next switch to barge builds a new one. In barge the path is rebuilt
// once the events at hand are handled (repairBarge): had the call ended,
// its end comes with them and no rebuild is tried.
func (s *session) onBargePathEnd(ctx context.Context, id string) {
	b := s.barge
	if b == nil || (id != b.tap && id != b.feed) {
		return
	}
	s.log.Warn("barge path lost", "channel", id)
	s.removeBarge(ctx)
	s.repair = s.mode == earshot.ModeBarge
}

// isFeed reports whether ch is the feed of the session's barge path.
func (s *session) isFeed(ch string) bool { return s.barge != nil && ch == s.barge.feed }

// removeBarge removes the session's barge path, if it has one.
func (s *session) removeBarge(ctx context.Context) {
	if b := s.barge; b != nil {
		s.barge = nil
		s.removePath(ctx, b)
	}
}

// removePath hangs up a barge path's snoops (those still ours) and
// deletes its bridge (a 404: it was never made or is gone).
func (s *session) removePath(ctx context.Context, b *bargePath) {
	s.hangupOwned(ctx, b.tap)
	s.hangupOwned(ctx, b.feed)
	if err := s.app.ast.DeleteBridge(ctx, b.bridge); err != nil && !IsNotFound(err) {
		s.log.Warn("delete barge bridge", "bridge", b.bridge, "error", err)
	}
}

// repairBarge rebuilds a barge path lost in barge and opens it. If that
// fails the customer no longer hears the supervisor, so the session says
// so: its mode becomes whisper (announced like any change), which is what
// it now is.
func (s *session) repairBarge(ctx context.Context) error {
	if !s.repair {
		return nil
	}
	s.repair = false
	err := s.buildBarge(ctx)
	if isEnd(err) {
		return err
	}
	if err == nil {
		err = s.setMuted(ctx, s.barge.feed, false)
	}
	if err != nil {
		s.log.Error("rebuild barge path: back to whisper", "error", err)
		s.changed(ctx, earshot.ModeWhisper)
	}
	return nil
}

// feedTarget chooses where the barge feed whispers: into what the agent
// leg's bridge peer (the customer's side) is sent, as ChanSpy barges —
// the customer hears the supervisor about 16 ms sooner than through the
// agent leg's incoming side (docs/design.md §3.1) — or, when the leg has
// no single peer (a conference, a lookup that failed), into what the
// agent leg receives from the agent, which reaches every other party.
// Either way the agent does not hear the supervisor twice.
func (s *session) feedTarget(ctx context.Context) (channel, whisper string) {
	if peer := s.peer(ctx); peer != "" {
		return peer, "out"
	}
	return s.call.ID, "in"
}
