package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/push"
)

// Event names on /api/v1/events.
const (
	evCallStarted    = "call_started"
	evCallEnded      = "call_ended"
	evOffer          = "offer"
	evOfferWithdrawn = "offer_withdrawn"
	evSessionStarted = "session_started"
	evModeChanged    = "mode_changed"
	evSessionEnded   = "session_ended"
	evNotification   = "notification"
)

type callEventJSON struct {
	Agent  string    `json:"agent"`
	Pool   string    `json:"pool"`
	CallID string    `json:"call_id"`
	Since  time.Time `json:"since"`
	Node   string    `json:"node,omitempty"`
}

type offerEventJSON struct {
	offerJSON
	Source string `json:"source,omitempty"`
}

type withdrawnJSON struct {
	ID    string `json:"id"`
	Agent string `json:"agent"`
	Pool  string `json:"pool"`
}

// sessionEventJSON carries the modes the supervisor can switch to, so the
// app's status notification can offer them (R11).
type sessionEventJSON struct {
	sessionJSON
	Actions []earshot.Mode `json:"actions"`
	Reason  string         `json:"reason,omitempty"`
	// ReasonText is the reason in a person's words (the console shows it).
	ReasonText string `json:"reason_text,omitempty"`
}

var sessionEventNames = map[string]string{
	earshot.SessionStarted:     evSessionStarted,
	earshot.SessionModeChanged: evModeChanged,
	earshot.SessionEnded:       evSessionEnded,
}

// maxStreamsPerUser bounds a user's open event streams: each holds a
// goroutine and three subscriptions, and a console or an app needs one or
// two.
const maxStreamsPerUser = 5

// streamSet counts the open event streams per user and tells them all to
// check their caller again when access may have changed (a user deleted
// or changed, a token signed out, a feature turned off). Safe for
// concurrent use.
type streamSet struct {
	max int

	mu     sync.Mutex
	byUser map[string]int
	pokes  map[chan struct{}]struct{}
}

func newStreamSet(max int) *streamSet {
	return &streamSet{max: max, byUser: map[string]int{}, pokes: map[chan struct{}]struct{}{}}
}

// open registers a stream of user, unless they have max open; recheck
// fires when the stream must check its caller again; close unregisters.
func (ss *streamSet) open(user string) (recheck <-chan struct{}, close func(), ok bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.byUser[user] >= ss.max {
		return nil, nil, false
	}
	ss.byUser[user]++
	poke := make(chan struct{}, 1)
	ss.pokes[poke] = struct{}{}
	return poke, func() {
		ss.mu.Lock()
		defer ss.mu.Unlock()
		delete(ss.pokes, poke)
		if ss.byUser[user]--; ss.byUser[user] <= 0 {
			delete(ss.byUser, user)
		}
	}, true
}

// recheck tells every open stream to check its caller again now. A
// stream already told and not yet checking needs no second word.
func (ss *streamSet) recheck() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for poke := range ss.pokes {
		select {
		case poke <- struct{}{}:
		default:
		}
	}
}

