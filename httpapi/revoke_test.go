package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/httpapi"
)

// ended waits for the stream to close, skipping whatever comes first.
func ended(t *testing.T, ch <-chan sseEvent) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("the stream is still open")
		}
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	ts := newStreamServer(t, e)
	tok, other := e.token("sara"), e.token("sara")
	stream := openStream(t, ts, tok)
	wantStatus(t, e.do("POST", "/api/v1/auth/logout", tok, nil), http.StatusNoContent)
	wantProblem(t, e.do("GET", "/api/v1/me", tok, nil), http.StatusUnauthorized)
	wantProblem(t, e.do("POST", "/api/v1/auth/logout", tok, nil), http.StatusUnauthorized)
	ended(t, stream)
	// The same user's other token (another device) keeps working.
	wantStatus(t, e.do("GET", "/api/v1/me", other, nil), http.StatusOK)
	wantProblem(t, e.do("POST", "/api/v1/auth/logout", "", nil), http.StatusUnauthorized)
}

func TestRevocation(t *testing.T) {
	put := func(e *env, id string, body map[string]any) {
		e.t.Helper()
		wantStatus(e.t, e.do("PUT", "/api/v1/admin/users/"+id, adminToken, body), http.StatusOK)
	}
	sara := map[string]any{"org": "acme", "name": "Sara", "roles": []string{"supervisor"}}
	for _, tt := range []struct {
		name   string
		change func(e *env)
		// whether sara's token, stream and session (ses-sara) go
		revoked bool
		reason  earshot.EndReason
	}{
		{"Deleted", func(e *env) {
			wantStatus(e.t, e.do("DELETE", "/api/v1/admin/users/sara", adminToken, nil), http.StatusNoContent)
		}, true, earshot.EndAccessRevoked},
		{"PasswordChanged", func(e *env) {
			put(e, "sara", map[string]any{"org": "acme", "name": "Sara", "roles": []string{"supervisor"}, "password": "new-secret"})
		}, true, earshot.EndAccessRevoked},
		{"RoleRemoved", func(e *env) {
			put(e, "sara", map[string]any{"org": "acme", "name": "Sara", "roles": []string{"agent"}, "endpoint": "PJSIP/1009"})
		}, true, earshot.EndAccessRevoked},
		{"ScopeNarrowed", func(e *env) {
			put(e, "sara", map[string]any{"org": "acme", "name": "Sara", "roles": []string{"supervisor"}, "pools": []string{"support"}})
		}, true, earshot.EndAccessRevoked},
		{"RenamedOnly", func(e *env) { put(e, "sara", sara) }, false, ""},
		{"FeatureOff", func(e *env) {
			wantStatus(e.t, e.do("DELETE", "/api/v1/admin/orgs/acme/features/supervising", adminToken, nil), http.StatusNoContent)
		}, false, earshot.EndFeatureOff},
		{"Imported", func(e *env) {
			wantStatus(e.t, e.do("POST", "/api/v1/admin/directory", adminToken, yamlBody(`organizations: [{id: acme, name: Acme Oy}]
users: [{id: sara, org: acme, name: Sara, roles: [supervisor], pools: [sales]}]
pools: [{id: sales, org: acme, name: Sales, number: "+35891234500", members: []}]`)), http.StatusOK)
		}, true, earshot.EndAccessRevoked},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ts := newStreamServer(t, e)
			tok := e.token("sara")
			stream := openStream(t, ts, tok)
			tt.change(e)
			wantEnded := []string(nil)
			if tt.reason != "" {
				wantEnded = []string{"ses-sara " + string(tt.reason)}
			}
			if got := e.super.endedList(); !slices.Equal(got, wantEnded) {
				t.Errorf("sessions ended = %v, want %v", got, wantEnded)
			}
			w := e.do("GET", "/api/v1/me", tok, nil)
			switch {
			case tt.revoked:
				wantProblem(t, w, http.StatusUnauthorized)
				ended(t, stream)
			case tt.reason == earshot.EndFeatureOff:
				wantStatus(t, w, http.StatusOK)
				ended(t, stream)
			default:
				wantStatus(t, w, http.StatusOK)
				e.calls.start(earshot.ServiceCall{ID: "call-b", Agent: "bob", Pool: "sales", Since: t0})
				if ev := next(t, stream); ev.name != "call_started" {
					t.Fatalf("event %+v", ev)
				}
			}
			// Others are untouched.
			if _, ok := e.super.sessions["ses-gus"]; !ok {
				t.Error("gus's session ended too")
			}
		})
	}
}

// TestEvents_Scope: a stream follows the pool scope as it is now; a
// narrowed scope revokes the token, and the stream ends before any event
// of the removed pool reaches it.
func TestEvents_Scope(t *testing.T) {
	e := newEnv(t)
	ts := newStreamServer(t, e)
	stream := openStream(t, ts, e.token("sara"))
	e.calls.start(earshot.ServiceCall{ID: "call-1", Agent: "bob", Pool: "sales", Since: t0})
	if ev := next(t, stream); ev.name != "call_started" || !strings.Contains(ev.data, `"pool":"sales"`) {
		t.Fatalf("event %+v", ev)
	}
	wantStatus(t, e.do("PUT", "/api/v1/admin/users/sara", adminToken,
		map[string]any{"org": "acme", "name": "Sara", "roles": []string{"supervisor"}, "pools": []string{"support"}}), http.StatusOK)
	e.calls.start(earshot.ServiceCall{ID: "call-2", Agent: "alice", Pool: "sales", Since: t0})
	for ev := range stream {
		if ev.name == "call_started" {
			t.Fatalf("an event of the removed pool arrived: %+v", ev)
		}
	}
}

func TestEvents_PerUserCap(t *testing.T) {
	e := newEnv(t)
	ts := newStreamServer(t, e)
	tok := e.token("sara")
	for range 5 {
		openStream(t, ts, tok)
	}
	req, _ := http.NewRequest("GET", ts.URL+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Content-Type") != "application/problem+json" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("6th stream: %d %q Retry-After %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After"))
	}
	// Another user is not affected.
	openStream(t, ts, e.token("sam"))
	if n := httpapi.StreamsOpen(e.srv); n != 6 {
		t.Fatalf("%d streams open, want 6", n)
	}
}

func TestOperator_Throttle(t *testing.T) {
	e := newEnv(t)
	admin := func(addr, token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/api/v1/admin/users?org=acme", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		r.RemoteAddr = addr
		w := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(w, r)
		return w
	}
	// Parallel wrong tokens: the limit holds.
	codes := make(chan int, 30)
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() { codes <- admin("198.51.100.7:1", fmt.Sprint("guess-", i)).Code })
	}
	wg.Wait()
	close(codes)
	got := map[int]int{}
	for c := range codes {
		got[c]++
	}
	if got[http.StatusUnauthorized] != 10 || got[http.StatusTooManyRequests] != 20 {
		t.Fatalf("answers %v, want 10×401, 20×429", got)
	}
	w := admin("198.51.100.7:1", adminToken)
	wantProblem(t, w, http.StatusTooManyRequests)
	if w.Header().Get("Retry-After") != "300" {
		t.Errorf("Retry-After = %q", w.Header().Get("Retry-After"))
	}
	// Other addresses are not; right tokens do not count.
	for range 20 {
		wantStatus(t, admin("198.51.100.8:1", adminToken), http.StatusOK)
	}
	e.clock.Advance(5 * time.Minute)
	wantStatus(t, admin("198.51.100.7:1", adminToken), http.StatusOK)
}
