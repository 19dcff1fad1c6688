package httpapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/earshot/earshot"
)

// sessionJSON is one of the caller's live supervising sessions.
type sessionJSON struct {
	ID        string       `json:"id"`
	Agent     string       `json:"agent"`
	Pool      string       `json:"pool"`
	Mode      earshot.Mode `json:"mode"`
	StartedAt time.Time    `json:"started_at"`
	Node      string       `json:"node,omitempty"`
	// Leg is "phone" (the supervising number) or "browser" (Listen
	// here); a browser session's audio is at Media.
	Leg   string `json:"leg"`
	Media string `json:"media,omitempty"`
}

func newSessionJSON(s earshot.Session) sessionJSON {
	j := sessionJSON{ID: s.ID, Agent: s.Agent, Pool: s.Pool, Mode: s.Mode, StartedAt: s.StartedAt.UTC(), Node: s.Node, Leg: s.Leg}
	if j.Leg == "" {
		j.Leg = earshot.LegPhone
	}
	if s.Leg == earshot.LegBrowser {
		j.Media = mediaPath(s.ID)
	}
	return j
}

type modeRequest struct {
	Mode string `json:"mode"`
}

func (s *Server) listSessions(c echo.Context) error {
	out := []sessionJSON{}
	for _, ses := range s.cfg.Supervising.Sessions(principalOf(c).user.ID) {
		out = append(out, newSessionJSON(ses))
	}
	return c.JSON(http.StatusOK, sessionList{Sessions: out, staleness: s.staleness()})
}

// ownSession finds one of the caller's sessions; another supervisor's
// session is answered as not found.
func (s *Server) ownSession(c echo.Context) (earshot.Session, error) {
	id, err := param(c, "id")
	if err != nil {
		return earshot.Session{}, err
	}
	for _, ses := range s.cfg.Supervising.Sessions(principalOf(c).user.ID) {
		if ses.ID == id {
			return ses, nil
		}
	}
	return earshot.Session{}, earshot.ErrSessionNotFound
}

// setMode switches listen, whisper and barge (R5, R11).
func (s *Server) setMode(c echo.Context) error {
	ses, err := s.ownSession(c)
	if err != nil {
		return err
	}
	var req modeRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	m, err := earshot.ParseMode(req.Mode)
	if err != nil {
		return invalid(FieldError{"mode", earshot.ErrorMessage(err)})
	}
	if err := s.cfg.Supervising.SetMode(c.Request().Context(), ses.ID, m); err != nil {
		return err
	}
	ses.Mode = m
	return c.JSON(http.StatusOK, newSessionJSON(ses))
}

// hangup ends a session and the supervisor's call.
func (s *Server) hangup(c echo.Context) error {
	ses, err := s.ownSession(c)
	if err != nil {
		return err
	}
	if err := s.cfg.Supervising.Hangup(c.Request().Context(), ses.ID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
