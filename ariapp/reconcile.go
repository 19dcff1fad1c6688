package ariapp

import (
	"context"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/CyCoreSystems/ari/v6"
)

// stats are counters for metrics and tests.
type stats struct {
	events     atomic.Int64 // events received
	sessions   atomic.Int64 // sessions connected
	reconciled atomic.Int64 // corrections made by reconciliation: missed events
	sweeps     atomic.Int64 // reconciliation sweeps completed

	mu      sync.Mutex
	rejects map[string]int64 // supervising calls rejected, by reason
}

func (s *stats) reject(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rejects == nil {
		s.rejects = map[string]int64{}
	}
	s.rejects[reason]++
}

// Stats is a snapshot of the application's counters.
type Stats struct {
	Events     int64 // ARI events received
	BadEvents  int64 // ARI events that could not be decoded
	Connects   int64 // event stream (re)connections
	Sessions   int64 // sessions connected
	Rejects    map[string]int64
	Reconciled int64 // corrections by reconciliation: events missed or dropped
	Sweeps     int64
}

// Stats returns the counters.
func (a *App) Stats() Stats {
	a.stats.mu.Lock()
	rejects := maps.Clone(a.stats.rejects)
	a.stats.mu.Unlock()
	return Stats{
		Events: a.stats.events.Load(), BadEvents: a.stream.bad.Load(), Connects: a.stream.connects.Load(),
		Sessions: a.stats.sessions.Load(), Rejects: rejects,
		Reconciled: a.stats.reconciled.Load(), Sweeps: a.stats.sweeps.Load(),
	}
}

// reconcileLoop sweeps after every (re)connect and periodically, because
// events can be dropped or missed while disconnected (docs/design.md §2.11).
func (a *App) reconcileLoop(ctx context.Context) {
	tick := time.NewTicker(a.cfg.ReconcileEvery)
	defer tick.Stop()
	// After a (re)connect, one more sweep once channels new at the first
	// are old enough to judge (orphanAge), rather than a whole period on.
	again := time.NewTimer(time.Hour)
	again.Stop()
	defer again.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.reconcile:
			again.Reset(orphanAge + 500*time.Millisecond)
		case <-again.C:
		case <-tick.C:
		}
		if ok, _ := a.Ready(); !ok {
			continue
		}
		if err := a.Reconcile(ctx); err != nil {
			a.log.Warn("reconcile", "error", err)
		}
	}
}

// orphanAge protects channels whose StasisStart may still be on its way
// from being taken for leftovers; channels created before this run
// started need no such grace.
const orphanAge = 3 * time.Second

