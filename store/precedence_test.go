package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/directory"
	"github.com/earshot/earshot/store"
)

// The precedence rule of ImportDirectory: the file wins for a field only
// when the file changed that field since the last import; what was changed
// through the API stays otherwise.
func TestDB_ImportDirectory_Precedence(t *testing.T) {
	ctx := context.Background()
	t.Run("FileChangeWins", func(t *testing.T) {
		db := MustImport(t)
		must(t, db.SetPhoneNumber(ctx, "sara", "+358402222222"))
		f := testFile()
		f.Users[0].PhoneNumber = "+358403333333" // the operator changes the file
		res, err := db.ImportDirectory(ctx, f)
		must(t, err)
		if u, _ := db.User(ctx, "sara"); u.PhoneNumber != "+358403333333" {
			t.Fatalf("sara's number = %q, want the file's new one", u.PhoneNumber)
		}
		if res.Users != (store.ImportCounts{Updated: 1, Unchanged: 4}) || len(res.Kept) != 0 {
			t.Fatalf("result %v", res)
		}
		// And the next import of that file keeps a later API change.
		must(t, db.SetPhoneNumber(ctx, "sara", "+358404444444"))
		_, err = db.ImportDirectory(ctx, f)
		must(t, err)
		if u, _ := db.User(ctx, "sara"); u.PhoneNumber != "+358404444444" {
			t.Fatalf("sara's number = %q, want the API's", u.PhoneNumber)
		}
	})
	t.Run("FileRemovesNumber", func(t *testing.T) {
		db, f := MustImport(t), testFile()
		f.Users[0].PhoneNumber = ""
		_, err := db.ImportDirectory(ctx, f)
		must(t, err)
		if u, _ := db.User(ctx, "sara"); u.PhoneNumber != "" {
			t.Fatalf("sara's number = %q, want it removed as the file did", u.PhoneNumber)
		}
	})
	t.Run("FileClearsFeatures", func(t *testing.T) {
		// The file empties a list: it stays an empty list, not null.
		db, f := MustImport(t), testFile()
		must(t, db.SetFeature(ctx, "globex", earshot.FeatureSupervising, true))
		f.Orgs[0].Features = []string{}
		f.Orgs[0].Name = "Acme Renamed"
		_, err := db.ImportDirectory(ctx, f)
		must(t, err)
		o, _ := db.Org(ctx, "acme")
		if o.Features == nil || len(o.Features) != 0 || o.Name != "Acme Renamed" {
			t.Fatalf("acme = %#v", o)
		}
		if g, _ := db.Org(ctx, "globex"); !g.Has(earshot.FeatureSupervising) {
			t.Fatal("globex's feature set through the API was lost")
		}
	})
	t.Run("FeatureSwitchedOffSurvives", func(t *testing.T) {
		db := MustImport(t)
		must(t, db.SetFeature(ctx, "acme", earshot.FeatureSupervising, false))
		_, err := db.ImportDirectory(ctx, testFile())
		must(t, err)
		if o, _ := db.Org(ctx, "acme"); o.Has(earshot.FeatureSupervising) {
			t.Fatal("an import of the unchanged file switched supervising back on")
		}
	})
	t.Run("OperatorEditSurvives", func(t *testing.T) {
		db := MustImport(t)
		u, _ := db.User(ctx, "alice")
		u.Name = "Alice (edited)"
		must(t, db.PutUser(ctx, u))
		p, _ := db.Pool(ctx, "sales")
		p.Members = []string{"alice"}
		must(t, db.PutPool(ctx, p))
		res, err := db.ImportDirectory(ctx, testFile())
		must(t, err)
		if u, _ := db.User(ctx, "alice"); u.Name != "Alice (edited)" {
			t.Errorf("alice's name = %q", u.Name)
		}
		if p, _ := db.Pool(ctx, "sales"); !slices.Equal(p.Members, []string{"alice"}) {
			t.Errorf("members = %v", p.Members)
		}
		if res.Changed() || len(res.Kept) != 2 {
			t.Errorf("result %v", res)
		}
		// The file renaming her wins, and leaves the other fields alone.
		f := testFile()
		f.Users[1].Name = "Alice Renamed"
		_, err = db.ImportDirectory(ctx, f)
		must(t, err)
		if u, _ := db.User(ctx, "alice"); u.Name != "Alice Renamed" || u.Endpoint != "PJSIP/1001" {
			t.Errorf("alice = %+v", u)
		}
	})
	t.Run("NoBase", func(t *testing.T) {
		// Made through the API before the file listed it: the file's
		// non-empty values win, its empty ones keep the stored.
		db := MustImport(t)
		must(t, db.PutUser(ctx, earshot.User{ID: "zed", Org: "acme", Name: "Zed", Roles: []string{earshot.RoleSupervisor}, PhoneNumber: "+358405555555"}))
		f := testFile()
		f.Users = append(f.Users, earshot.User{ID: "zed", Org: "acme", Name: "Zed Supervisor", Roles: []string{earshot.RoleSupervisor}})
		_, err := db.ImportDirectory(ctx, f)
		must(t, err)
		if u, _ := db.User(ctx, "zed"); u.Name != "Zed Supervisor" || u.PhoneNumber != "+358405555555" {
			t.Fatalf("zed = %+v", u)
		}
	})
	t.Run("DeletedStaysDeleted", func(t *testing.T) {
		// Deleted through the API: the unchanged file does not bring the
		// user back; a file that changes the user does, pools included.
		db := MustImport(t)
		must(t, db.DeleteUser(ctx, "gus"))
		res, err := db.ImportDirectory(ctx, testFile())
		must(t, err)
		if _, err := db.User(ctx, "gus"); !errors.Is(err, earshot.ErrUserNotFound) {
			t.Fatalf("gus is back: %v", err)
		}
		if res.Changed() || !strings.Contains(res.String(), "user gus (deleted)") {
			t.Fatalf("result %v", res)
		}
		if p, _ := db.Pool(ctx, "helpdesk"); len(p.Members) != 0 {
			t.Fatalf("helpdesk members %v", p.Members)
		}
		f := testFile()
		f.Users[4].Name = "Gus Returns"
		res, err = db.ImportDirectory(ctx, f)
		must(t, err)
		if u, err := db.User(ctx, "gus"); err != nil || u.Name != "Gus Returns" || res.Users.Created != 1 {
			t.Fatalf("gus = %+v, %v (%v)", u, err, res)
		}
		if p, _ := db.Pool(ctx, "helpdesk"); !slices.Equal(p.Members, []string{"gus"}) {
			t.Fatalf("helpdesk members %v", p.Members)
		}
	})
	t.Run("DeletedPoolStaysDeleted", func(t *testing.T) {
		db := MustImport(t)
		must(t, db.DeletePool(ctx, "helpdesk"))
		_, err := db.ImportDirectory(ctx, testFile())
		must(t, err)
		if _, err := db.Pool(ctx, "helpdesk"); !errors.Is(err, earshot.ErrPoolNotFound) {
			t.Fatalf("helpdesk is back: %v", err)
		}
	})
}

