package httpapi_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/earshot/earshot"
)

func TestAdminUsers_Get(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		w := e.do("GET", "/api/v1/admin/users?org=globex", adminToken, nil)
		wantStatus(t, w, http.StatusOK)
		wantJSON(t, w, `{"users":[
			{"id":"gina","org":"globex","name":"Gina","roles":["agent"],"endpoint":"PJSIP/2001","endpoints":[],"phone_number":null,"pools":[],"password_set":true},
			{"id":"gus","org":"globex","name":"Gus","roles":["supervisor"],"endpoint":null,"endpoints":[],"phone_number":"+358401234569","pools":[],"password_set":true}]}`)
		if strings.Contains(w.Body.String(), "$2") {
			t.Errorf("answer holds a password hash: %s", w.Body)
		}
	})
	cases := []struct {
		name, query string
		status      int
		field       string
	}{
		{"ErrOrgMissing", "", http.StatusBadRequest, "org"},
		{"ErrOrgNotFound", "?org=initech", http.StatusNotFound, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p := wantProblem(t, e.do("GET", "/api/v1/admin/users"+tc.query, adminToken, nil), tc.status)
			if tc.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tc.field) {
				t.Errorf("errors = %+v", p.Errors)
			}
		})
	}
}

func TestAdminUser_Put(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		w := e.do("PUT", "/api/v1/admin/users/dave", adminToken, map[string]any{
			"org": "acme", "roles": []string{"agent"}, "endpoint": "PJSIP/1009",
		})
		wantStatus(t, w, http.StatusOK)
		wantJSON(t, w, `{"id":"dave","org":"acme","name":"dave","roles":["agent"],"endpoint":"PJSIP/1009","endpoints":[],
			"phone_number":null,"pools":[],"password_set":false}`)
		if u := e.store.users["dave"]; u.Org != "acme" || u.Endpoint != "PJSIP/1009" || u.PasswordHash != "" {
			t.Errorf("stored %+v", u)
		}
	})
	t.Run("Endpoints", func(t *testing.T) {
		// Several phones of one agent, or none (then the agent leg's
		// EARSHOT_AGENT variable binds them).
		e := newEnv(t)
		w := e.do("PUT", "/api/v1/admin/users/dave", adminToken, map[string]any{
			"org": "acme", "roles": []string{"agent"}, "endpoints": []string{"PJSIP/1009", "PJSIP/1009-soft"},
		})
		wantStatus(t, w, http.StatusOK)
		wantJSON(t, w, `{"id":"dave","org":"acme","name":"dave","roles":["agent"],"endpoint":null,"endpoints":["PJSIP/1009","PJSIP/1009-soft"],
			"phone_number":null,"pools":[],"password_set":false}`)
		if u := e.store.users["dave"]; u.Endpoint != "" || !slices.Equal(u.Endpoints, []string{"PJSIP/1009", "PJSIP/1009-soft"}) {
			t.Errorf("stored %+v", u)
		}
		w = e.do("PUT", "/api/v1/admin/users/dave", adminToken, map[string]any{"org": "acme", "roles": []string{"agent"}})
		wantStatus(t, w, http.StatusOK)
		if u := e.store.users["dave"]; len(u.AgentEndpoints()) != 0 {
			t.Errorf("stored %+v, want no endpoints", u)
		}
	})
	t.Run("Supervisor", func(t *testing.T) {
		e := newEnv(t)
		w := e.do("PUT", "/api/v1/admin/users/vera", adminToken, map[string]any{
			"org": "acme", "name": "Vera", "roles": []string{"supervisor", "agent"}, "endpoint": "Local/vera@phones",
			"phone_number": "040 111 2233", "pools": []string{"sales"}, "password": "hunter2",
		})
		wantStatus(t, w, http.StatusOK)
		wantJSON(t, w, `{"id":"vera","org":"acme","name":"Vera","roles":["supervisor","agent"],"endpoint":"Local/vera@phones","endpoints":[],
			"phone_number":"+358401112233","pools":["sales"],"password_set":true}`)
		hash := e.store.users["vera"].PasswordHash
		if bcrypt.CompareHashAndPassword([]byte(hash), []byte("hunter2")) != nil {
			t.Errorf("stored hash %q does not match the password", hash)
		}
		// The new user signs in with it.
		wantStatus(t, e.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "vera", "password": "hunter2"}), http.StatusOK)
	})
	t.Run("ReplaceKeepsPhoneAndPassword", func(t *testing.T) {
		e := newEnv(t)
		before := e.store.users["sara"]
		w := e.do("PUT", "/api/v1/admin/users/sara", adminToken, map[string]any{
			"org": "acme", "name": "Sara S.", "roles": []string{"supervisor"}, "phone_number": nil,
		})
		wantStatus(t, w, http.StatusOK)
		after := e.store.users["sara"]
		if after.Name != "Sara S." || after.PhoneNumber != before.PhoneNumber || after.PasswordHash != before.PasswordHash {
			t.Errorf("stored %+v", after)
		}
		if !strings.Contains(w.Body.String(), `"phone_number":"+358401234567"`) {
			t.Errorf("answer %s", w.Body)
		}
	})
	t.Run("ClearPhone", func(t *testing.T) {
		e := newEnv(t)
		w := e.do("PUT", "/api/v1/admin/users/sara", adminToken, map[string]any{
			"org": "acme", "roles": []string{"supervisor"}, "phone_number": "",
		})
		wantStatus(t, w, http.StatusOK)
		if got := e.store.users["sara"].PhoneNumber; got != "" {
			t.Errorf("phone number %q kept", got)
		}
	})

	agent := func(edit func(map[string]any)) map[string]any {
		b := map[string]any{"org": "acme", "name": "Dave", "roles": []string{"agent"}, "endpoint": "PJSIP/1009"}
		edit(b)
		return b
	}
	cases := []struct {
		name, user string
		body       map[string]any
		status     int
		fields     []string // field errors, in order
		detail     string   // in the first field error
	}{
		{"ErrOrgMissing", "dave", agent(func(b map[string]any) { delete(b, "org") }), 422, []string{"org"}, "is required"},
		{"ErrOrgNotFound", "dave", agent(func(b map[string]any) { b["org"] = "initech" }), 422, []string{"org"}, `"initech" does not exist`},
		{"ErrNoRoles", "dave", agent(func(b map[string]any) { b["roles"] = []string{}; delete(b, "endpoint") }), 422, []string{"roles"}, "at least one"},
		{"ErrUnknownRole", "dave", agent(func(b map[string]any) { b["roles"] = []string{"agent", "admin"} }), 422, []string{"roles"}, `"admin" is not one of`},
		{"ErrRoleTwice", "dave", agent(func(b map[string]any) { b["roles"] = []string{"agent", "agent"} }), 422, []string{"roles"}, "listed twice"},
		{"ErrEndpointAndEndpoints", "dave", agent(func(b map[string]any) { b["endpoints"] = []string{"PJSIP/1010"} }), 422, []string{"endpoints"}, "not both"},
		{"ErrEndpointsTwice", "dave", agent(func(b map[string]any) { delete(b, "endpoint"); b["endpoints"] = []string{"PJSIP/1010", "pjsip/1010"} }), 422, []string{"endpoints"}, `"pjsip/1010" is listed twice`},
		{"ErrEndpointsForm", "dave", agent(func(b map[string]any) { delete(b, "endpoint"); b["endpoints"] = []string{"PJSIP/1010", "1011"} }), 422, []string{"endpoints"}, `"1011" is not of the form TECH/resource`},
		{"ErrEndpointsTooMany", "dave", agent(func(b map[string]any) {
			delete(b, "endpoint")
			b["endpoints"] = strings.Split(strings.Repeat("PJSIP/x,", 1000), ",")
		}), 422, []string{"endpoints"}, "lists 1001 endpoints; at most 32"},
		{"ErrEndpointsNotAgent", "dave", agent(func(b map[string]any) {
			delete(b, "endpoint")
			b["roles"], b["endpoints"] = []string{"supervisor"}, []string{"PJSIP/1010"}
		}), 422, []string{"endpoints"}, "not an agent"},
		{"ErrEndpointForm", "dave", agent(func(b map[string]any) { b["endpoint"] = "1009" }), 422, []string{"endpoint"}, "TECH/resource"},
		{"ErrEndpointLocal", "dave", agent(func(b map[string]any) { b["endpoint"] = "Local/dave" }), 422, []string{"endpoint"}, "without a context"},
		{"ErrEndpointNotAgent", "dave", agent(func(b map[string]any) { b["roles"] = []string{"supervisor"} }), 422, []string{"endpoint"}, "not an agent"},
		{"ErrPhoneNumber", "dave", agent(func(b map[string]any) { b["phone_number"] = "0800-FLOWERS" }), 422, []string{"phone_number"}, "letters"},
		{"ErrPoolsNotSupervisor", "dave", agent(func(b map[string]any) { b["pools"] = []string{"sales"} }), 422, []string{"pools"}, "not a supervisor"},
		{"ErrPoolNotFound", "dave", agent(func(b map[string]any) { b["roles"] = []string{"agent", "supervisor"}; b["pools"] = []string{"nope"} }), 422, []string{"pools"}, `"nope" does not exist`},
		{"ErrPoolOtherOrg", "dave", agent(func(b map[string]any) { b["roles"] = []string{"agent", "supervisor"}; b["pools"] = []string{"gsales"} }), 422, []string{"pools"}, `"gsales" is in organization "globex"`},
		{"ErrPasswordEmpty", "dave", agent(func(b map[string]any) { b["password"] = "" }), 422, []string{"password"}, "leave it out"},
		{"ErrPasswordLong", "dave", agent(func(b map[string]any) { b["password"] = strings.Repeat("x", 73) }), 422, []string{"password"}, "72 bytes"},
		{"ErrStillPoolMember", "alice", agent(func(b map[string]any) { b["roles"] = []string{"supervisor"}; delete(b, "endpoint") }), 422, []string{"roles"}, "member of pools sales"},
		{"ErrMovesOutOfPools", "bob", agent(func(b map[string]any) { b["org"] = "globex" }), 422, []string{"org"}, "member of pools sales, support"},
		{"ErrSeveral", "dave", map[string]any{"roles": []string{"boss"}, "phone_number": "12", "password": ""}, 422,
			[]string{"org", "roles", "phone_number", "password"}, "is required"},
		{"ErrBadID", "has%20space", agent(func(map[string]any) {}), 400, []string{"user"}, "may contain only"},
		{"ErrLongID", strings.Repeat("d", 129), agent(func(map[string]any) {}), 400, []string{"user"}, "longer than 128"},
		{"ErrPhoneTaken", "dave", agent(func(b map[string]any) { b["phone_number"] = "+358 40 123 4567" }), 409, nil, "registered to user sara"},
		{"ErrEndpointTaken", "dave", agent(func(b map[string]any) { b["endpoint"] = "PJSIP/1001" }), 409, nil, "bound to user alice"},
		{"ErrEndpointsTaken", "dave", agent(func(b map[string]any) { delete(b, "endpoint"); b["endpoints"] = []string{"PJSIP/1010", "PJSIP/1001"} }), 409, nil, "bound to user alice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			before := e.store.snapshot()
			p := wantProblem(t, e.do("PUT", "/api/v1/admin/users/"+tc.user, adminToken, tc.body), tc.status)
			var fields []string
			for _, fe := range p.Errors {
				fields = append(fields, fe.Field)
			}
			if !slices.Equal(fields, tc.fields) {
				t.Errorf("fields %q, want %q: %s", fields, tc.fields, p.Detail)
			}
			got := p.Detail
			if len(p.Errors) > 0 {
				got = p.Errors[0].Detail
			}
			if !strings.Contains(got, tc.detail) {
				t.Errorf("detail %q lacks %q", got, tc.detail)
			}
			if e.store.snapshot() != before {
				t.Error("store changed")
			}
		})
	}
	t.Run("ErrWrongToken", func(t *testing.T) {
		e := newEnv(t)
		before := e.store.snapshot()
		wantProblem(t, e.do("PUT", "/api/v1/admin/users/dave", "not-the-token", agent(func(map[string]any) {})), http.StatusUnauthorized)
		if e.store.snapshot() != before {
			t.Error("store changed")
		}
	})
}

