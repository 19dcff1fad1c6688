package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/earshot/earshot/httpapi"
)

// A token the server has checked once is remembered, and still judged on
// every request: it expires with the clock, a changed byte makes it
// invalid, and signing out or a new password ends it.
func TestAuthenticate_RememberedToken(t *testing.T) {
	// flip changes the byte at i (from the end when negative).
	flip := func(tok string, i int) string {
		if i < 0 {
			i += len(tok)
		}
		b := []byte(tok)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	cases := []struct {
		name string
		// after returns the token to send once the good one was used,
		// with what else the case does to the server.
		after func(e *env, tok string) string
		want  int
	}{
		{"Again", func(_ *env, tok string) string { return tok }, http.StatusOK},
		{"Expired", func(e *env, tok string) string {
			e.clock.Advance(httpapi.DefaultTokenTTL + time.Second)
			return tok
		}, http.StatusUnauthorized},
		{"SignatureChanged", func(_ *env, tok string) string { return flip(tok, -2) }, http.StatusUnauthorized},
		{"ClaimsChanged", func(_ *env, tok string) string { return flip(tok, 40) }, http.StatusUnauthorized},
		{"SignedOut", func(e *env, tok string) string {
			wantStatus(t, e.do("POST", "/api/v1/auth/logout", tok, nil), http.StatusNoContent)
			return tok
		}, http.StatusUnauthorized},
		{"UserDeleted", func(e *env, tok string) string {
			delete(e.store.users, "sara")
			return tok
		}, http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tok := e.token("sara")
			wantStatus(t, e.do("GET", "/api/v1/me", tok, nil), http.StatusOK)
			send := tc.after(e, tok)
			w := e.do("GET", "/api/v1/me", send, nil)
			if tc.want == http.StatusOK {
				wantStatus(t, w, tc.want)
			} else {
				wantProblem(t, w, tc.want)
			}
		})
	}
}
