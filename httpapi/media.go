package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"

	"github.com/earshot/earshot"
)

// Supervising from the browser (docs/design.md §2.13): Listen here starts
// a session whose supervisor leg is the page's own audio, and the page
// carries that audio over one WebSocket per session on this server.

// mediaProtocol is the WebSocket subprotocol of the media link. A browser
// cannot set the Authorization header on a WebSocket, so it offers its
// sign-in token as a second subprotocol, "bearer.<token>" (the header
// works too); the server answers with mediaProtocol alone, so the token
// never comes back, and the access log never sees headers.
const (
	mediaProtocol = "earshot-media"
	bearerProto   = "bearer."
)

// listenHereJSON answers Listen here: the session, and where its audio is.
type listenHereJSON struct {
	Session sessionJSON `json:"session"`
	// Media is the path of the session's media WebSocket.
	Media string `json:"media"`
}

// listenHere joins the agent's call with the browser's audio, in listen
// mode (R5): no offer and no caller-ID gate; the token authorises it.
func (s *Server) listenHere(c echo.Context) error {
	if s.cfg.Browsing == nil {
		return earshot.ErrBrowserOff
	}
	ctx := c.Request().Context()
	if org, err := s.cfg.Store.Org(ctx, principalOf(c).user.Org); err != nil || !org.Has(earshot.FeatureBrowser) {
		return earshot.ErrBrowserOff
	}
	u, err := s.orgUser(c, "user")
	if err != nil {
		return err
	}
	ses, err := s.cfg.Browsing.Browse(ctx, principalOf(c).user.ID, u.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, listenHereJSON{Session: newSessionJSON(ses), Media: mediaPath(ses.ID)})
}

func mediaPath(id string) string { return "/api/v1/supervising/sessions/" + id + "/media" }

// mediaToken lets a WebSocket handshake carry the sign-in token as a
// subprotocol (see mediaProtocol), for authenticate to check.
func mediaToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Header.Get(echo.HeaderAuthorization) == "" {
			for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
				for p := range strings.SplitSeq(h, ",") {
					if tok, ok := strings.CutPrefix(strings.TrimSpace(p), bearerProto); ok {
						r.Header.Set(echo.HeaderAuthorization, "Bearer "+tok)
					}
				}
			}
		}
		return next(c)
	}
}

// sessionMedia is the media link of one of the caller's browser sessions:
// binary messages of exactly one 20 ms frame of slin16 each way. Refused:
// another supervisor's (or organization's) session and a phone session
// (404), a second link while one is attached (409), anything but whole
// frames (the link closes: 1009 for a message over a frame, 1003 for text
// or a short frame). The caller is checked again as event streams are
// (revocation, sign-out, the organization's settings) and when the token
// expires; a link that may no longer carry audio ends its session.
func (s *Server) sessionMedia(c echo.Context) error {
	if s.cfg.Browsing == nil {
		return earshot.ErrSessionNotFound
	}
	ses, err := s.ownSession(c)
	if err != nil {
		return err
	}
	if ses.Leg != earshot.LegBrowser {
		return earshot.ErrSessionNotFound
	}
	p := principalOf(c)
	recheck, closeStream, ok := s.streamSet.open(p.user.ID)
	if !ok {
		return retryLater(http.StatusTooManyRequests, 30*time.Second,
			"you have %d streams open, the most one user may; close one", s.streamSet.max)
	}
	defer closeStream()
	link, err := s.cfg.Browsing.Media(ses.ID)
	if err != nil {
		return err
	}
	defer link.Close()
	conn, err := websocket.Accept(c.Response(), c.Request(), &websocket.AcceptOptions{
		Subprotocols: []string{mediaProtocol},
		// Same origin only (the console); other origins are refused, so
		// a page elsewhere cannot use a token it got hold of.
	})
	if err != nil {
		return nil // Accept has answered
	}
	defer conn.CloseNow()
	conn.SetReadLimit(earshot.MediaFrameBytes)

	ctx, cancel := context.WithCancel(c.Request().Context())
	defer cancel()
	defer context.AfterFunc(s.streams, cancel)()
	errc := make(chan error, 1)
	go func() { errc <- s.mediaIn(ctx, conn, link) }()

	var expiry <-chan time.Time
	if exp := p.claims.ExpiresAt; exp != nil {
		t := time.NewTimer(exp.Time.Sub(s.cfg.Now()))
		defer t.Stop()
		expiry = t.C
	}
	for {
		select {
		case f := <-link.Frames():
			wctx, wcancel := context.WithTimeout(ctx, 2*time.Second)
			err := conn.Write(wctx, websocket.MessageBinary, f)
			wcancel()
			if err != nil {
				return nil
			}
		case <-link.Done():
			_ = conn.Close(websocket.StatusNormalClosure, "session ended")
			return nil
		case err := <-errc:
			var ce websocket.CloseError
			switch {
			case errors.As(err, &ce):
			case errors.Is(err, errBadFrame):
				_ = conn.Close(websocket.StatusUnsupportedData, "send binary messages of one 20 ms frame of slin16 (640 bytes)")
			case websocket.CloseStatus(err) == -1 && strings.Contains(err.Error(), "read limited"):
				_ = conn.Close(websocket.StatusMessageTooBig, "a message is at most 640 bytes")
			}
			return nil
		case <-recheck:
			if reason := s.mayKeepMedia(ctx, p, ses); reason != "" {
				s.endMedia(ctx, conn, ses, reason)
				return nil
			}
		case <-expiry:
			s.endMedia(ctx, conn, ses, earshot.EndAccessRevoked)
			return nil
		case <-ctx.Done():
			_ = conn.Close(websocket.StatusGoingAway, "server stopping")
			return nil
		}
	}
}

var errBadFrame = errors.New("not one frame of slin16")

// mediaIn sends the page's microphone on to the session.
func (s *Server) mediaIn(ctx context.Context, conn *websocket.Conn, link earshot.MediaLink) error {
	for {
		typ, b, err := conn.Read(ctx)
		if err != nil {
			return err
		}
		if typ != websocket.MessageBinary || len(b) != earshot.MediaFrameBytes {
			return errBadFrame
		}
		// A frame that cannot be sent is dropped: the session is ending
		// (Done follows) or Asterisk is slow, and the next frame is new.
		_ = link.Send(ctx, b)
	}
}

// mayKeepMedia says why a browser session must end now that access may
// have changed, or "": the checks of an event stream, and the
// organization still allowing browser supervising.
func (s *Server) mayKeepMedia(ctx context.Context, p *principal, ses earshot.Session) earshot.EndReason {
	if s.mayStream(ctx, p) == nil {
		return earshot.EndAccessRevoked
	}
	reason, err := s.mayKeep(ctx, ses, false)
	if err != nil {
		s.log.Error("browser session: check access", "session", ses.ID, "error", err)
		return ""
	}
	return reason
}

// endMedia ends the session for reason and closes the link.
func (s *Server) endMedia(ctx context.Context, conn *websocket.Conn, ses earshot.Session, reason earshot.EndReason) {
	s.cfg.Supervising.EndWhere(context.WithoutCancel(ctx), func(x earshot.Session) bool { return x.ID == ses.ID }, reason)
	s.log.Info("browser session ended: access changed", "session", ses.ID, "reason", string(reason))
	_ = conn.Close(websocket.StatusPolicyViolation, reason.Text())
}