func TestAdminUser_Delete(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		e.store.devices["tok-b"] = [2]string{"bob", "ios"}
		wantStatus(t, e.do("DELETE", "/api/v1/admin/users/bob", adminToken, nil), http.StatusNoContent)
		if _, ok := e.store.users["bob"]; ok {
			t.Error("bob still stored")
		}
		if m := e.store.pools["sales"].Members; !slices.Equal(m, []string{"alice"}) {
			t.Errorf("sales members %v", m)
		}
		if l := e.store.supervised["sara"]; len(l) != 0 {
			t.Errorf("sara's list %v", l)
		}
		if len(e.store.devices) != 0 {
			t.Errorf("devices %v", e.store.devices)
		}
	})
	t.Run("TokenStopsWorking", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token("sara")
		wantStatus(t, e.do("DELETE", "/api/v1/admin/users/sara", adminToken, nil), http.StatusNoContent)
		wantProblem(t, e.do("GET", "/api/v1/me", tok, nil), http.StatusUnauthorized)
	})
	t.Run("ErrUserNotFound", func(t *testing.T) {
		e := newEnv(t)
		before := e.store.snapshot()
		p := wantProblem(t, e.do("DELETE", "/api/v1/admin/users/nobody", adminToken, nil), http.StatusNotFound)
		if p.Detail != earshot.ErrUserNotFound.Message {
			t.Errorf("detail %q", p.Detail)
		}
		if e.store.snapshot() != before {
			t.Error("store changed")
		}
	})
}

func FuzzAdminUserPut(f *testing.F) {
	for _, s := range []string{
		`{"org":"acme","roles":["agent"],"endpoint":"PJSIP/1009"}`, `{"org":"acme","roles":["supervisor"],"phone_number":"040 111 2233"}`,
		`{"org":"acme","roles":["supervisor"],"phone_number":"+358401234567"}`, `{"org":"acme","roles":["agent"],"endpoint":"PJSIP/1001"}`,
		`{"org":"acme","roles":["supervisor"],"pools":["sales","gsales"],"password":"x"}`, `{"org":"globex","roles":["agent"],"endpoint":"x"}`,
		`{"org":"acme","roles":[],"phone_number":null}`, `{"roles":"agent"}`, `{"password":1}`, `{}`, `{`, `null`,
	} {
		f.Add("dave", s)
		f.Add("alice", s)
	}
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, user, body string) {
		fuzzDecode(t, e, "PUT", "/api/v1/admin/users/"+url.PathEscape(user), adminToken, body)
	})
}
