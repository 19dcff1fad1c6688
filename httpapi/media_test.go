package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/httpapi"
)

// fakeBrowsing makes browser sessions in the fake supervising engine and
// hands out one link per session, echoing nothing: frames the link
// receives are counted, and the test feeds frames to send.
type fakeBrowsing struct {
	super *fakeSupervising
	mu    sync.Mutex
	links map[string]*fakeLink
	n     int
}

func (f *fakeBrowsing) Browse(_ context.Context, sup, agent string) (earshot.Session, error) {
	f.mu.Lock()
	f.n++
	id := fmt.Sprintf("ses-b%d", f.n)
	f.mu.Unlock()
	s := earshot.Session{ID: id, Org: "acme", Supervisor: sup, Agent: agent, Pool: "sales", CallID: "call-a",
		Mode: earshot.ModeListen, StartedAt: t0, Leg: earshot.LegBrowser}
	f.super.mu.Lock()
	f.super.sessions[id] = s
	f.super.mu.Unlock()
	return s, nil
}

func (f *fakeBrowsing) Media(id string) (earshot.MediaLink, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.super.Sessions("")) == 0 {
		return nil, earshot.ErrSessionNotFound
	}
	if l := f.links[id]; l != nil && !l.closed {
		return nil, earshot.ErrMediaAttached
	}
	l := &fakeLink{f: f, frames: make(chan []byte, 4), done: make(chan struct{})}
	f.links[id] = l
	return l, nil
}

type fakeLink struct {
	f      *fakeBrowsing
	frames chan []byte
	done   chan struct{}
	sent   int
	closed bool
}

func (l *fakeLink) Frames() <-chan []byte { return l.frames }
func (l *fakeLink) Done() <-chan struct{} { return l.done }
func (l *fakeLink) Send(_ context.Context, b []byte) error {
	l.f.mu.Lock()
	l.sent++
	l.f.mu.Unlock()
	return nil
}
func (l *fakeLink) Close() { l.f.mu.Lock(); l.closed = true; l.f.mu.Unlock() }

func browserEnv(t *testing.T) (*env, *fakeBrowsing, *httptest.Server) {
	var fb *fakeBrowsing
	e := newEnv(t, func(c *httpapi.Config) {
		fb = &fakeBrowsing{links: map[string]*fakeLink{}}
		c.Browsing = fb
	})
	fb.super = e.super
	srv := httptest.NewServer(e.srv.Handler())
	t.Cleanup(srv.Close)
	return e, fb, srv
}

func allowBrowser(e *env, on bool) {
	e.store.mu.Lock()
	o := e.store.orgs["acme"]
	o.Features = []string{earshot.FeatureSupervising}
	if on {
		o.Features = append(o.Features, earshot.FeatureBrowser)
	}
	e.store.orgs["acme"] = o
	e.store.mu.Unlock()
}

// dialMedia opens a session's media link with the token as subprotocol
// ("" for none) and returns the connection or the handshake's status.
func dialMedia(t *testing.T, srv *httptest.Server, id, token string) (*websocket.Conn, int) {
	t.Helper()
	protos := []string{"earshot-media"}
	if token != "" {
		protos = append(protos, "bearer."+token)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u := "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/v1/supervising/sessions/" + id + "/media"
	c, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{Subprotocols: protos})
	if err != nil {
		if resp == nil {
			t.Fatalf("dial %s: %v", id, err)
		}
		return nil, resp.StatusCode
	}
	if c.Subprotocol() != "earshot-media" {
		t.Errorf("subprotocol %q, want earshot-media alone (the token must not come back)", c.Subprotocol())
	}
	return c, http.StatusSwitchingProtocols
}

