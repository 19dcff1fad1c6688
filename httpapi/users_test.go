package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/earshot/earshot/httpapi"
)

func TestUser_Get(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		w := e.do("GET", "/api/v1/users/alice", e.token("sara"), nil)
		wantStatus(t, w, http.StatusOK)
		wantJSON(t, w, `{"id":"alice","name":"Alice","on_call":{"pool":"sales","call_id":"call-a","since":"2025-11-24T09:00:00Z","supervisors":[{"id":"sara","name":"Sara","mode":"listen"}]},"stale":false,"supervised":false}`)
	})
	t.Run("CallOutOfScope", func(t *testing.T) {
		// sam may not see sales, so alice's call there is not shown.
		e := newEnv(t)
		wantJSON(t, e.do("GET", "/api/v1/users/alice", e.token("sam"), nil), `{"id":"alice","name":"Alice","on_call":null,"stale":false,"supervised":false}`)
	})
	t.Run("ErrUserNotFound", func(t *testing.T) {
		e := newEnv(t)
		wantProblem(t, e.do("GET", "/api/v1/users/nobody", e.token("sara"), nil), http.StatusNotFound)
	})
}

func TestListen_Post(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		w := e.do("POST", "/api/v1/users/alice/listen", e.token("sara"), nil)
		wantStatus(t, w, http.StatusCreated)
		wantJSON(t, w, `{"offer":{"id":"offer-alice","agent":"alice","pool":"sales","supervising_number":"+35891234599",
			"dial_uri":"tel:+35891234599,0427#","expires_at":"2025-11-24T09:02:00Z"}}`)
	})
	cases := []struct {
		name, supervisor, agent string
		status                  int
		typ                     string
	}{
		{"ErrNotOnCall", "sara", "bob", http.StatusConflict, "https://earshot.dev/problems/not-on-call"},
		{"ErrNoPhoneNumber", "nora", "alice", http.StatusUnprocessableEntity, "https://earshot.dev/problems/no-phone-number"},
		{"ErrNotPermitted", "sam", "alice", http.StatusForbidden, "https://earshot.dev/problems/not-permitted"},
		{"ErrUserNotFound", "sara", "nobody", http.StatusNotFound, "about:blank"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p := wantProblem(t, e.do("POST", "/api/v1/users/"+tc.agent+"/listen", e.token(tc.supervisor), nil), tc.status)
			if p.Type != tc.typ {
				t.Errorf("type = %s, want %s", p.Type, tc.typ)
			}
		})
	}
}

// While Asterisk is unreachable, reads answer from the last known state
// marked stale, and actions that need Asterisk answer 503.
func TestLive_Stale(t *testing.T) {
	down := func(c *httpapi.Config) {
		c.Live = func() (bool, string) { return false, "connect ws://127.0.0.1:8088: connection refused" }
	}
	e := newEnv(t, down)
	sara := e.token("sara")
	for _, path := range []string{"/api/v1/pools/sales/users", "/api/v1/supervising/users", "/api/v1/users/alice", "/api/v1/supervising/sessions"} {
		w := e.do("GET", path, sara, nil)
		wantStatus(t, w, http.StatusOK)
		var body struct {
			Stale       bool   `json:"stale"`
			StaleReason string `json:"stale_reason"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || !body.Stale || !strings.Contains(body.StaleReason, "connection refused") {
			t.Errorf("GET %s: %s, want stale with the reason", path, w.Body)
		}
	}
	for _, r := range [][2]string{
		{"POST", "/api/v1/users/alice/listen"},
		{"PUT", "/api/v1/supervising/sessions/ses-sara/mode"},
		{"DELETE", "/api/v1/supervising/sessions/ses-sara"},
	} {
		var body any
		if r[0] == "PUT" {
			body = `{"mode":"whisper"}`
		}
		p := wantProblem(t, e.do(r[0], r[1], sara, body), http.StatusServiceUnavailable)
		if !strings.Contains(p.Detail, "unreachable") {
			t.Errorf("%s %s: detail %q, want the reason", r[0], r[1], p.Detail)
		}
	}
}

// With several Asterisk nodes, one node down: reads are stale (Stale
// names the node) while actions still pass (Live: another node is up;
// the action on the down node's call answers 503 by itself); /readyz
// reports each node beside its checks.
func TestLive_OneNodeDown(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) {
		c.Live = func() (bool, string) { return true, "" }
		c.Stale = func() (bool, string) { return false, "node b: connection refused" }
		c.Nodes = func() map[string]string { return map[string]string{"a": "ok", "b": "connection refused"} }
		c.Ready = map[string]httpapi.ReadyFunc{"ari": func() (bool, string) { return true, "" }}
	})
	sara := e.token("sara")
	w := e.do("GET", "/api/v1/supervising/sessions", sara, nil)
	wantStatus(t, w, http.StatusOK)
	var body struct {
		Stale       bool   `json:"stale"`
		StaleReason string `json:"stale_reason"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || !body.Stale || !strings.Contains(body.StaleReason, "node b") {
		t.Errorf("sessions with node b down: %s, want stale naming node b", w.Body)
	}
	// Not refused by the middleware: the fake session switches.
	wantStatus(t, e.do("PUT", "/api/v1/supervising/sessions/ses-sara/mode", sara, `{"mode":"whisper"}`), http.StatusOK)
	wantJSON(t, e.do("GET", "/readyz", "", nil), `{"ready":true,"checks":{"ari":"ok"},"nodes":{"a":"ok","b":"connection refused"}}`)
}
