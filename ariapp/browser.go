package ariapp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/earshot/earshot"
)

// Supervising from the browser (docs/design.md §2.13): the session is the
// same goroutine, modes, tone, audit and events as a phone session; only
// its supervisor leg differs. Instead of a call to the supervising number
// it is a chan_websocket channel Earshot creates, and instead of the
// caller-ID gate (R9) the API has already checked the sign-in token.

var _ earshot.Browsing = (*App)(nil)

// BrowserGrace is how long a browser session lives with no media link
// attached (before the first one, or after one dropped): a page that
// reconnects within it finds its session; a closed page ends it.
const BrowserGrace = 10 * time.Second

// Browse implements earshot.Browsing.
func (a *App) Browse(ctx context.Context, supervisor, agent string) (earshot.Session, error) {
	if ok, _ := a.Ready(); !ok {
		return earshot.Session{}, earshot.ErrUnavailable
	}
	sup, call, err := a.mayBrowse(ctx, supervisor, agent)
	if err != nil {
		return earshot.Session{}, err
	}
	// Busy sees connected sessions only: the reservation covers the time
	// until this one is, so two requests racing make one session.
	key := [2]string{sup.ID, call.ID}
	a.mu.Lock()
	racing := a.browsing[key]
	a.browsing[key] = true
	a.mu.Unlock()
	if racing {
		return earshot.Session{}, earshot.Errorf(earshot.ECONFLICT, "you already supervise this call")
	}
	defer func() {
		a.mu.Lock()
		delete(a.browsing, key)
		a.mu.Unlock()
	}()
	if a.Busy(sup.ID, call.ID) {
		return earshot.Session{}, earshot.Errorf(earshot.ECONFLICT, "you already supervise this call")
	}
	s := a.newBrowserSession(sup, call)
	// The leg's id is routed before it exists, so none of its events can
	// arrive unowned; the session is registered once the channel exists,
	// so reconciliation never takes it for a session whose leg is gone.
	a.route(s.channel, s)
	connID, err := a.client.ExternalMedia(context.WithoutCancel(ctx), s.channel, a.cfg.App, "browser,"+s.id, mediaFormat)
	if err != nil {
		a.unroute(s.channel, s)
		var api *APIError
		if !errors.As(err, &api) {
			// No answer: the channel may exist after all.
			a.hangupOrphan(s.channel)
		}
		return earshot.Session{}, fmt.Errorf("create browser media channel: %w", err)
	}
	s.born = time.Now()
	ready := make(chan error, 1)
	a.mu.Lock()
	if a.runCtx == nil || a.runCtx.Err() != nil {
		a.mu.Unlock()
		a.unroute(s.channel, s)
		a.hangupOrphan(s.channel)
		return earshot.Session{}, earshot.ErrUnavailable
	}
	a.sessions[s.id] = s
	a.wg.Add(1)
	runCtx := a.runCtx
	a.mu.Unlock()
	go func() {
		defer a.wg.Done()
		s.runBrowser(runCtx, connID, ready)
	}()
	select {
	case err := <-ready:
		if err != nil {
			if r := reasonOf(err); isEnd(err) && r == earshot.EndCallEnded {
				return earshot.Session{}, earshot.ErrNotOnCall
			}
			return earshot.Session{}, fmt.Errorf("connect browser session: %w", err)
		}
		return *s.info.Load(), nil
	case <-ctx.Done():
		// The session goes on; without a media link it ends after the
		// grace period.
		return earshot.Session{}, ctx.Err()
	}
}

// mayBrowse is the browser's gate: the supervisor's organization has
// supervising and allows it from the browser, the agent is on a service
// call, and the supervisor may supervise it (MaySupervise: role, pool
// scope, never themselves).
func (a *App) mayBrowse(ctx context.Context, supervisor, agent string) (earshot.User, earshot.ServiceCall, error) {
	sup, org, ag, err := a.mayBrowseAgent(ctx, supervisor, agent)
	if err != nil {
		return earshot.User{}, earshot.ServiceCall{}, err
	}
	call, err := a.tracker.CallOf(agent)
	if err != nil || call.Agent != ag.ID {
		return earshot.User{}, earshot.ServiceCall{}, earshot.ErrNotOnCall
	}
	pool, err := a.cfg.Directory.Pool(ctx, call.Pool)
	if err != nil {
		return earshot.User{}, earshot.ServiceCall{}, earshot.ErrNotPermitted
	}
	if err := earshot.MaySupervise(org, sup, ag, pool); err != nil {
		return earshot.User{}, earshot.ServiceCall{}, err
	}
	return sup, call, nil
}

