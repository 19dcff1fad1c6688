package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/audio"
	"github.com/earshot/earshot/internal/phones"
	"github.com/earshot/earshot/internal/sandbox"
)

// e2e is a whole Earshot (store, engine, API) on the sandbox Asterisk,
// driven through its HTTP API like the mobile app drives it.
type e2e struct {
	t     *testing.T
	h     *phones.Harness
	m     *Main
	api   *httptest.Server
	app   string
	admin string
}

func startE2E(t *testing.T, args ...string) *e2e {
	t.Helper()
	sb := sandbox.Require(t)
	h := phones.New(t)
	app := newAppName("earshot-e2e-")
	cfg, err := LoadConfig(append([]string{
		"--ari-url", sb.URL, "--ari-user", sb.User, "--ari-password", sb.Password, "--ari-app", app,
		"--db", filepath.Join(t.TempDir(), "earshot.db"), "--directory", "../../testdata/directory/demo.yaml",
		"--supervising-number", phones.SupervisingNumber, "--admin-token", testAdminToken,
		"--http-addr", "127.0.0.1:0",
	}, args...), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	app = cfg.ARIApp // args may name it
	m, err := NewMain(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	e := &e2e{t: t, h: h, m: m, api: httptest.NewServer(m.http.Handler()), app: app, admin: testAdminToken}
	t.Cleanup(func() {
		e.api.Close()
		h.HangupAll()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		m.Close()
		h.AssertNoLeaks(t, app+".")
	})
	deadline := time.Now().Add(10 * time.Second)
	for ok, _ := m.app.Ready(); !ok; ok, _ = m.app.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("earshot did not connect to ARI")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return e
}

// call makes one API request and decodes the JSON answer into out.
func (e *e2e) call(token, method, path, body string, want int, out any) {
	e.t.Helper()
	apiRequest(e.t, e.api.URL, token, method, path, body, want, out)
}

// apiRequest makes one request to the API at base and decodes the JSON
// answer into out; want 0 accepts any status.
func apiRequest(t *testing.T, base, token, method, path, body string, want int, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if want != 0 && resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

// serviceCall places a pool call from a customer to agent, through Dial.
func (e *e2e) serviceCall(agent string) *phones.Call {
	e.t.Helper()
	call, err := e.h.Service(context.Background(), phones.ServiceOpts{Pool: "sales", Agent: agent, Via: phones.ViaDial})
	if err != nil {
		e.t.Fatal(err)
	}
	return call
}

func (e *e2e) login(user string) (string, []string) {
	e.t.Helper()
	var r struct {
		Token    string   `json:"token"`
		Features []string `json:"features"`
	}
	e.call("", "POST", "/api/v1/auth/login", `{"username":"`+user+`","password":"change-me"}`, 200, &r)
	return r.Token, r.Features
}

type sessionsJSON struct {
	Sessions []struct {
		ID    string `json:"id"`
		Agent string `json:"agent"`
		Mode  string `json:"mode"`
		Node  string `json:"node"`
	} `json:"sessions"`
	Stale bool `json:"stale"`
}

// waitSessions polls the API until the supervisor has n live sessions.
func (e *e2e) waitSessions(token string, n int) sessionsJSON {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var s sessionsJSON
		e.call(token, "GET", "/api/v1/supervising/sessions", "", 200, &s)
		if len(s.Sessions) == n {
			return s
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("sessions = %+v, want %d", s, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Through the API alone: sign in, set the phone number, see the agent on
// a live call, Listen, dial in, switch to whisper and barge, hang up —
// with the audio of each mode checked on the recordings.
func TestE2E_SuperviseThroughAPI(t *testing.T) {
	e := startE2E(t)
	ctx := context.Background()
	tok, features := e.login("sara")
	if !slices.Contains(features, "supervising") {
		t.Fatalf("features at sign-in = %v", features)
	}
	var settings struct {
		PhoneNumber string `json:"phone_number"`
	}
	e.call(tok, "PUT", "/api/v1/supervising/settings", `{"phone_number":"040 1234567"}`, 200, &settings)
	if settings.PhoneNumber != "+358401234567" {
		t.Fatalf("phone number stored as %q", settings.PhoneNumber)
	}

	call, err := e.h.Service(ctx, phones.ServiceOpts{Pool: "sales", Agent: "alice", Via: phones.ViaQueue})
	if err != nil {
		t.Fatal(err)
	}
	var users struct {
		Users []struct {
			ID     string `json:"id"`
			OnCall *struct {
				Pool string `json:"pool"`
			} `json:"on_call"`
		} `json:"users"`
	}
	e.call(tok, "GET", "/api/v1/pools/sales/users", "", 200, &users)
	onCall := map[string]bool{}
	for _, u := range users.Users {
		onCall[u.ID] = u.OnCall != nil
	}
	if !onCall["alice"] || onCall["bob"] {
		t.Fatalf("pool users view: %+v", users)
	}

	var offer struct {
		Offer struct {
			DialURI           string `json:"dial_uri"`
			SupervisingNumber string `json:"supervising_number"`
		} `json:"offer"`
	}
	e.call(tok, "POST", "/api/v1/users/alice/listen", "", 201, &offer)
	if offer.Offer.DialURI != "tel:"+phones.SupervisingNumber {
		t.Fatalf("offer = %+v", offer)
	}
	sup, err := e.h.Supervisor(ctx, phones.SupervisorOpts{Name: "sara", Number: "+358401234567", App: e.app})
	if err != nil {
		t.Fatal(err)
	}
	s := e.waitSessions(tok, 1)
	if s.Sessions[0].Mode != "listen" || s.Sessions[0].Agent != "alice" {
		t.Fatalf("session = %+v, want alice in listen", s)
	}
	id := s.Sessions[0].ID
	listenFrom, listenTo := hold(900 * time.Millisecond)
	e.call(tok, "PUT", "/api/v1/supervising/sessions/"+id+"/mode", `{"mode":"whisper"}`, 200, nil)
	whisperFrom, whisperTo := hold(900 * time.Millisecond)
	e.call(tok, "PUT", "/api/v1/supervising/sessions/"+id+"/mode", `{"mode":"barge"}`, 200, nil)
	bargeFrom, bargeTo := hold(900 * time.Millisecond)
	e.call(tok, "DELETE", "/api/v1/supervising/sessions/"+id, "", 204, nil)
	if err := sup.WaitGone(ctx, sup.SupervisorLeg); err != nil {
		t.Fatalf("hang-up through the API left the supervisor's call up: %v", err)
	}
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	rs, _ := sup.Recording(ctx, "sara")
	ra, _ := call.Recording(ctx, "alice")
	rc, _ := call.Recording(ctx, "customer")
	iv := func(r *phones.Heard, from, to time.Time) audio.Interval {
		return r.Between(from.Add(250*time.Millisecond), to.Add(-50*time.Millisecond))
	}
	audio.AssertHears(t, rs.Recording, "supervisor (listen)", phones.CustomerHz, iv(rs, listenFrom, listenTo))
	audio.AssertHears(t, rs.Recording, "supervisor (listen)", phones.AgentHz, iv(rs, listenFrom, listenTo))
	audio.AssertNotHears(t, ra.Recording, "agent (listen)", phones.SupervisorHz, iv(ra, listenFrom, listenTo))
	audio.AssertHears(t, ra.Recording, "agent (whisper)", phones.SupervisorHz, iv(ra, whisperFrom, whisperTo))
	audio.AssertNotHears(t, rc.Recording, "customer (whisper)", phones.SupervisorHz, iv(rc, whisperFrom, whisperTo))
	audio.AssertHears(t, ra.Recording, "agent (barge)", phones.SupervisorHz, iv(ra, bargeFrom, bargeTo))
	audio.AssertHears(t, rc.Recording, "customer (barge)", phones.SupervisorHz, iv(rc, bargeFrom, bargeTo))
}

// sse reads an event stream's "event:" names and data lines.
type sse struct {
	events chan [2]string
	cancel context.CancelFunc
}

func (e *e2e) subscribe(token string) *sse {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.api.URL+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		cancel()
		e.t.Fatalf("events: %v %v", err, resp)
	}
	s := &sse{events: make(chan [2]string, 64), cancel: cancel}
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		name := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event:"):
				name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				s.events <- [2]string{name, strings.TrimSpace(strings.TrimPrefix(line, "data:"))}
			}
		}
	}()
	e.t.Cleanup(cancel)
	return s
}

// next waits for the next event named one of names.
func (s *sse) next(t *testing.T, d time.Duration, names ...string) ([2]string, bool) {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case ev := <-s.events:
			for _, n := range names {
				if ev[0] == n {
					return ev, true
				}
			}
		case <-timeout:
			return [2]string{}, false
		}
	}
}

