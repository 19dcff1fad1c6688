package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/earshot/earshot/httpapi"
)

type access int

const (
	open        access = iota // no credentials
	anyUser                   // any signed-in user
	supervisors               // supervisors, feature on
	operators                 // the admin token
)

// route is one API route with a request that succeeds for sara (or the
// operator), and where ids appear, the same request with globex's ids.
type route struct {
	method, path string
	body         any
	access       access
	foreign      string // path with another organization's ids; "" if none
}

var routes = []route{
	{"GET", "/api/v1/openapi.json", nil, open, ""},
	{"POST", "/api/v1/auth/login", map[string]string{"username": "sara", "password": "secret"}, open, ""},
	{"GET", "/api/v1/me", nil, anyUser, ""},
	{"PUT", "/api/v1/devices/tok-1", map[string]string{"platform": "ios"}, anyUser, ""},
	{"DELETE", "/api/v1/devices/tok-1", nil, anyUser, ""},
	{"GET", "/api/v1/pools", nil, supervisors, ""},
	{"GET", "/api/v1/pools/sales/users", nil, supervisors, "/api/v1/pools/gsales/users"},
	{"GET", "/api/v1/users/alice", nil, supervisors, "/api/v1/users/gina"},
	{"POST", "/api/v1/users/alice/listen", nil, supervisors, "/api/v1/users/gina/listen"},
	{"GET", "/api/v1/supervising/users", nil, supervisors, ""},
	{"PUT", "/api/v1/supervising/users/alice", nil, supervisors, "/api/v1/supervising/users/gina"},
	{"DELETE", "/api/v1/supervising/users/bob", nil, supervisors, "/api/v1/supervising/users/gina"},
	{"GET", "/api/v1/supervising/settings", nil, supervisors, ""},
	{"PUT", "/api/v1/supervising/settings", map[string]string{"phone_number": "040 765 4321"}, supervisors, ""},
	{"GET", "/api/v1/supervising/sessions", nil, supervisors, ""},
	{"PUT", "/api/v1/supervising/sessions/ses-sara/mode", map[string]string{"mode": "whisper"}, supervisors, "/api/v1/supervising/sessions/ses-gus/mode"},
	{"DELETE", "/api/v1/supervising/sessions/ses-sara", nil, supervisors, "/api/v1/supervising/sessions/ses-gus"},
	{"PUT", "/api/v1/admin/orgs/acme/features/supervising", nil, operators, "/api/v1/admin/orgs/initech/features/supervising"},
	{"DELETE", "/api/v1/admin/orgs/acme/features/supervising", nil, operators, "/api/v1/admin/orgs/initech/features/supervising"},
	{"GET", "/api/v1/admin/audit?org=acme", nil, operators, "/api/v1/admin/audit?org=initech"},
	{"GET", "/api/v1/admin/users?org=acme", nil, operators, "/api/v1/admin/users?org=initech"},
	{"PUT", "/api/v1/admin/users/dave", map[string]any{"org": "acme", "roles": []string{"agent"}, "endpoint": "PJSIP/1009"}, operators, ""},
	{"DELETE", "/api/v1/admin/users/carl", nil, operators, "/api/v1/admin/users/nobody"},
	{"GET", "/api/v1/admin/pools?org=acme", nil, operators, "/api/v1/admin/pools?org=initech"},
	{"PUT", "/api/v1/admin/pools/sales", map[string]any{"org": "acme", "number": "09 1234 500", "members": []string{"alice"}}, operators, ""},
	{"DELETE", "/api/v1/admin/pools/support", nil, operators, "/api/v1/admin/pools/nopool"},
	{"POST", "/api/v1/admin/directory", yamlBody("organizations: [{id: acme}]\n"), operators, ""},
	{"GET", "/api/v1/admin/backup", nil, operators, ""},
}

// leaks are strings of the other organization no answer to sara may hold.
var leaks = []string{"globex", "gina", "gsales", "ses-gus", "call-g", "gus"}

