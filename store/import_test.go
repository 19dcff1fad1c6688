package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/directory"
	"github.com/earshot/earshot/store"
)

func TestDB_ImportDirectory(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		res, err := MustOpen(t).ImportDirectory(ctx, testFile())
		must(t, err)
		want := store.ImportResult{
			Orgs:  store.ImportCounts{Created: 2},
			Users: store.ImportCounts{Created: 5},
			Pools: store.ImportCounts{Created: 2},
		}
		if !equalResults(res, want) || !res.Changed() {
			t.Fatalf("result %+v, want %+v", res, want)
		}
	})
	t.Run("Idempotent", func(t *testing.T) {
		db := MustImport(t)
		before := snapshot(t, db)
		res, err := db.ImportDirectory(ctx, testFile())
		must(t, err)
		want := store.ImportResult{
			Orgs:  store.ImportCounts{Unchanged: 2},
			Users: store.ImportCounts{Unchanged: 5},
			Pools: store.ImportCounts{Unchanged: 2},
		}
		if !equalResults(res, want) || res.Changed() {
			t.Fatalf("second import: %v, want all unchanged", res)
		}
		if after := snapshot(t, db); after != before {
			t.Fatalf("second import changed the store:\n%s\nwas:\n%s", after, before)
		}
	})
	t.Run("DemoFile", func(t *testing.T) {
		f, err := directory.Load(filepath.Join("..", "testdata", "directory", "demo.yaml"), "FI", directory.WithBcryptCost(bcrypt.MinCost))
		must(t, err)
		db := MustOpen(t)
		_, err = db.ImportDirectory(ctx, f)
		must(t, err)
		gina, err := db.UserByPhone(ctx, "+358401234568")
		if err != nil || gina.ID != "gina" {
			t.Fatalf("UserByPhone = %+v, %v", gina, err)
		}
		alice, err := db.AgentByEndpoint(ctx, "Local/alice@earshot-test-phones")
		if err != nil || !directory.VerifyPassword(alice.PasswordHash, "change-me") {
			t.Fatalf("alice = %+v, %v", alice, err)
		}
		// Re-importing the same parsed file changes nothing.
		res, err := db.ImportDirectory(ctx, f)
		if err != nil || res.Changed() {
			t.Fatalf("second import: %v, %v", res, err)
		}
	})
	t.Run("Updated", func(t *testing.T) {
		db, f := MustImport(t), testFile()
		f.Users[1].Name = "Alice A. Agent"
		f.Pools[0].Members = []string{"alice"}
		res, err := db.ImportDirectory(ctx, f)
		must(t, err)
		if res.Users != (store.ImportCounts{Updated: 1, Unchanged: 4}) || res.Pools != (store.ImportCounts{Updated: 1, Unchanged: 1}) {
			t.Fatalf("result %v", res)
		}
		if p, _ := db.Pool(ctx, "sales"); !slices.Equal(p.Members, []string{"alice"}) {
			t.Fatalf("members %v", p.Members)
		}
	})
	t.Run("EndpointToEndpoints", func(t *testing.T) {
		// The file moves alice from one endpoint to a list that keeps it
		// and adds a softphone, then back: each import binds exactly the
		// endpoints the file gives.
		db, f := MustImport(t), testFile()
		f.Users[1].Endpoint, f.Users[1].Endpoints = "", []string{"PJSIP/1001", "PJSIP/1001-soft"}
		_, err := db.ImportDirectory(ctx, f)
		must(t, err)
		for _, ep := range []string{"PJSIP/1001", "PJSIP/1001-soft"} {
			if u, err := db.AgentByEndpoint(ctx, ep); err != nil || u.ID != "alice" || u.Endpoint != "" {
				t.Fatalf("AgentByEndpoint(%s) = %+v, %v", ep, u, err)
			}
		}
		_, err = db.ImportDirectory(ctx, testFile())
		must(t, err)
		if u, err := db.AgentByEndpoint(ctx, "PJSIP/1001"); err != nil || u.ID != "alice" || u.Endpoints != nil {
			t.Fatalf("back to one endpoint: %+v, %v", u, err)
		}
		if _, err := db.AgentByEndpoint(ctx, "PJSIP/1001-soft"); !errors.Is(err, earshot.ErrUserNotFound) {
			t.Fatalf("the softphone is still bound: %v", err)
		}
	})
	t.Run("KeepsPhoneNumber", func(t *testing.T) {
		db := MustImport(t)
		must(t, db.SetPhoneNumber(ctx, "bob", "+358401111111"))  // the file gives none
		must(t, db.SetPhoneNumber(ctx, "sara", "+358402222222")) // the file gives one
		res, err := db.ImportDirectory(ctx, testFile())
		must(t, err)
		if bob, _ := db.User(ctx, "bob"); bob.PhoneNumber != "+358401111111" {
			t.Errorf("bob's number = %q, want the one set through the API", bob.PhoneNumber)
		}
		if sara, _ := db.UserByPhone(ctx, "+358402222222"); sara.ID != "sara" {
			t.Errorf("sara's number set through the API was overwritten by the file's unchanged one")
		}
		if _, err := db.UserByPhone(ctx, "+358401234567"); !errors.Is(err, earshot.ErrUserNotFound) {
			t.Errorf("the file's number is indexed again: %v", err)
		}
		if res.Users != (store.ImportCounts{Unchanged: 5}) || res.Changed() {
			t.Errorf("result %v", res)
		}
		if !strings.Contains(res.String(), "user sara phone_number") {
			t.Errorf("String() = %s, want the kept field named", res)
		}
	})
	t.Run("KeepsFeatures", func(t *testing.T) {
		db := MustImport(t)
		must(t, db.SetFeature(ctx, "globex", earshot.FeatureSupervising, true))
		_, err := db.ImportDirectory(ctx, testFile())
		must(t, err)
		if o, _ := db.Org(ctx, "globex"); !o.Has(earshot.FeatureSupervising) {
			t.Fatal("an import switched off a feature the operator switched on")
		}
	})
	t.Run("NotInFile", func(t *testing.T) {
		db, f := MustImport(t), testFile()
		f.Users = slices.DeleteFunc(f.Users, func(u earshot.User) bool { return u.ID == "gus" })
		f.Pools = f.Pools[:1]
		res, err := db.ImportDirectory(ctx, f)
		must(t, err)
		if !slices.Equal(res.NotInFile.Users, []string{"gus"}) || !slices.Equal(res.NotInFile.Pools, []string{"helpdesk"}) || res.NotInFile.Orgs != nil {
			t.Fatalf("NotInFile = %+v", res.NotInFile)
		}
		if !strings.Contains(res.String(), "not in file (kept): users gus; pools helpdesk") {
			t.Fatalf("String() = %s", res)
		}
		if _, err := db.User(ctx, "gus"); err != nil {
			t.Fatalf("gus was deleted: %v", err)
		}
	})
	t.Run("SwapNumbers", func(t *testing.T) {
		db, f := MustImport(t), testFile()
		f.Users[0].PhoneNumber, f.Users[3].PhoneNumber = f.Users[3].PhoneNumber, f.Users[0].PhoneNumber
		f.Users[1].Endpoint, f.Users[2].Endpoint = f.Users[2].Endpoint, f.Users[1].Endpoint
		_, err := db.ImportDirectory(ctx, f)
		must(t, err)
		if u, _ := db.UserByPhone(ctx, "+358401234567"); u.ID != "gina" {
			t.Errorf("+358401234567 → %s, want gina", u.ID)
		}
		if u, _ := db.AgentByEndpoint(ctx, "PJSIP/1001"); u.ID != "bob" {
			t.Errorf("PJSIP/1001 → %s, want bob", u.ID)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			change func(db *store.DB, f *directory.File)
			want   string
		}{
			{"PhoneSetThroughAPI", func(db *store.DB, f *directory.File) {
				must(t, db.SetPhoneNumber(ctx, "bob", "+358401111111"))
				f.Users[4].PhoneNumber = "+358401111111"
			}, "phone number +358401111111 would be registered to both bob and gus"},
			{"PhoneTwiceInFile", func(db *store.DB, f *directory.File) {
				f.Users[1].PhoneNumber = f.Users[0].PhoneNumber
			}, "phone number +358401234567 would be registered to both sara and alice"},
			{"PhoneOfUserNotInFile", func(db *store.DB, f *directory.File) {
				f.Users = f.Users[1:]
				f.Users[0].PhoneNumber = "+358401234567"
			}, "phone number +358401234567 would be registered to both sara and alice"},
			{"Endpoint", func(db *store.DB, f *directory.File) {
				f.Users[2].Endpoint = "pjsip/1001"
			}, "endpoint pjsip/1001 would be bound to both alice and bob"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				db, f := MustImport(t), testFile()
				tt.change(db, f)
				f.Orgs[0].Name = "Acme Corporation" // must not be written
				before := snapshot(t, db)
				_, err := db.ImportDirectory(ctx, f)
				wantCode(t, err, earshot.ECONFLICT)
				if earshot.ErrorMessage(err) != tt.want {
					t.Fatalf("message %q, want %q", earshot.ErrorMessage(err), tt.want)
				}
				if after := snapshot(t, db); after != before {
					t.Fatalf("a failed import wrote:\n%s\nwas:\n%s", after, before)
				}
			})
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			change func(f *directory.File)
		}{
			{"UnknownOrg", func(f *directory.File) { f.Users[1].Org = "initech" }},
			{"PoolOfUnknownOrg", func(f *directory.File) { f.Pools[1].Org = "initech" }},
			{"UserTwice", func(f *directory.File) { f.Users = append(f.Users, f.Users[0]) }},
			{"EmptyID", func(f *directory.File) { f.Orgs[1].ID = "" }},
			{"MissingMember", func(f *directory.File) { f.Pools[0].Members = append(f.Pools[0].Members, "mallory") }},
			{"MemberOfOtherOrg", func(f *directory.File) { f.Pools[0].Members = append(f.Pools[0].Members, "gus") }},
			{"PhoneNotE164", func(f *directory.File) { f.Users[1].PhoneNumber = "040 123 4567" }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				db, f := MustOpen(t), testFile()
				tt.change(f)
				_, err := db.ImportDirectory(ctx, f)
				wantCode(t, err, earshot.EINVALID)
				if orgs, _ := db.Orgs(); len(orgs) != 0 {
					t.Fatalf("a failed import wrote orgs %v", orgs)
				}
			})
		}
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		db := MustOpen(t)
		if _, err := db.ImportDirectory(canceled(), testFile()); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

// equalResults compares import results, treating nil and empty lists alike.
func equalResults(a, b store.ImportResult) bool {
	return a.Orgs == b.Orgs && a.Users == b.Users && a.Pools == b.Pools &&
		slices.Equal(a.NotInFile.Orgs, b.NotInFile.Orgs) &&
		slices.Equal(a.NotInFile.Users, b.NotInFile.Users) &&
		slices.Equal(a.NotInFile.Pools, b.NotInFile.Pools)
}
