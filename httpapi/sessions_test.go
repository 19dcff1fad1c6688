package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/earshot/earshot"
)

func TestSessions_Get(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		w := e.do("GET", "/api/v1/supervising/sessions", e.token("sara"), nil)
		wantStatus(t, w, http.StatusOK)
		wantJSON(t, w, `{"sessions":[{"id":"ses-sara","agent":"alice","pool":"sales","mode":"listen","started_at":"2025-11-24T09:00:00Z","leg":"phone"}],"stale":false}`)
	})
	t.Run("None", func(t *testing.T) {
		e := newEnv(t)
		wantJSON(t, e.do("GET", "/api/v1/supervising/sessions", e.token("sam"), nil), `{"sessions":[],"stale":false}`)
	})
}

func TestSessionMode_Put(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token("sara")
		for _, m := range []string{"whisper", "barge", "listen", "barge"} { // R5: any order, any number of times
			w := e.do("PUT", "/api/v1/supervising/sessions/ses-sara/mode", tok, map[string]string{"mode": m})
			wantStatus(t, w, http.StatusOK)
			wantJSON(t, w, `{"id":"ses-sara","agent":"alice","pool":"sales","mode":"`+m+`","started_at":"2025-11-24T09:00:00Z","leg":"phone"}`)
			if got := e.super.Sessions("sara")[0].Mode; string(got) != m {
				t.Fatalf("mode %s, want %s", got, m)
			}
		}
	})
	t.Run("ErrInvalidMode", func(t *testing.T) {
		e := newEnv(t)
		p := wantProblem(t, e.do("PUT", "/api/v1/supervising/sessions/ses-sara/mode", e.token("sara"), `{"mode":"spy"}`), http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Field != "mode" {
			t.Errorf("errors = %+v", p.Errors)
		}
		if e.super.Sessions("sara")[0].Mode != earshot.ModeListen {
			t.Error("mode changed")
		}
	})
	t.Run("ErrSessionNotFound", func(t *testing.T) {
		// sam is a supervisor of the same organization: sara's session is
		// not his to see.
		e := newEnv(t)
		wantProblem(t, e.do("PUT", "/api/v1/supervising/sessions/ses-sara/mode", e.token("sam"), `{"mode":"barge"}`), http.StatusNotFound)
		if e.super.Sessions("sara")[0].Mode != earshot.ModeListen {
			t.Error("mode changed")
		}
	})
	t.Run("ErrUnavailable", func(t *testing.T) {
		e := newEnv(t)
		e.super.SetModeFunc = func(context.Context, string, earshot.Mode) error { return earshot.ErrUnavailable }
		p := wantProblem(t, e.do("PUT", "/api/v1/supervising/sessions/ses-sara/mode", e.token("sara"), `{"mode":"barge"}`), http.StatusServiceUnavailable)
		if p.Type != "https://earshot.dev/problems/unavailable" {
			t.Errorf("type = %s", p.Type)
		}
	})
	t.Run("ErrUnanswered", func(t *testing.T) {
		// Asterisk did not answer the switch in time: the same type, the
		// session's words (the mode it is still in), not "internal error".
		e := newEnv(t)
		e.super.SetModeFunc = func(context.Context, string, earshot.Mode) error {
			return earshot.Errorf(earshot.EUNAVAILABLE, "the phone system did not answer in time: the session is still in whisper; try again")
		}
		p := wantProblem(t, e.do("PUT", "/api/v1/supervising/sessions/ses-sara/mode", e.token("sara"), `{"mode":"barge"}`), http.StatusServiceUnavailable)
		if p.Type != "https://earshot.dev/problems/unavailable" || p.Detail != "the phone system did not answer in time: the session is still in whisper; try again" {
			t.Errorf("problem = %+v", p)
		}
	})
}

func TestSession_Delete(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		wantStatus(t, e.do("DELETE", "/api/v1/supervising/sessions/ses-sara", e.token("sara"), nil), http.StatusNoContent)
		if len(e.super.Sessions("sara")) != 0 {
			t.Error("session still live")
		}
	})
	t.Run("ErrSessionNotFound", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token("sam")
		wantProblem(t, e.do("DELETE", "/api/v1/supervising/sessions/ses-sara", tok, nil), http.StatusNotFound)
		wantProblem(t, e.do("DELETE", "/api/v1/supervising/sessions/nope", tok, nil), http.StatusNotFound)
		if len(e.super.Sessions("sara")) != 1 {
			t.Error("sara's session ended")
		}
	})
}
