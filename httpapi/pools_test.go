package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/earshot/earshot"
)

func TestPools_Get(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		w := e.do("GET", "/api/v1/pools", e.token("sara"), nil)
		wantStatus(t, w, http.StatusOK)
		wantJSON(t, w, `{"pools":[
			{"id":"sales","name":"Sales","number":"+35891234500","agents":2,"agents_on_call":1},
			{"id":"support","name":"Support","number":"+35891234501","agents":1,"agents_on_call":0}]}`)
	})
	t.Run("PoolScope", func(t *testing.T) {
		e := newEnv(t)
		w := e.do("GET", "/api/v1/pools", e.token("sam"), nil)
		wantJSON(t, w, `{"pools":[{"id":"support","name":"Support","number":"+35891234501","agents":1,"agents_on_call":0}]}`)
	})
	t.Run("CallInAnotherPool", func(t *testing.T) {
		// bob is in both pools; a call of support counts for support only.
		e := newEnv(t)
		e.calls.start(earshot.ServiceCall{ID: "call-b", Agent: "bob", Pool: "support", Since: t0})
		w := e.do("GET", "/api/v1/pools", e.token("sara"), nil)
		wantJSON(t, w, `{"pools":[
			{"id":"sales","name":"Sales","number":"+35891234500","agents":2,"agents_on_call":1},
			{"id":"support","name":"Support","number":"+35891234501","agents":1,"agents_on_call":1}]}`)
	})
}

func TestPoolUsers_Get(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		w := e.do("GET", "/api/v1/pools/sales/users", e.token("sara"), nil)
		wantStatus(t, w, http.StatusOK)
		wantJSON(t, w, `{"stale":false,"users":[
			{"id":"alice","name":"Alice","on_call":{"pool":"sales","call_id":"call-a","since":"2025-11-24T09:00:00Z","supervisors":[{"id":"sara","name":"Sara","mode":"listen"}]},"supervised":false},
			{"id":"bob","name":"Bob","on_call":null,"supervised":true}]}`)
	})
	t.Run("ErrPoolNotFound", func(t *testing.T) {
		e := newEnv(t)
		p := wantProblem(t, e.do("GET", "/api/v1/pools/nope/users", e.token("sara"), nil), http.StatusNotFound)
		if p.Detail != "no such pool" {
			t.Errorf("detail = %q", p.Detail)
		}
	})
	t.Run("ErrOutOfScope", func(t *testing.T) {
		// sam supervises support only: sales does not exist for him.
		e := newEnv(t)
		wantProblem(t, e.do("GET", "/api/v1/pools/sales/users", e.token("sam"), nil), http.StatusNotFound)
	})
}