// R8: a supervised agent's new service call makes an offer that the
// supervisor's event stream delivers; after removal, the next call none.
func TestE2E_SupervisedUsers(t *testing.T) {
	e := startE2E(t)
	ctx := context.Background()
	tok, _ := e.login("sara")
	e.call(tok, "PUT", "/api/v1/supervising/users/bob", "", 204, nil)
	stream := e.subscribe(tok)

	call, err := e.h.Service(ctx, phones.ServiceOpts{Pool: "sales", Agent: "bob", Via: phones.ViaDial})
	if err != nil {
		t.Fatal(err)
	}
	ev, ok := stream.next(t, 5*time.Second, "offer")
	if !ok || !strings.Contains(ev[1], `"bob"`) {
		t.Fatalf("no offer event for bob's call (got %v)", ev)
	}
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := stream.next(t, 5*time.Second, "offer_withdrawn"); !ok {
		t.Error("the offer was not withdrawn when the call ended")
	}

	e.call(tok, "DELETE", "/api/v1/supervising/users/bob", "", 204, nil)
	if _, err := e.h.Service(ctx, phones.ServiceOpts{Pool: "sales", Agent: "bob", Via: phones.ViaDial}); err != nil {
		t.Fatal(err)
	}
	if _, ok := stream.next(t, 5*time.Second, "call_started"); !ok {
		t.Fatal("no call_started event for bob's second call")
	}
	// The offer, if any, follows the call event at once.
	if ev, ok := stream.next(t, time.Second, "offer"); ok {
		t.Errorf("offer after bob was removed from the list: %v", ev)
	}
}

