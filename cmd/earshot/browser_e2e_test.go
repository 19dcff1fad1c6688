package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/internal/audio"
	"github.com/earshot/earshot/internal/phones"
)

// mediaClient opens a browser session's media link as a page does (the
// token as a subprotocol) and adapts it to a phones.MediaPeer.
func mediaClient(t *testing.T, base, path, token string) (<-chan error, func(context.Context, []byte) error, <-chan []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+path,
		&websocket.DialOptions{Subprotocols: []string{"earshot-media", "bearer." + token}})
	if err != nil {
		t.Fatalf("media link: %v", err)
	}
	frames := make(chan []byte, 64)
	closed := make(chan error, 1)
	go func() {
		defer close(frames)
		for {
			typ, b, err := conn.Read(context.Background())
			if err != nil {
				closed <- err
				return
			}
			if typ == websocket.MessageBinary {
				frames <- b
			}
		}
	}()
	send := func(ctx context.Context, b []byte) error { return conn.Write(ctx, websocket.MessageBinary, b) }
	return closed, send, frames
}

// waitOnCall polls the API until the agent is on a service call.
func (e *e2e) waitOnCall(token, agent string) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var u struct {
			OnCall *struct{} `json:"on_call"`
		}
		e.call(token, "GET", "/api/v1/users/"+agent, "", 200, &u)
		if u.OnCall != nil {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s never on a call", agent)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Through the API and its media WebSocket, with a Go client in the
// browser's place playing the supervisor's tone: Listen here, whisper,
// barge, listen, hang up; the hearing matrix exact on the agent's and
// the customer's recordings and on what the client received; the page
// told of the end; nothing left in Asterisk (startE2E's cleanup).
func TestE2E_BrowserSupervising(t *testing.T) {
	e := startE2E(t)
	ctx := context.Background()
	tok, _ := e.login("sara")
	call := e.serviceCall("alice")
	e.waitOnCall(tok, "alice")
	var here struct {
		Session struct {
			ID  string `json:"id"`
			Leg string `json:"leg"`
		} `json:"session"`
		Media string `json:"media"`
	}
	e.call(tok, "POST", "/api/v1/users/alice/listen-here", "", 201, &here)
	conn, send, frames := mediaClient(t, e.api.URL, here.Media, tok)
	peer := phones.NewMediaPeer(send, frames, phones.SupervisorHz)
	defer peer.Stop()
	phones.WaitFor(t, 3*time.Second, "call audio on the media link", func() bool { return !peer.FirstFrame().IsZero() })

	var spans []modeSpan
	from, to := hold(1000 * time.Millisecond)
	spans = append(spans, modeSpan{earshot.ModeListen, from, to})
	for _, m := range []earshot.Mode{earshot.ModeWhisper, earshot.ModeBarge, earshot.ModeListen} {
		e.call(tok, "PUT", "/api/v1/supervising/sessions/"+here.Session.ID+"/mode", `{"mode":"`+string(m)+`"}`, 200, nil)
		from, to := hold(1000 * time.Millisecond)
		spans = append(spans, modeSpan{m, from, to})
	}
	e.call(tok, "DELETE", "/api/v1/supervising/sessions/"+here.Session.ID, "", 204, nil)
	waitClosed(t, conn, websocket.StatusNormalClosure)
	peer.Stop()
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	rs := peer.Heard("sara (browser)")
	ra, _ := call.Recording(ctx, "alice")
	rc, _ := call.Recording(ctx, "customer")
	for _, s := range spans {
		s.assertMatrix(t, 250*time.Millisecond, "browser", rs, ra, rc)
	}
}

// Signing out ends the browser session at once and closes its link; the
// operator forbidding browser supervising ends another, and Listen here
// is then refused.
func TestE2E_BrowserRevoked(t *testing.T) {
	e := startE2E(t)
	ctx := context.Background()
	tok, _ := e.login("sara")
	e.serviceCall("bob")
	e.waitOnCall(tok, "bob")
	var here struct {
		Media string `json:"media"`
	}
	e.call(tok, "POST", "/api/v1/users/bob/listen-here", "", 201, &here)
	conn, _, _ := mediaClient(t, e.api.URL, here.Media, tok)
	e.call(tok, "POST", "/api/v1/auth/logout", "", 204, nil)
	waitClosed(t, conn, websocket.StatusPolicyViolation)
	tok, _ = e.login("sara")
	e.waitSessions(tok, 0)

	e.call(tok, "POST", "/api/v1/users/bob/listen-here", "", 201, &here)
	conn, _, _ = mediaClient(t, e.api.URL, here.Media, tok)
	e.call(e.admin, "DELETE", "/api/v1/admin/orgs/acme/features/browser_supervising", "", 204, nil)
	waitClosed(t, conn, -2)
	e.waitSessions(tok, 0)
	e.call(tok, "POST", "/api/v1/users/bob/listen-here", "", http.StatusForbidden, nil)
	_ = ctx
}

// waitClosed waits for the link to close; status -2 accepts any close.
func waitClosed(t *testing.T, closed <-chan error, status websocket.StatusCode) {
	t.Helper()
	select {
	case err := <-closed:
		if status != -2 && websocket.CloseStatus(err) != status {
			t.Errorf("link closed with %v, want %d", err, status)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("link still open, want closed (%d)", status)
	}
}

// modeSpan is a wall-clock interval a browser session spent in one mode.
type modeSpan struct {
	mode     earshot.Mode
	from, to time.Time
}

// assertMatrix checks who heard whom during the span (R2–R4): the page
// (sup) hears both parties and never its own microphone, the agent hears
// the supervisor in whisper and barge, the customer only in barge. lead
// skips the span's start (jitter buffers; a microphone just started).
func (s modeSpan) assertMatrix(t *testing.T, lead time.Duration, supWho string, sup, agent, cust *phones.Heard) {
	t.Helper()
	check := func(r *phones.Heard, who string, hz float64, want bool) {
		t.Helper()
		iv := r.Between(s.from.Add(lead), s.to.Add(-60*time.Millisecond))
		label := who + " (" + string(s.mode) + ")"
		if want {
			audio.AssertHears(t, r.Recording, label, hz, iv)
		} else {
			audio.AssertNotHears(t, r.Recording, label, hz, iv)
		}
	}
	check(sup, supWho, phones.CustomerHz, true)
	check(sup, supWho, phones.AgentHz, true)
	check(sup, supWho, phones.SupervisorHz, false)
	check(agent, "agent", phones.CustomerHz, true)
	check(agent, "agent", phones.SupervisorHz, s.mode != earshot.ModeListen)
	check(cust, "customer", phones.AgentHz, true)
	check(cust, "customer", phones.SupervisorHz, s.mode == earshot.ModeBarge)
}
