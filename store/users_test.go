package store_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/store"
)

func TestDB_PutUser(t *testing.T) {
	ctx := context.Background()
	carol := earshot.User{ID: "carol", Org: "acme", Name: "Carol Agent", Roles: []string{earshot.RoleAgent}, Endpoint: "PJSIP/1003"}
	t.Run("OK", func(t *testing.T) {
		db := MustImport(t)
		must(t, db.PutUser(ctx, carol))
		if u, err := db.AgentByEndpoint(ctx, "PJSIP/1003"); err != nil || u.Name != "Carol Agent" {
			t.Fatalf("AgentByEndpoint = %+v, %v", u, err)
		}
	})
	t.Run("Update", func(t *testing.T) {
		db := MustImport(t)
		sara, err := db.User(ctx, "sara")
		must(t, err)
		// What the API sends: no number, no hash (neither is in its JSON).
		sara.Name, sara.PhoneNumber, sara.PasswordHash = "Sara S.", "", ""
		must(t, db.PutUser(ctx, sara))
		got, err := db.UserByPhone(ctx, "+358401234567")
		if err != nil || got.Name != "Sara S." || got.PasswordHash != testFile().Users[0].PasswordHash {
			t.Fatalf("after update: %+v, %v", got, err)
		}
	})
	t.Run("MovesEndpoint", func(t *testing.T) {
		db := MustImport(t)
		alice := testFile().Users[1]
		alice.Endpoint = "PJSIP/1009"
		must(t, db.PutUser(ctx, alice))
		if _, err := db.AgentByEndpoint(ctx, "PJSIP/1001"); !errors.Is(err, earshot.ErrUserNotFound) {
			t.Fatalf("old endpoint still bound: %v", err)
		}
		if u, err := db.AgentByEndpoint(ctx, "PJSIP/1009"); err != nil || u.ID != "alice" {
			t.Fatalf("new endpoint: %+v, %v", u, err)
		}
		// Losing the agent role unbinds the endpoint.
		alice.Roles = []string{earshot.RoleSupervisor}
		must(t, db.PutUser(ctx, alice))
		if _, err := db.AgentByEndpoint(ctx, "PJSIP/1009"); !errors.Is(err, earshot.ErrUserNotFound) {
			t.Fatalf("a former agent is still bound: %v", err)
		}
	})
	t.Run("Endpoints", func(t *testing.T) {
		// An agent with a desk phone and a softphone is found by either;
		// dropping one unbinds just that one, and deleting the agent both.
		db := MustImport(t)
		u := carol
		u.Endpoint, u.Endpoints = "", []string{"PJSIP/1003", "pjsip/1003-soft"}
		must(t, db.PutUser(ctx, u))
		for _, ep := range []string{"PJSIP/1003", "PJSIP/1003-soft"} {
			if got, err := db.AgentByEndpoint(ctx, ep); err != nil || got.ID != "carol" || len(got.Endpoints) != 2 {
				t.Fatalf("AgentByEndpoint(%s) = %+v, %v", ep, got, err)
			}
		}
		u.Endpoints = []string{"PJSIP/1003-soft", "PJSIP/1004"}
		must(t, db.PutUser(ctx, u))
		if _, err := db.AgentByEndpoint(ctx, "PJSIP/1003"); !errors.Is(err, earshot.ErrUserNotFound) {
			t.Fatalf("a dropped endpoint is still bound: %v", err)
		}
		for _, ep := range []string{"PJSIP/1003-soft", "PJSIP/1004"} {
			if got, err := db.AgentByEndpoint(ctx, ep); err != nil || got.ID != "carol" {
				t.Fatalf("AgentByEndpoint(%s) = %+v, %v", ep, got, err)
			}
		}
		// Another user's endpoint anywhere in the list is a conflict that
		// writes nothing.
		u.Endpoints = []string{"PJSIP/1005", "PJSIP/1001"}
		err := db.PutUser(ctx, u)
		wantCode(t, err, earshot.ECONFLICT)
		if !strings.Contains(err.Error(), "endpoint PJSIP/1001 is already bound to user alice") {
			t.Errorf("err = %v", err)
		}
		if _, err := db.AgentByEndpoint(ctx, "PJSIP/1005"); !errors.Is(err, earshot.ErrUserNotFound) {
			t.Fatalf("a refused write bound an endpoint: %v", err)
		}
		must(t, db.DeleteUser(ctx, "carol"))
		for _, ep := range []string{"PJSIP/1003-soft", "PJSIP/1004"} {
			if _, err := db.AgentByEndpoint(ctx, ep); !errors.Is(err, earshot.ErrUserNotFound) {
				t.Fatalf("a deleted agent's %s is still bound: %v", ep, err)
			}
		}
	})
	t.Run("ErrOrgNotFound", func(t *testing.T) {
		u := carol
		u.Org = "initech"
		if err := MustImport(t).PutUser(ctx, u); !errors.Is(err, earshot.ErrOrgNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		db := MustImport(t)
		for _, change := range []func(u *earshot.User){
			func(u *earshot.User) { u.ID = "" },
			func(u *earshot.User) { u.ID = "car\x00ol" },
			func(u *earshot.User) { u.ID = strings.Repeat("c", 256) },
			func(u *earshot.User) { u.PhoneNumber = "0401234567" },
		} {
			u := carol
			change(&u)
			wantCode(t, db.PutUser(ctx, u), earshot.EINVALID)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		db := MustImport(t)
		for _, change := range []func(u *earshot.User){
			func(u *earshot.User) { u.PhoneNumber = "+358401234567" },
			func(u *earshot.User) { u.Endpoint = "PJSIP/1001" },
		} {
			u := carol
			change(&u)
			wantCode(t, db.PutUser(ctx, u), earshot.ECONFLICT)
		}
		if _, err := db.User(ctx, "carol"); !errors.Is(err, earshot.ErrUserNotFound) {
			t.Fatalf("a conflicting user was written: %v", err)
		}
	})
}

func TestDB_DeleteUser(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		db := MustImport(t)
		must(t, db.SetPhoneNumber(ctx, "alice", "+358401111111"))
		must(t, db.Supervise(ctx, "sara", "alice"))
		must(t, db.Supervise(ctx, "alice", "bob"))
		must(t, db.PutDevice(ctx, store.Device{Token: "tok-alice", User: "alice", Platform: store.PlatformAndroid}))

		must(t, db.DeleteUser(ctx, "alice"))
		if _, err := db.User(ctx, "alice"); !errors.Is(err, earshot.ErrUserNotFound) {
			t.Errorf("User: %v", err)
		}
		if _, err := db.UserByPhone(ctx, "+358401111111"); !errors.Is(err, earshot.ErrUserNotFound) {
			t.Errorf("UserByPhone: %v", err)
		}
		if _, err := db.AgentByEndpoint(ctx, "PJSIP/1001"); !errors.Is(err, earshot.ErrUserNotFound) {
			t.Errorf("AgentByEndpoint: %v", err)
		}
		if p, _ := db.Pool(ctx, "sales"); !slices.Equal(p.Members, []string{"bob"}) {
			t.Errorf("sales members %v", p.Members)
		}
		if ids, _ := db.SupervisedBy(ctx, "sara"); len(ids) != 0 {
			t.Errorf("sara still supervises %v", ids)
		}
		if ids, _ := db.SupervisorsOf(ctx, "bob"); len(ids) != 0 {
			t.Errorf("bob still supervised by %v", ids)
		}
		if ds, _ := db.Devices(ctx, "alice"); len(ds) != 0 {
			t.Errorf("devices %v", ds)
		}
		// The number and the endpoint are free again.
		must(t, db.SetPhoneNumber(ctx, "bob", "+358401111111"))
	})
	t.Run("ErrUserNotFound", func(t *testing.T) {
		if err := MustImport(t).DeleteUser(ctx, "mallory"); !errors.Is(err, earshot.ErrUserNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDB_SetPhoneNumber(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		db := MustImport(t)
		must(t, db.SetPhoneNumber(ctx, "sara", "+358409999999"))
		must(t, db.SetPhoneNumber(ctx, "sara", "+358409999999"))
		if u, err := db.UserByPhone(ctx, "+358409999999"); err != nil || u.ID != "sara" {
			t.Fatalf("UserByPhone = %+v, %v", u, err)
		}
		if _, err := db.UserByPhone(ctx, "+358401234567"); !errors.Is(err, earshot.ErrUserNotFound) {
			t.Fatalf("the old number still finds sara: %v", err)
		}
	})
	t.Run("Clear", func(t *testing.T) {
		db := MustImport(t)
		must(t, db.SetPhoneNumber(ctx, "sara", ""))
		if u, _ := db.User(ctx, "sara"); u.PhoneNumber != "" {
			t.Fatalf("number %q", u.PhoneNumber)
		}
		if _, err := db.UserByPhone(ctx, "+358401234567"); !errors.Is(err, earshot.ErrUserNotFound) {
			t.Fatalf("a cleared number still finds sara: %v", err)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		db := MustImport(t)
		err := db.SetPhoneNumber(ctx, "sara", "+358401234568") // gina's, in another org
		wantCode(t, err, earshot.ECONFLICT)
		if msg := earshot.ErrorMessage(err); msg != "this number is already registered to another supervisor" {
			t.Fatalf("message %q", msg)
		}
		if strings.Contains(err.Error(), "gina") {
			t.Fatalf("the error names the other user: %v", err)
		}
		if u, _ := db.UserByPhone(ctx, "+358401234567"); u.ID != "sara" {
			t.Fatal("a refused change lost sara's number")
		}
	})
	t.Run("ErrUserNotFound", func(t *testing.T) {
		if err := MustImport(t).SetPhoneNumber(ctx, "mallory", "+358409999999"); !errors.Is(err, earshot.ErrUserNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		wantCode(t, MustImport(t).SetPhoneNumber(ctx, "sara", "040 999 9999"), earshot.EINVALID)
	})
}