// Listen here needs the organization's browser setting; the media link
// refuses a missing, invalid, expired or signed-out token, another
// supervisor's or organization's session, a phone session and a second
// link; it closes on a frame that is too large or not binary; and a
// sign-out while it is open ends the session.
func TestMedia_Refusals(t *testing.T) {
	e, fb, srv := browserEnv(t)
	sara := e.token("sara")
	p := wantProblem(t, e.do("POST", "/api/v1/users/alice/listen-here", sara, nil), http.StatusForbidden)
	if !strings.HasSuffix(p.Type, "/browser-off") {
		t.Errorf("forbidden by the organization: type %s", p.Type)
	}
	allowBrowser(e, true)
	w := e.do("POST", "/api/v1/users/alice/listen-here", sara, nil)
	wantStatus(t, w, http.StatusCreated)
	got := decodeAs[struct {
		Session struct{ ID, Leg, Media string }
		Media   string
	}](t, w)
	if got.Session.Leg != "browser" || got.Media != "/api/v1/supervising/sessions/"+got.Session.ID+"/media" {
		t.Fatalf("listen here = %+v", got)
	}
	id := got.Session.ID
	wantProblem(t, e.do("POST", "/api/v1/users/gina/listen-here", sara, nil), http.StatusNotFound) // another org's agent

	for _, c := range []struct {
		name, token string
		want        int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"not a token", "not.a.token", http.StatusUnauthorized},
		{"another supervisor's session", e.token("sam"), http.StatusNotFound},
		{"another organization's supervisor", e.token("gus"), http.StatusNotFound},
	} {
		if _, st := dialMedia(t, srv, id, c.token); st != c.want {
			t.Errorf("%s: status %d, want %d", c.name, st, c.want)
		}
	}
	if _, st := dialMedia(t, srv, "ses-sara", sara); st != http.StatusNotFound {
		t.Errorf("a phone session's media: %d, want 404", st)
	}
	// Expired: the same token, nine hours on.
	e.clock.Advance(9 * time.Hour)
	if _, st := dialMedia(t, srv, id, sara); st != http.StatusUnauthorized {
		t.Errorf("expired token: %d, want 401", st)
	}
	e.clock.Advance(-9 * time.Hour)

	conn, st := dialMedia(t, srv, id, sara)
	if st != http.StatusSwitchingProtocols {
		t.Fatalf("sara's own session: %d", st)
	}
	if _, st := dialMedia(t, srv, id, sara); st != http.StatusConflict {
		t.Errorf("a second simultaneous link: %d, want 409", st)
	}
	ctx := context.Background()
	frame := make([]byte, earshot.MediaFrameBytes)
	if err := conn.Write(ctx, websocket.MessageBinary, frame); err != nil {
		t.Fatal(err)
	}
	fb.links[id].frames <- frame
	if typ, b, err := conn.Read(ctx); err != nil || typ != websocket.MessageBinary || len(b) != len(frame) {
		t.Fatalf("frame to the browser: %v %d %v", typ, len(b), err)
	}
	if err := conn.Write(ctx, websocket.MessageBinary, make([]byte, earshot.MediaFrameBytes+1)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := conn.Read(ctx); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Errorf("oversized frame: %v, want close 1009", err)
	}
	fb.mu.Lock()
	sent := fb.links[id].sent
	fb.mu.Unlock()
	if sent != 1 {
		t.Errorf("frames passed on = %d, want the one whole frame", sent)
	}
	// A short frame, then text: closed as unsupported data.
	for _, msg := range []struct {
		typ websocket.MessageType
		b   []byte
	}{{websocket.MessageBinary, make([]byte, 320)}, {websocket.MessageText, []byte("hello")}} {
		conn := waitDial(t, srv, id, sara)
		if err := conn.Write(ctx, msg.typ, msg.b); err != nil {
			t.Fatal(err)
		}
		if _, _, err := conn.Read(ctx); websocket.CloseStatus(err) != websocket.StatusUnsupportedData {
			t.Errorf("%v of %d bytes: %v, want close 1003", msg.typ, len(msg.b), err)
		}
	}

	// Signed out while the link is open: the session ends, the link closes.
	conn = waitDial(t, srv, id, sara)
	wantStatus(t, e.do("POST", "/api/v1/auth/logout", sara, nil), http.StatusNoContent)
	if _, _, err := conn.Read(ctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Errorf("after sign-out: %v, want close 1008", err)
	}
	if ended := e.super.endedList(); len(ended) != 1 || ended[0] != id+" access_revoked" {
		t.Errorf("ended = %v", ended)
	}

	// Forbidding browser supervising ends a browser session at once.
	sara = e.token("sara")
	w = e.do("POST", "/api/v1/users/alice/listen-here", sara, nil)
	wantStatus(t, w, http.StatusCreated)
	id2 := decodeAs[struct{ Session struct{ ID string } }](t, w).Session.ID
	conn = waitDial(t, srv, id2, sara)
	wantStatus(t, e.do("DELETE", "/api/v1/admin/orgs/acme/features/browser_supervising", adminToken, nil), http.StatusNoContent)
	if _, _, err := conn.Read(ctx); err == nil {
		t.Error("the link stayed open after browser supervising was forbidden")
	}
	if ended := e.super.endedList(); len(ended) != 2 || !strings.Contains(strings.Join(ended, ","), id2+" feature_off") {
		t.Errorf("ended = %v", ended)
	}
}

// waitDial dials until the previous link has detached.
func waitDial(t *testing.T, srv *httptest.Server, id, token string) *websocket.Conn {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		conn, st := dialMedia(t, srv, id, token)
		if st == http.StatusSwitchingProtocols {
			return conn
		}
		if st != http.StatusConflict || time.Now().After(deadline) {
			t.Fatalf("dial %s: %d", id, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