// events streams, as Server-Sent Events, what the caller may see: calls in
// their visible pools, their own offers and their own sessions. The
// caller is checked again, as on a new request, before every event and
// heartbeat and whenever access may have changed (streamSet.recheck), so
// the stream ends at once when the token is revoked or signed out, the
// user deleted, their supervisor role or the organization's feature taken
// away (R1), and follows the current pool scope. It also ends when the
// client goes or the server shuts down. A user may have maxStreamsPerUser
// open.
func (s *Server) events(c echo.Context) error {
	p := principalOf(c)
	recheck, closeStream, ok := s.streamSet.open(p.user.ID)
	if !ok {
		return retryLater(http.StatusTooManyRequests, 30*time.Second,
			"you have %d event streams open, the most one user may; close one (or wait for a dropped one to time out)", s.streamSet.max)
	}
	defer closeStream()
	ctx, cancel := context.WithCancel(c.Request().Context())
	defer cancel()
	defer context.AfterFunc(s.streams, cancel)()

	// Subscribe before the stream opens, so that whatever happens after
	// the client sees it open reaches the client.
	calls := s.cfg.Calls.Subscribe(ctx)
	offers := s.cfg.Offers.Subscribe(ctx)
	sessions := s.cfg.Supervising.Subscribe(ctx)
	var notes <-chan push.Note // nil: none
	if s.cfg.Notifications != nil {
		notes = s.cfg.Notifications.Subscribe(ctx)
	}

	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set(echo.HeaderCacheControl, "no-cache")
	w.Header().Set("X-Accel-Buffering", "no") // nginx would buffer the stream
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, "retry: 3000\n: connected\n\n"); err != nil {
		return nil
	}
	w.Flush()

	tick := time.NewTicker(s.cfg.Heartbeat)
	defer tick.Stop()
	for {
		var (
			name string
			data any
		)
		select {
		case <-ctx.Done():
			return nil
		case <-recheck:
			if p = s.mayStream(ctx, p); p == nil {
				return nil
			}
			continue
		case <-tick.C:
			if p = s.mayStream(ctx, p); p == nil {
				return nil
			}
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil {
				return nil
			}
			w.Flush()
			continue
		case ev, ok := <-calls:
			if !ok {
				return nil
			}
			if p = s.mayStream(ctx, p); p == nil {
				return nil
			}
			if visible, err := s.seesPool(ctx, p, ev.Call.Pool); err != nil || !visible {
				continue
			}
			name = evCallStarted
			if ev.Ended {
				name = evCallEnded
			}
			data = callEventJSON{Agent: ev.Call.Agent, Pool: ev.Call.Pool, CallID: ev.Call.ID, Since: ev.Call.Since.UTC(), Node: ev.Call.Node}
		case ev, ok := <-offers:
			if !ok {
				return nil
			}
			if ev.Offer.Supervisor != p.user.ID {
				continue
			}
			name, data = evOffer, offerEventJSON{offerJSON: s.newOfferJSON(ev.Offer), Source: ev.Source}
			if ev.Withdrawn {
				name, data = evOfferWithdrawn, withdrawnJSON{ID: ev.Offer.ID, Agent: ev.Offer.Agent, Pool: ev.Offer.Pool}
			}
		case ev, ok := <-sessions:
			if !ok {
				return nil
			}
			if ev.Session.Supervisor != p.user.ID || sessionEventNames[ev.Kind] == "" {
				continue
			}
			name = sessionEventNames[ev.Kind]
			data = sessionEventJSON{sessionJSON: newSessionJSON(ev.Session), Actions: ev.Session.Mode.Others(),
				Reason: string(ev.Reason), ReasonText: reasonText(ev.Reason)}
		case n, ok := <-notes:
			if !ok {
				return nil
			}
			if n.User != p.user.ID {
				continue
			}
			name, data = evNotification, push.PayloadOf(n.Message)
		}
		// The session's end reaches its supervisor even when the end is
		// the revocation itself; anything else needs the caller still
		// admitted.
		if name != evSessionEnded {
			if p = s.mayStream(ctx, p); p == nil {
				return nil
			}
		}
		if err := writeEvent(w, name, data); err != nil {
			return nil // the client went away
		}
	}
}

// mayStream checks the caller of a stream again, as authenticate and
// requireSupervising would for a new request with the same token, and
// returns them as the directory has them now, or nil when the stream must
// end. A failed look-up ends the stream too; the client reconnects through
// the usual checks.
func (s *Server) mayStream(ctx context.Context, p *principal) *principal {
	now, err := s.principalFor(ctx, p.claims)
	if err != nil || !now.user.HasRole(earshot.RoleSupervisor) {
		return nil
	}
	org, err := s.cfg.Store.Org(ctx, now.user.Org)
	if err != nil || !org.Has(earshot.FeatureSupervising) {
		return nil
	}
	if exp := p.claims.ExpiresAt; exp != nil && !s.cfg.Now().Before(exp.Time) {
		return nil
	}
	return now
}

func writeEvent(w *echo.Response, name string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b); err != nil {
		return err
	}
	w.Flush()
	return nil
}

// reasonText is an end reason in a person's words, or "" for none.
func reasonText(r earshot.EndReason) string {
	if r == "" {
		return ""
	}
	return r.Text()
}
