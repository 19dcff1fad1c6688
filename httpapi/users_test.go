package httpapi_test

import (
	"net/http"
	"testing"
)

func TestUser_Get(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		w := e.do("GET", "/api/v1/users/alice", e.token("sara"), nil)
		wantStatus(t, w, http.StatusOK)
		wantJSON(t, w, `{"id":"alice","name":"Alice","on_call":{"pool":"sales","call_id":"call-a","since":"2025-11-24T09:00:00Z"},"supervised":false}`)
	})
	t.Run("CallOutOfScope", func(t *testing.T) {
		// sam may not see sales, so alice's call there is not shown.
		e := newEnv(t)
		wantJSON(t, e.do("GET", "/api/v1/users/alice", e.token("sam"), nil), `{"id":"alice","name":"Alice","on_call":null,"supervised":false}`)
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