func TestRoutes_Access(t *testing.T) {
	for _, r := range routes {
		name := r.method + " " + r.path
		t.Run(name+"/NoToken", func(t *testing.T) {
			if r.access == open {
				t.Skip("public route")
			}
			e := newEnv(t)
			w := e.do(r.method, r.path, "", r.body)
			wantProblem(t, w, http.StatusUnauthorized)
			if w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
		t.Run(name+"/Agent", func(t *testing.T) {
			e := newEnv(t)
			tok := e.token("carl")
			w := e.do(r.method, r.path, tok, r.body)
			switch r.access {
			case supervisors:
				wantProblem(t, w, http.StatusForbidden)
			case operators:
				wantProblem(t, w, http.StatusUnauthorized) // a user token is no admin token
			default:
				if w.Code >= 300 {
					t.Fatalf("status %d for an agent on %s: %s", w.Code, name, w.Body)
				}
			}
		})
		t.Run(name+"/OK", func(t *testing.T) {
			e := newEnv(t)
			tok := e.token("sara")
			if r.access == operators {
				tok = adminToken
			}
			w := e.do(r.method, r.path, tok, r.body)
			if w.Code >= 300 {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if r.access != operators && r.access != open {
				for _, s := range leaks {
					if strings.Contains(w.Body.String(), s) {
						t.Errorf("answer leaks %q: %s", s, w.Body)
					}
				}
			}
		})
		if r.foreign == "" {
			continue
		}
		t.Run(name+"/ErrOtherOrganization", func(t *testing.T) {
			e := newEnv(t)
			tok := e.token("sara")
			if r.access == operators {
				tok = adminToken
			}
			before := e.store.snapshot()
			w := e.do(r.method, r.foreign, tok, r.body)
			wantProblem(t, w, http.StatusNotFound)
			for _, s := range leaks {
				if strings.Contains(w.Body.String(), s) && !strings.Contains(r.foreign, s) {
					t.Errorf("answer leaks %q: %s", s, w.Body)
				}
			}
			if e.store.snapshot() != before {
				t.Error("store changed")
			}
			if len(e.super.Sessions("gus")) != 1 || e.super.Sessions("gus")[0].Mode != "listen" {
				t.Error("another supervisor's session changed")
			}
		})
	}
}

func TestRoutes_NotFoundAndMethod(t *testing.T) {
	e := newEnv(t)
	t.Run("ErrNoRoute", func(t *testing.T) {
		p := wantProblem(t, e.do("GET", "/api/v1/nope", "", nil), http.StatusNotFound)
		if p.Type != "about:blank" || !strings.Contains(p.Detail, "/api/v1/nope") {
			t.Errorf("problem = %+v", p)
		}
	})
	t.Run("ErrMethodNotAllowed", func(t *testing.T) {
		w := e.do("PATCH", "/api/v1/me", "", nil)
		p := wantProblem(t, w, http.StatusMethodNotAllowed)
		if !strings.Contains(w.Header().Get("Allow"), "GET") || !strings.Contains(p.Detail, "GET") {
			t.Errorf("Allow %q, detail %q", w.Header().Get("Allow"), p.Detail)
		}
	})
	t.Run("ErrOperatorRoutesOff", func(t *testing.T) {
		e2 := newEnv(t, func(c *httpapi.Config) { c.AdminToken = "" })
		wantProblem(t, e2.do("GET", "/api/v1/admin/audit", "", nil), http.StatusNotFound)
		wantProblem(t, e2.do("PUT", "/api/v1/admin/orgs/acme/features/supervising", "", nil), http.StatusNotFound)
		wantProblem(t, e2.do("GET", "/api/v1/admin/backup", "", nil), http.StatusNotFound)
		wantProblem(t, e2.do("POST", "/api/v1/admin/directory", "", yamlBody("users: []\n")), http.StatusNotFound)
	})
}