// A plain-text password in the file is hashed once: an unchanged file,
// parsed again (a fresh salt), leaves the stored hash's bytes as they are.
func TestDB_ImportDirectory_PlainPassword(t *testing.T) {
	ctx := context.Background()
	const doc = `
organizations: [{id: acme, features: [supervising]}]
users:
  - {id: sara, org: acme, roles: [supervisor], password: %s}
`
	parse := func(password string) *directory.File {
		t.Helper()
		f, err := directory.Parse(strings.NewReader(strings.Replace(doc, "%s", password, 1)), "FI", directory.WithBcryptCost(bcrypt.MinCost))
		must(t, err)
		return f
	}
	db := MustOpen(t)
	_, err := db.ImportDirectory(ctx, parse("change-me"))
	must(t, err)
	first, _ := db.User(ctx, "sara")

	res, err := db.ImportDirectory(ctx, parse("change-me"))
	must(t, err)
	again, _ := db.User(ctx, "sara")
	if again.PasswordHash != first.PasswordHash || res.Changed() {
		t.Fatalf("re-import re-hashed: %q → %q (%v)", first.PasswordHash, again.PasswordHash, res)
	}

	// The operator sets another password through the API: the unchanged
	// file keeps it.
	h, _ := bcrypt.GenerateFromPassword([]byte("operator-set"), bcrypt.MinCost)
	again.PasswordHash = string(h)
	must(t, db.PutUser(ctx, again))
	_, err = db.ImportDirectory(ctx, parse("change-me"))
	must(t, err)
	if u, _ := db.User(ctx, "sara"); u.PasswordHash != string(h) {
		t.Fatal("the unchanged file overwrote the password set through the API")
	}

	// A new password in the file wins.
	_, err = db.ImportDirectory(ctx, parse("new-secret"))
	must(t, err)
	if u, _ := db.User(ctx, "sara"); !directory.VerifyPassword(u.PasswordHash, "new-secret") {
		t.Fatal("the file's new password was not applied")
	}
}

