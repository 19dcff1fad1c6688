package httpapi_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/earshot/earshot"
)

func TestAdminPools_Get(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		w := e.do("GET", "/api/v1/admin/pools?org=acme", adminToken, nil)
		wantStatus(t, w, http.StatusOK)
		wantJSON(t, w, `{"pools":[
			{"id":"sales","org":"acme","name":"Sales","number":"+35891234500","members":["alice","bob"]},
			{"id":"support","org":"acme","name":"Support","number":"+35891234501","members":["bob"]}]}`)
	})
	t.Run("ErrOrgMissing", func(t *testing.T) {
		e := newEnv(t)
		p := wantProblem(t, e.do("GET", "/api/v1/admin/pools?org=", adminToken, nil), http.StatusBadRequest)
		if len(p.Errors) != 1 || p.Errors[0].Field != "org" {
			t.Errorf("errors = %+v", p.Errors)
		}
	})
	t.Run("ErrOrgNotFound", func(t *testing.T) {
		e := newEnv(t)
		wantProblem(t, e.do("GET", "/api/v1/admin/pools?org=initech", adminToken, nil), http.StatusNotFound)
	})
	t.Run("ErrStore", func(t *testing.T) {
		e := newEnv(t)
		e.store.PoolsOfFunc = func(string) ([]earshot.Pool, error) { return nil, errors.New("disk on fire") }
		p := wantProblem(t, e.do("GET", "/api/v1/admin/pools?org=acme", adminToken, nil), http.StatusInternalServerError)
		if strings.Contains(p.Detail, "fire") {
			t.Errorf("internal error shown: %q", p.Detail)
		}
	})
}

func TestAdminPool_Put(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		w := e.do("PUT", "/api/v1/admin/pools/billing", adminToken, map[string]any{
			"org": "acme", "name": "Billing", "number": "09 1234 502", "members": []string{"carl", "alice"},
		})
		wantStatus(t, w, http.StatusOK)
		wantJSON(t, w, `{"id":"billing","org":"acme","name":"Billing","number":"+35891234502","members":["carl","alice"]}`)
		if p := e.store.pools["billing"]; p.Number != "+35891234502" || !slices.Equal(p.Members, []string{"carl", "alice"}) {
			t.Errorf("stored %+v", p)
		}
	})
	t.Run("Replace", func(t *testing.T) {
		e := newEnv(t)
		w := e.do("PUT", "/api/v1/admin/pools/sales", adminToken, map[string]any{"org": "acme"})
		wantStatus(t, w, http.StatusOK)
		wantJSON(t, w, `{"id":"sales","org":"acme","name":"sales","number":null,"members":[]}`)
	})

	pool := func(edit func(map[string]any)) map[string]any {
		b := map[string]any{"org": "acme", "name": "Billing", "number": "+35891234502", "members": []string{"carl"}}
		edit(b)
		return b
	}
	cases := []struct {
		name, pool string
		body       map[string]any
		status     int
		fields     []string
		detail     string // in the first field error
	}{
		{"ErrOrgMissing", "billing", pool(func(b map[string]any) { b["org"] = "" }), 422, []string{"org"}, "is required"},
		{"ErrOrgNotFound", "billing", pool(func(b map[string]any) { b["org"] = "initech" }), 422, []string{"org"}, `"initech" does not exist`},
		{"ErrNumber", "billing", pool(func(b map[string]any) { b["number"] = "12" }), 422, []string{"number"}, "not a valid number"},
		{"ErrMemberNotFound", "billing", pool(func(b map[string]any) { b["members"] = []string{"ghost"} }), 422, []string{"members"}, `"ghost" does not exist`},
		{"ErrMemberOtherOrg", "billing", pool(func(b map[string]any) { b["members"] = []string{"gina"} }), 422, []string{"members"}, `"gina" is in organization "globex"`},
		{"ErrMemberNotAgent", "billing", pool(func(b map[string]any) { b["members"] = []string{"sara"} }), 422, []string{"members"}, `"sara" is not an agent`},
		{"ErrMemberTwice", "billing", pool(func(b map[string]any) { b["members"] = []string{"carl", "carl"} }), 422, []string{"members"}, "listed twice"},
		{"ErrSeveral", "billing", map[string]any{"number": "abc", "members": []string{"ghost", "sara"}}, 422,
			[]string{"org", "number", "members", "members"}, "is required"},
		{"ErrBadID", "a;b", pool(func(map[string]any) {}), 400, []string{"pool"}, "may contain only"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			before := e.store.snapshot()
			p := wantProblem(t, e.do("PUT", "/api/v1/admin/pools/"+tc.pool, adminToken, tc.body), tc.status)
			var fields []string
			for _, fe := range p.Errors {
				fields = append(fields, fe.Field)
			}
			if !slices.Equal(fields, tc.fields) {
				t.Errorf("fields %q, want %q: %s", fields, tc.fields, p.Detail)
			}
			if len(p.Errors) > 0 && !strings.Contains(p.Errors[0].Detail, tc.detail) {
				t.Errorf("detail %q lacks %q", p.Errors[0].Detail, tc.detail)
			}
			if e.store.snapshot() != before {
				t.Error("store changed")
			}
		})
	}
}

func TestAdminPool_Delete(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		wantStatus(t, e.do("DELETE", "/api/v1/admin/pools/support", adminToken, nil), http.StatusNoContent)
		if _, ok := e.store.pools["support"]; ok {
			t.Error("support still stored")
		}
		if _, ok := e.store.pools["sales"]; !ok {
			t.Error("sales deleted")
		}
	})
	t.Run("ErrPoolNotFound", func(t *testing.T) {
		e := newEnv(t)
		before := e.store.snapshot()
		p := wantProblem(t, e.do("DELETE", "/api/v1/admin/pools/nopool", adminToken, nil), http.StatusNotFound)
		if p.Detail != earshot.ErrPoolNotFound.Message {
			t.Errorf("detail %q", p.Detail)
		}
		if e.store.snapshot() != before {
			t.Error("store changed")
		}
	})
}