// R1: turning supervising off denies at once and ends live sessions;
// turning it on needs a new sign-in.
func TestE2E_FeatureSwitch(t *testing.T) {
	e := startE2E(t)
	ctx := context.Background()
	tok, _ := e.login("sara")
	e.serviceCall("alice")
	e.call(tok, "POST", "/api/v1/users/alice/listen", "", 201, nil)
	sup, err := e.h.Supervisor(ctx, phones.SupervisorOpts{Name: "sara", Number: "+358401234567", App: e.app})
	if err != nil {
		t.Fatal(err)
	}
	e.waitSessions(tok, 1)

	e.call(e.admin, "DELETE", "/api/v1/admin/orgs/acme/features/supervising", "", 204, nil)
	if err := sup.WaitGone(ctx, sup.SupervisorLeg); err != nil {
		t.Fatalf("live session survived turning the feature off: %v", err)
	}
	e.call(tok, "GET", "/api/v1/supervising/sessions", "", 403, nil)
	tokOff, features := e.login("sara")
	if len(features) != 0 {
		t.Fatalf("features with supervising off = %v", features)
	}
	e.call(e.admin, "PUT", "/api/v1/admin/orgs/acme/features/supervising", "", 204, nil)
	e.call(tokOff, "GET", "/api/v1/supervising/sessions", "", 403, nil) // signed in while off
	tokOn, features := e.login("sara")
	if !slices.Contains(features, "supervising") {
		t.Fatalf("features after re-enabling = %v", features)
	}
	e.call(tokOn, "GET", "/api/v1/supervising/sessions", "", 200, nil)
}

func hold(d time.Duration) (time.Time, time.Time) {
	from := time.Now()
	time.Sleep(d) // let audio flow: there is no event to wait for
	return from, time.Now()
}
