package httpapi

import (
	"github.com/labstack/echo/v4"

	"github.com/earshot/earshot"
)

// Live call state (who is on a call, live sessions) comes from Asterisk.
// While ARI is unreachable the API still answers reads from the last
// known state, marked stale, and refuses what needs Asterisk with 503.

// staleness is added to every response that carries live call state.
type staleness struct {
	// Stale is true while Asterisk is unreachable: the state shown is
	// the last known one.
	Stale       bool   `json:"stale"`
	StaleReason string `json:"stale_reason,omitempty"`
}

// staleness reports whether live state is current now.
func (s *Server) staleness() staleness {
	live := s.cfg.Stale
	if live == nil {
		live = s.cfg.Live
	}
	if live == nil {
		return staleness{}
	}
	if ok, why := live(); !ok {
		return staleness{Stale: true, StaleReason: "phone system unreachable: " + why}
	}
	return staleness{}
}

// requireLive is middleware for actions that need Asterisk now.
func (s *Server) requireLive(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.cfg.Live == nil {
			return next(c)
		}
		if ok, why := s.cfg.Live(); !ok {
			return earshot.Errorf(earshot.EUNAVAILABLE, "phone system unreachable: %s; try again when it is back", why)
		}
		return next(c)
	}
}

type userList struct {
	Users []userView `json:"users"`
	staleness
}

type sessionList struct {
	Sessions []sessionJSON `json:"sessions"`
	staleness
}

type userViewResponse struct {
	userView
	staleness
}
