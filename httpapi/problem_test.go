package httpapi_test

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/httpapi"
	"github.com/earshot/earshot/internal/logbuf"
)

func TestProblem_StatusTable(t *testing.T) {
	cases := []struct {
		code   string
		status int
	}{
		{earshot.EINVALID, 400},
		{earshot.EUNPROCESSABLE, 422},
		{earshot.ENOTFOUND, 404},
		{earshot.ECONFLICT, 409},
		{earshot.EFORBIDDEN, 403},
		{earshot.EUNAUTHORIZED, 401},
		{earshot.EUNAVAILABLE, 503},
		{earshot.EINTERNAL, 500},
	}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			e := newEnv(t)
			e.offContract = true // GET /pools cannot really answer most of these
			e.store.PoolsOfFunc = func(string) ([]earshot.Pool, error) {
				return nil, earshot.Errorf(tc.code, "message for people")
			}
			p := wantProblem(t, e.do("GET", "/api/v1/pools", e.token("sara"), nil), tc.status)
			if want := "message for people"; tc.status != 500 && p.Detail != want {
				t.Errorf("detail = %q, want %q", p.Detail, want)
			}
		})
	}
}

func TestProblem_Internal(t *testing.T) {
	cases := []struct {
		name string
		fail func(string) ([]earshot.Pool, error)
	}{
		{"Error", func(string) ([]earshot.Pool, error) { return nil, errors.New("disk on fire") }},
		{"Panic", func(string) ([]earshot.Pool, error) { panic("disk on fire") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs logbuf.Buffer
			e := newEnv(t, func(c *httpapi.Config) { c.Log = slog.New(slog.NewTextHandler(&logs, nil)) })
			e.store.PoolsOfFunc = tc.fail
			w := e.do("GET", "/api/v1/pools", e.token("sara"), nil)
			p := wantProblem(t, w, http.StatusInternalServerError)
			if p.Detail != "internal error" || strings.Contains(w.Body.String(), "fire") {
				t.Errorf("problem tells too much: %s", w.Body)
			}
			if !strings.Contains(logs.String(), "disk on fire") || !strings.Contains(logs.String(), "request_id="+p.RequestID) {
				t.Errorf("log lacks the cause or request id %s:\n%s", p.RequestID, logs.String())
			}
			// The server keeps serving.
			wantStatus(t, e.do("GET", "/api/v1/me", e.token("sara"), nil), http.StatusOK)
		})
	}
}

func TestProblem_RequestID(t *testing.T) {
	e := newEnv(t)
	r := e.raw("GET", "/api/v1/me", "", "", "")
	if p := wantProblem(t, r, http.StatusUnauthorized); p.RequestID != r.Header().Get("X-Request-Id") {
		t.Errorf("request_id %q, header %q", p.RequestID, r.Header().Get("X-Request-Id"))
	}
}

func TestHealth_Get(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, func(c *httpapi.Config) {
			c.Ready = map[string]httpapi.ReadyFunc{"ari": func() (bool, string) { return true, "" }}
		})
		wantJSON(t, e.do("GET", "/healthz", "", nil), `{"status":"ok"}`)
		wantJSON(t, e.do("GET", "/readyz", "", nil), `{"ready":true,"checks":{"ari":"ok"}}`)
	})
	t.Run("ErrNotReady", func(t *testing.T) {
		e := newEnv(t, func(c *httpapi.Config) {
			c.Ready = map[string]httpapi.ReadyFunc{"ari": func() (bool, string) { return false, "not connected" }}
		})
		w := e.do("GET", "/readyz", "", nil)
		wantStatus(t, w, http.StatusServiceUnavailable)
		wantJSON(t, w, `{"ready":false,"checks":{"ari":"not connected"}}`)
	})
}

func TestNew(t *testing.T) {
	cases := []struct {
		name string
		edit func(*httpapi.Config)
	}{
		{"ErrNoStore", func(c *httpapi.Config) { c.Store = nil }},
		{"ErrShortKey", func(c *httpapi.Config) { c.TokenKey = []byte("short") }},
		{"ErrSupervisingNumber", func(c *httpapi.Config) { c.SupervisingNumber = "0912345" }},
		{"ErrRegion", func(c *httpapi.Config) { c.DefaultRegion = "XX" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			cfg := httpapi.Config{Store: e.store, Calls: e.calls, Offers: e.offers, Supervising: e.super,
				SupervisingNumber: supervisingNumber, TokenKey: make([]byte, 32)}
			if _, err := httpapi.New(cfg); err != nil {
				t.Fatalf("valid config: %v", err)
			}
			tc.edit(&cfg)
			if _, err := httpapi.New(cfg); err == nil {
				t.Error("New accepted a bad config")
			}
		})
	}
}
