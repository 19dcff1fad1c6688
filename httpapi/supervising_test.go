package httpapi_test

import (
	"net/http"
	"slices"
	"testing"
)

func TestSupervisedUsers_Get(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		e.store.supervised["sara"] = []string{"alice", "bob", "ghost"} // ghost left the directory
		w := e.do("GET", "/api/v1/supervising/users", e.token("sara"), nil)
		wantStatus(t, w, http.StatusOK)
		wantJSON(t, w, `{"stale":false,"users":[
			{"id":"alice","name":"Alice","on_call":{"pool":"sales","call_id":"call-a","since":"2025-11-24T09:00:00Z","supervisors":[{"id":"sara","name":"Sara","mode":"listen"}]},"supervised":true},
			{"id":"bob","name":"Bob","on_call":null,"supervised":true}]}`)
	})
	t.Run("Empty", func(t *testing.T) {
		e := newEnv(t)
		wantJSON(t, e.do("GET", "/api/v1/supervising/users", e.token("nora"), nil), `{"stale":false,"users":[]}`)
	})
}

func TestSupervise_Put(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token("sara")
		for range 2 { // idempotent
			wantStatus(t, e.do("PUT", "/api/v1/supervising/users/alice", tok, nil), http.StatusNoContent)
		}
		if got := e.store.supervised["sara"]; !slices.Equal(got, []string{"alice", "bob"}) {
			t.Errorf("list = %v", got)
		}
	})
	cases := []struct {
		name, user string
		status     int
	}{
		{"ErrNotAnAgent", "nora", http.StatusUnprocessableEntity},
		{"ErrSelf", "sara", http.StatusUnprocessableEntity},
		{"ErrUserNotFound", "nobody", http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tok := e.token("sara")
			before := e.store.snapshot()
			wantProblem(t, e.do("PUT", "/api/v1/supervising/users/"+tc.user, tok, nil), tc.status)
			if e.store.snapshot() != before {
				t.Error("store changed")
			}
		})
	}
}

func TestUnsupervise_Delete(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token("sara")
		for range 2 { // idempotent
			wantStatus(t, e.do("DELETE", "/api/v1/supervising/users/bob", tok, nil), http.StatusNoContent)
		}
		if got := e.store.supervised["sara"]; len(got) != 0 {
			t.Errorf("list = %v", got)
		}
	})
	t.Run("StaleEntry", func(t *testing.T) {
		e := newEnv(t)
		e.store.supervised["sara"] = []string{"bob", "ghost"}
		wantStatus(t, e.do("DELETE", "/api/v1/supervising/users/ghost", e.token("sara"), nil), http.StatusNoContent)
		if got := e.store.supervised["sara"]; !slices.Equal(got, []string{"bob"}) {
			t.Errorf("list = %v", got)
		}
	})
	t.Run("ErrUserNotFound", func(t *testing.T) {
		e := newEnv(t)
		wantProblem(t, e.do("DELETE", "/api/v1/supervising/users/nobody", e.token("sara"), nil), http.StatusNotFound)
	})
}

func TestSettings_Get(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		wantJSON(t, e.do("GET", "/api/v1/supervising/settings", e.token("sara"), nil), `{"phone_number":"+358401234567"}`)
	})
	t.Run("Unset", func(t *testing.T) {
		e := newEnv(t)
		wantJSON(t, e.do("GET", "/api/v1/supervising/settings", e.token("nora"), nil), `{"phone_number":null}`)
	})
}

func TestSettings_Put(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token("nora")
		w := e.do("PUT", "/api/v1/supervising/settings", tok, `{"phone_number":"040 765 4321"}`)
		wantStatus(t, w, http.StatusOK)
		wantJSON(t, w, `{"phone_number":"+358407654321"}`)
		if got := e.store.users["nora"].PhoneNumber; got != "+358407654321" {
			t.Errorf("stored %q", got)
		}
		wantJSON(t, e.do("GET", "/api/v1/supervising/settings", tok, nil), `{"phone_number":"+358407654321"}`)
	})
	t.Run("Clear", func(t *testing.T) {
		e := newEnv(t)
		w := e.do("PUT", "/api/v1/supervising/settings", e.token("sara"), `{"phone_number":null}`)
		wantJSON(t, w, `{"phone_number":null}`)
		if got := e.store.users["sara"].PhoneNumber; got != "" {
			t.Errorf("stored %q", got)
		}
	})
	t.Run("ErrTaken", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token("sara")
		before := e.store.snapshot()
		p := wantProblem(t, e.do("PUT", "/api/v1/supervising/settings", tok, `{"phone_number":"+358 40 123 4568"}`), http.StatusConflict)
		if p.Type != "https://earshot.dev/problems/phone-number-taken" {
			t.Errorf("type = %s", p.Type)
		}
		if e.store.snapshot() != before {
			t.Error("store changed")
		}
	})
}