// Reconcile compares what Earshot believes with Asterisk's channels and
// bridges: the tracker is rebuilt, sessions whose legs are gone end, and
// snoops, bridges and supervisor legs that no session owns (a crash, a
// dropped event) are removed.
func (a *App) Reconcile(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// The listing is a snapshot taken some time after this moment; a
	// session registered (or connected) after it may be missing from it
	// without being gone. Judging those once took a live supervisor's
	// leg for hung up (under SIP load, a sweep slow to answer).
	listed := time.Now()
	channels, err := a.ast.Channels(ctx)
	if err != nil {
		return err
	}
	bridges, err := a.ast.Bridges(ctx)
	if err != nil {
		return err
	}
	fixed := a.tracker.rebuild(listed, channels, bridges)

	live := make(map[string]bool, len(channels))
	for _, ch := range channels {
		live[ch.ID] = true
	}
	a.mu.Lock()
	owned := make(map[string]bool, len(a.sessions))
	var ends []func()
	for id, s := range a.sessions {
		owned[id] = true
		if !live[s.channel] && s.born.Before(listed) {
			ends = append(ends, func() { s.inbox.put(&ari.StasisEnd{Channel: ari.ChannelData{ID: s.channel}}) })
		}
	}
	routed := make(map[string]bool, len(a.routes))
	for id := range a.routes {
		routed[id] = true
	}
	a.mu.Unlock()
	for _, end := range ends {
		end()
		fixed++
	}
	// Sessions follow the agent leg; tell those whose leg is gone, and
	// the others who the customer's side is now (a barge feed must not
	// outlive a transfer).
	peers := singlePeers(bridges)
	for _, s := range a.sessionsOnCalls() {
		if !live[s.callID] && s.connected.Before(listed) {
			s.s.inbox.put(&ari.ChannelDestroyed{Channel: ari.ChannelData{ID: s.callID}})
			fixed++
			continue
		}
		s.s.inbox.put(&peerSeen{peer: peers[s.callID], seen: listed})
	}

	// Orphan bridges go first, so a leftover supervisor leg hears its
	// notice outside any bridge: once, with the playback started while its
	// bridge was being deleted, Asterisk 22 left the leg unread ("long
	// voice queue") and its hang-up waited for a later sweep.
	for _, b := range bridges {
		if a.isOurs(b.ID) && !owned[a.sessionOf(b.ID)] {
			a.log.Info("removing orphan bridge", "bridge", b.ID)
			if err := a.ast.DeleteBridge(ctx, b.ID); err != nil {
				a.log.Error("delete orphan bridge", "bridge", b.ID, "error", err)
			}
			fixed++
		}
	}

	// Creation times are on Asterisk's clock: read it, so that "before
	// this run started" means the same on both clocks. Unknown, assume a
	// skew as large as orphanAge.
	now, started := time.Now(), a.started.Add(-orphanAge)
	if ast, err := a.ast.Clock(ctx); err == nil {
		skew := time.Since(now) // the request's own time, an error margin
		now, started = ast, a.started.Add(ast.Sub(time.Now())-skew-100*time.Millisecond)
	}
	for _, ch := range channels {
		// Created before this run started: a previous run's, whatever
		// its age now.
		created := channelCreated(ch)
		old := now.Sub(created) > orphanAge || created.Before(started)
		switch {
		// No age for our own snoops: a session routes a snoop's id before
		// asking for it and until it is gone, so an unrouted one is a
		// leftover, however new (Asterisk may not give it a creation
		// time) — also of a live session, which let it go when its
		// hang-up failed.
		case a.isOurs(ch.ID) && !routed[ch.ID]:
			a.log.Info("removing orphan snoop", "channel", ch.ID)
			a.hangupOrphan(ch.ID)
			fixed++
		case a.isSupervisorLeg(ch) && !routed[ch.ID] && old:
			a.log.Info("hanging up a supervising call no session owns", "channel", ch.ID)
			a.noticeAndHangup(ch.ID)
			fixed++
		}
	}
	a.stats.reconciled.Add(int64(fixed))
	a.stats.sweeps.Add(1)
	return nil
}

type sessionCall struct {
	s         *session
	callID    string
	connected time.Time
}

func (a *App) sessionsOnCalls() []sessionCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []sessionCall
	for _, s := range a.sessions {
		if info := s.info.Load(); info != nil {
			out = append(out, sessionCall{s, info.CallID, info.StartedAt})
		}
	}
	return out
}

// isSupervisorLeg reports whether ch is a call to the supervising number
// sitting in this application (its dialplan location is our Stasis).
func (a *App) isSupervisorLeg(ch ari.ChannelData) bool {
	app, args := stasisApp(ch.Dialplan)
	return app == a.cfg.App && strings.HasPrefix(args, "supervise")
}

// noticeAndHangup tells a supervisor left over from an earlier run that
// the session is over, then hangs up.
func (a *App) noticeAndHangup(id string) {
	a.background(func(ctx context.Context) {
		// The notice is a courtesy; the hang-up is what matters, so a
		// notice that hangs does not hold it up.
		nctx, cancel := context.WithTimeout(ctx, NoticeDuration+time.Second)
		defer cancel()
		err := a.playNotice(nctx, id, func(d time.Duration) bool {
			select {
			case <-time.After(d):
				return true
			case <-nctx.Done():
				return false
			}
		})
		if err != nil {
			a.log.Warn("play notice to leftover supervisor leg", "channel", id, "error", err)
		}
		if err := a.ast.Hangup(ctx, id); err != nil {
			a.log.Error("hang up leftover supervisor leg", "channel", id, "error", err)
		}
	})
}
