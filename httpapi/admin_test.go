package httpapi_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/earshot/earshot"
)

func TestAdminFeature_Put(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		e.store.orgs["acme"] = earshot.Organization{ID: "acme"}
		wantStatus(t, e.do("PUT", "/api/v1/admin/orgs/acme/features/supervising", adminToken, nil), http.StatusNoContent)
		if !e.store.orgs["acme"].Has(earshot.FeatureSupervising) {
			t.Error("feature still off")
		}
		if ended := e.super.endedList(); len(ended) != 0 {
			t.Errorf("sessions ended: %v", ended)
		}
	})
	cases := []struct {
		name, token, org string
		status           int
	}{
		{"ErrWrongToken", "not-the-token", "acme", http.StatusUnauthorized},
		{"ErrUserToken", "", "acme", http.StatusUnauthorized},
		{"ErrOrgNotFound", adminToken, "initech", http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			before := e.store.snapshot()
			for _, method := range []string{"PUT", "DELETE"} {
				wantProblem(t, e.do(method, "/api/v1/admin/orgs/"+tc.org+"/features/supervising", tc.token, nil), tc.status)
			}
			if e.store.snapshot() != before || len(e.super.endedList()) != 0 {
				t.Error("state changed")
			}
		})
	}
}

func TestAdminFeature_Delete(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		wantStatus(t, e.do("DELETE", "/api/v1/admin/orgs/acme/features/supervising", adminToken, nil), http.StatusNoContent)
		if e.store.orgs["acme"].Has(earshot.FeatureSupervising) || !e.store.orgs["globex"].Has(earshot.FeatureSupervising) {
			t.Errorf("orgs = %v", e.store.orgs)
		}
		// acme's session ends; globex's goes on.
		if ended := e.super.endedList(); !slices.Equal(ended, []string{"ses-sara feature_off"}) {
			t.Errorf("sessions ended = %v", ended)
		}
	})
}

func TestAudit_Get(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		w := e.do("GET", "/api/v1/admin/audit?org=acme", adminToken, nil)
		wantStatus(t, w, http.StatusOK)
		wantJSON(t, w, `{"entries":[
			{"seq":4,"time":"2025-11-24T09:00:00Z","kind":"end","org":"acme","supervisor":"sara"},
			{"seq":3,"time":"2025-11-24T09:00:00Z","kind":"mode","org":"acme","supervisor":"sara","mode":"whisper"},
			{"seq":1,"time":"2025-11-24T09:00:00Z","kind":"connect","org":"acme","supervisor":"sara","agent":"alice"}],
			"next_before":null}`)
	})
	t.Run("Paging", func(t *testing.T) {
		e := newEnv(t)
		page := decodeAs[struct {
			Entries    []struct{ Seq uint64 }
			NextBefore *uint64 `json:"next_before"`
		}](t, e.do("GET", "/api/v1/admin/audit?limit=2", adminToken, nil))
		if len(page.Entries) != 2 || page.Entries[0].Seq != 4 || page.NextBefore == nil || *page.NextBefore != 3 {
			t.Fatalf("page = %+v", page)
		}
		wantStatus(t, e.do("GET", "/api/v1/admin/audit?before=3&limit=2", adminToken, nil), http.StatusOK)
		if got := e.store.auditArgs; !slices.Equal(got, []string{" 0 2", " 3 2"}) {
			t.Errorf("store asked %q", got)
		}
	})
	cases := []struct{ name, query, field string }{
		{"ErrBefore", "before=-1", "before"},
		{"ErrLimitZero", "limit=0", "limit"},
		{"ErrLimitHuge", "limit=100000", "limit"},
		{"ErrLimitText", "limit=ten", "limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p := wantProblem(t, e.do("GET", "/api/v1/admin/audit?"+tc.query, adminToken, nil), http.StatusBadRequest)
			if len(p.Errors) != 1 || p.Errors[0].Field != tc.field {
				t.Errorf("errors = %+v", p.Errors)
			}
			if len(e.store.auditArgs) != 0 {
				t.Error("store asked")
			}
		})
	}
}