// A stored hash that verifies the file's plain-text password stays, even
// when the last import gave none (or was made before imports were kept).
func TestDB_ImportDirectory_StoredHashVerifies(t *testing.T) {
	ctx := context.Background()
	db := MustImport(t)
	h, _ := bcrypt.GenerateFromPassword([]byte("change-me"), bcrypt.MinCost)
	alice, _ := db.User(ctx, "alice")
	alice.PasswordHash = string(h)
	must(t, db.PutUser(ctx, alice))
	f, err := directory.Parse(strings.NewReader(`
organizations: [{id: acme}]
users: [{id: alice, org: acme, name: Alice Agent, roles: [agent], endpoint: PJSIP/1001, password: change-me}]
`), "FI", directory.WithBcryptCost(bcrypt.MinCost))
	must(t, err)
	_, err = db.ImportDirectory(ctx, f)
	must(t, err)
	if u, _ := db.User(ctx, "alice"); u.PasswordHash != string(h) {
		t.Fatalf("hash %q, want the stored %q kept", u.PasswordHash, h)
	}
}

// A directory of thousands of agents in one pool imports in time linear in
// its size, the first time and again.
func TestDB_ImportDirectory_Large(t *testing.T) {
	ctx := context.Background()
	file := func(n int) *directory.File {
		f := &directory.File{Orgs: []earshot.Organization{{ID: "acme", Name: "Acme", Features: []string{}}}}
		p := earshot.Pool{ID: "p", Org: "acme", Name: "P", Members: []string{}}
		for i := range n {
			id := fmt.Sprintf("a%d", i)
			f.Users = append(f.Users, earshot.User{ID: id, Org: "acme", Name: id, Roles: []string{earshot.RoleAgent}, Endpoint: fmt.Sprintf("PJSIP/%d", i)})
			p.Members = append(p.Members, id)
		}
		f.Pools = []earshot.Pool{p}
		return f
	}
	elapsed := func(n int) time.Duration {
		db, f := MustOpen(t), file(n)
		start := time.Now()
		for range 2 {
			_, err := db.ImportDirectory(ctx, f)
			must(t, err)
		}
		return time.Since(start)
	}
	small, large := elapsed(2000), elapsed(8000)
	t.Logf("2,000 agents imported twice: %v; 8,000: %v (ratio %.1f; quadratic would be about 16)", small, large, float64(large)/float64(small))
	if large > 10*small {
		t.Errorf("4 times the agents took %.1f times as long", float64(large)/float64(small))
	}
}

// Parse given the store's known hashes reuses the one that verifies a
// plain-text password instead of hashing it anew (one check at a restart,
// not a hash and a check).
func TestDB_KnownHashes(t *testing.T) {
	ctx := context.Background()
	const doc = "organizations: [{id: acme}]\nusers: [{id: sara, org: acme, roles: [supervisor], password: change-me}]\n"
	db := MustOpen(t)
	parse := func(opts ...directory.Option) *directory.File {
		t.Helper()
		f, err := directory.Parse(strings.NewReader(doc), "FI", append(opts, directory.WithBcryptCost(bcrypt.MinCost))...)
		must(t, err)
		return f
	}
	_, err := db.ImportDirectory(ctx, parse())
	must(t, err)
	stored, _ := db.User(ctx, "sara")
	if got := db.KnownHashes("sara"); len(got) != 2 || got[0] != stored.PasswordHash || got[1] != stored.PasswordHash {
		t.Fatalf("KnownHashes = %q, want the imported and the stored hash", got)
	}
	f := parse(directory.WithKnownHashes(db.KnownHashes))
	if f.Users[0].PasswordHash != stored.PasswordHash {
		t.Fatal("Parse hashed a password a known hash verifies")
	}
	res, err := db.ImportDirectory(ctx, f)
	must(t, err)
	if res.Changed() {
		t.Fatalf("result %v", res)
	}
	if db.KnownHashes("nobody") != nil {
		t.Fatal("hashes for an unknown user")
	}
}
