package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/earshot/earshot"
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
)

type callEventJSON struct {
	Agent  string    `json:"agent"`
	Pool   string    `json:"pool"`
	CallID string    `json:"call_id"`
	Since  time.Time `json:"since"`
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
}

var sessionEventNames = map[string]string{
	earshot.SessionStarted:     evSessionStarted,
	earshot.SessionModeChanged: evModeChanged,
	earshot.SessionEnded:       evSessionEnded,
}

// events streams, as Server-Sent Events, what the caller may see: calls in
// their visible pools, their own offers and their own sessions. It ends
// when the client goes, when the server shuts down, or when the
// organization loses the feature (R1: at once).
func (s *Server) events(c echo.Context) error {
	p := principalOf(c)
	ctx, cancel := context.WithCancel(c.Request().Context())
	defer cancel()
	defer context.AfterFunc(s.streams, cancel)()

	// Subscribe before the stream opens, so that whatever happens after
	// the client sees it open reaches the client.
	calls := s.cfg.Calls.Subscribe(ctx)
	offers := s.cfg.Offers.Subscribe(ctx)
	sessions := s.cfg.Supervising.Subscribe(ctx)

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
		case <-tick.C:
			if !s.mayStream(ctx, p) {
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
			if visible, err := s.seesPool(ctx, p, ev.Call.Pool); err != nil || !visible {
				continue
			}
			name = evCallStarted
			if ev.Ended {
				name = evCallEnded
			}
			data = callEventJSON{Agent: ev.Call.Agent, Pool: ev.Call.Pool, CallID: ev.Call.ID, Since: ev.Call.Since.UTC()}
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
			data = sessionEventJSON{sessionJSON: newSessionJSON(ev.Session), Actions: ev.Session.Mode.Others(), Reason: string(ev.Reason)}
		}
		if !s.mayStream(ctx, p) {
			return nil
		}
		if err := writeEvent(w, name, data); err != nil {
			return nil // the client went away
		}
	}
}

// mayStream reports whether the caller's organization still has the
// feature; a failed look-up ends the stream too, and the client
// reconnects through the usual checks.
func (s *Server) mayStream(ctx context.Context, p *principal) bool {
	org, err := s.cfg.Store.Org(ctx, p.user.Org)
	return err == nil && org.Has(earshot.FeatureSupervising)
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