// mayBrowseAgent is the part of the decision that looks at no call, taken
// first so that a supervisor asking about an agent outside their scope
// learns nothing of the agent's calls (the same answer on a call or not).
func (a *App) mayBrowseAgent(ctx context.Context, supervisor, agent string) (earshot.User, earshot.Organization, earshot.User, error) {
	d := a.cfg.Directory
	sup, err := d.User(ctx, supervisor)
	if err != nil {
		return earshot.User{}, earshot.Organization{}, earshot.User{}, earshot.ErrNotPermitted
	}
	org, err := d.Org(ctx, sup.Org)
	switch {
	case err != nil, !org.Has(earshot.FeatureSupervising):
		return earshot.User{}, earshot.Organization{}, earshot.User{}, earshot.ErrFeatureOff
	case !org.Has(earshot.FeatureBrowser):
		return earshot.User{}, earshot.Organization{}, earshot.User{}, earshot.ErrBrowserOff
	}
	ag, err := d.User(ctx, agent)
	if err != nil {
		return earshot.User{}, earshot.Organization{}, earshot.User{}, earshot.ErrNotPermitted
	}
	scope := make([]earshot.Pool, 0, len(sup.Pools))
	for _, id := range sup.Pools {
		if p, err := d.Pool(ctx, id); err == nil {
			scope = append(scope, p)
		}
	}
	if err := earshot.MaySuperviseAgent(org, sup, ag, scope); err != nil {
		return earshot.User{}, earshot.Organization{}, earshot.User{}, err
	}
	return sup, org, ag, nil
}

func (a *App) newBrowserSession(sup earshot.User, call earshot.ServiceCall) *session {
	id := newSessionID()
	ch := a.objectID(id, "media", 0)
	s := a.newSessionWith(id, ch, earshot.LegBrowser)
	s.sup, s.call = sup, call
	s.log = s.log.With("supervisor", sup.ID)
	return s
}

// runBrowser is session.run for a browser leg: no gate (Browse checked the
// token's user), the media socket opened and the leg in Stasis, then the
// very connect, loop and finish of a phone session.
func (s *session) runBrowser(ctx context.Context, connID string, ready chan<- error) {
	defer close(s.done)
	defer s.app.forget(s)
	cleanupCtx := context.WithoutCancel(ctx)
	err := s.openMedia(ctx, connID)
	if err == nil {
		err = s.connect(ctx)
	}
	ready <- err
	if err == nil {
		err = s.loop(ctx)
	}
	s.finish(cleanupCtx, err)
	if s.media != nil {
		s.media.close()
	}
}

// openMedia connects to the leg's media socket; Asterisk answers the leg
// and puts it in Stasis once connected.
func (s *session) openMedia(ctx context.Context, connID string) error {
	a := s.app
	conn, err := dialMedia(ctx, a.client.MediaURL(connID), s.log)
	if err != nil {
		return err
	}
	s.media = newMediaLeg(conn, s.done, a.browserGrace, func() { a.endIdle(s) }, s.log)
	if err := s.awaitStasis(ctx, s.channel); err != nil {
		return fmt.Errorf("browser leg: %w", err)
	}
	s.answered = true
	return nil
}

// endIdle ends a browser session that has had no media link for the
// grace period: the page went away without hanging up.
func (a *App) endIdle(s *session) {
	a.background(func(ctx context.Context) {
		s.log.Info("browser session without a media link; ending it")
		_ = s.command(ctx, command{hangup: true, reason: earshot.EndSupervisorHungUp})
	})
}

// Media implements earshot.Browsing.
func (a *App) Media(sessionID string) (earshot.MediaLink, error) {
	s, err := a.connected(sessionID)
	if err != nil || s.media == nil {
		return nil, earshot.ErrSessionNotFound
	}
	return s.media.attach()
}
