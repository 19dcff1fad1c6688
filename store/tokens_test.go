package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/store"
)

func TestDB_TokenVersion(t *testing.T) {
	ctx := context.Background()
	version := func(t *testing.T, db *store.DB, user string) uint64 {
		t.Helper()
		v, _, err := db.TokenState(ctx, user, "")
		must(t, err)
		return v
	}
	// Each change is applied to sara (supervisor of every acme pool) or
	// gina (supervisor of helpdesk) as the operator API would send it.
	for _, tt := range []struct {
		name    string
		user    string
		change  func(u *earshot.User)
		revokes bool
	}{
		{"Name", "sara", func(u *earshot.User) { u.Name = "Sara S." }, false},
		{"KeepPassword", "sara", func(u *earshot.User) { u.PasswordHash = "" }, false},
		{"Password", "sara", func(u *earshot.User) { u.PasswordHash = "$2a$04$othersaltothersaltothehashhashhashhashhashhashhashhas" }, true},
		{"SupervisorRoleRemoved", "sara", func(u *earshot.User) { u.Roles = []string{earshot.RoleAgent}; u.Endpoint = "PJSIP/1009" }, true},
		{"AgentRoleAdded", "sara", func(u *earshot.User) { u.Roles = append(u.Roles, earshot.RoleAgent); u.Endpoint = "PJSIP/1009" }, false},
		{"ScopeNarrowedFromAll", "sara", func(u *earshot.User) { u.Pools = []string{"sales"} }, true},
		{"ScopeWidenedToAll", "gina", func(u *earshot.User) { u.Pools = nil }, false},
		{"ScopeReplaced", "gina", func(u *earshot.User) { u.Pools = []string{"other"} }, true},
		{"Org", "sara", func(u *earshot.User) { u.Org = "globex" }, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := MustImport(t)
			u, err := db.User(ctx, tt.user)
			must(t, err)
			hash := u.PasswordHash
			u.PasswordHash = "" // what the API sends without a new password
			if tt.change(&u); u.PasswordHash == hash {
				u.PasswordHash = ""
			}
			must(t, db.PutUser(ctx, u))
			if got := version(t, db, tt.user) != 0; got != tt.revokes {
				t.Fatalf("version bumped = %v, want %v", got, tt.revokes)
			}
		})
	}
	t.Run("DeleteKeepsVersion", func(t *testing.T) {
		db := MustImport(t)
		sara, err := db.User(ctx, "sara")
		must(t, err)
		must(t, db.DeleteUser(ctx, "sara"))
		if v := version(t, db, "sara"); v != 1 {
			t.Fatalf("version after delete = %d, want 1", v)
		}
		// The same id again does not bring old tokens (version 0) back.
		sara.PhoneNumber = ""
		must(t, db.PutUser(ctx, sara))
		if v := version(t, db, "sara"); v != 1 {
			t.Fatalf("version after re-create = %d, want 1", v)
		}
	})
	t.Run("UnknownUser", func(t *testing.T) {
		if v := version(t, MustOpen(t), "nobody"); v != 0 {
			t.Fatalf("version = %d", v)
		}
	})
}

func TestDB_RevokeToken(t *testing.T) {
	ctx := context.Background()
	exp := now.Add(time.Hour)
	t.Run("OK", func(t *testing.T) {
		db := MustImport(t)
		must(t, db.RevokeToken(ctx, "sara", "jti-1", exp))
		for _, tt := range []struct {
			user, jti string
			revoked   bool
		}{{"sara", "jti-1", true}, {"sara", "jti-2", false}, {"sara", "", false}, {"alice", "jti-1", false}} {
			v, revoked, err := db.TokenState(ctx, tt.user, tt.jti)
			must(t, err)
			if revoked != tt.revoked || v != 0 {
				t.Errorf("%s %s: version %d revoked %v, want 0 %v", tt.user, tt.jti, v, revoked, tt.revoked)
			}
		}
	})
	t.Run("NoIDBumps", func(t *testing.T) {
		db := MustImport(t)
		must(t, db.RevokeToken(ctx, "sara", "", exp))
		if v, _, _ := db.TokenState(ctx, "sara", ""); v != 1 {
			t.Fatalf("version = %d, want 1", v)
		}
	})
	t.Run("Bounded", func(t *testing.T) {
		// Past MaxRevokedPerUser live sign-outs, the version is bumped
		// and the list of the user emptied: every token is out.
		db := MustImport(t)
		for i := range store.MaxRevokedPerUser {
			must(t, db.RevokeToken(ctx, "sara", fmt.Sprint("jti-", i), exp))
		}
		if v, revoked, _ := db.TokenState(ctx, "sara", "jti-0"); v != 0 || !revoked {
			t.Fatalf("before the bound: version %d revoked %v", v, revoked)
		}
		must(t, db.RevokeToken(ctx, "sara", "jti-last", exp))
		v, revoked, _ := db.TokenState(ctx, "sara", "jti-0")
		if v != 1 || revoked {
			t.Fatalf("past the bound: version %d, jti-0 still listed %v; want 1, false", v, revoked)
		}
	})
	t.Run("ExpiredDropped", func(t *testing.T) {
		// Expired sign-outs do not count toward the bound.
		db := MustImport(t)
		for i := range store.MaxRevokedPerUser {
			must(t, db.RevokeToken(ctx, "sara", fmt.Sprint("old-", i), now.Add(-time.Second)))
		}
		must(t, db.RevokeToken(ctx, "sara", "jti-new", exp))
		if v, revoked, _ := db.TokenState(ctx, "sara", "jti-new"); v != 0 || !revoked {
			t.Fatalf("version %d revoked %v, want 0 true", v, revoked)
		}
		if _, revoked, _ := db.TokenState(ctx, "sara", "old-0"); revoked {
			t.Fatal("an expired sign-out is still listed")
		}
	})
	t.Run("Canceled", func(t *testing.T) {
		if err := MustImport(t).RevokeToken(canceled(), "sara", "jti", exp); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestDB_ImportRevokesTokens(t *testing.T) {
	ctx := context.Background()
	db := MustImport(t)
	// The same file again revokes nothing; a new password in it does.
	_, err := db.ImportDirectory(ctx, testFile())
	must(t, err)
	if v, _, _ := db.TokenState(ctx, "sara", ""); v != 0 {
		t.Fatalf("unchanged import bumped sara to %d", v)
	}
	f := testFile()
	f.Users[0].PasswordHash = "$2a$04$othersaltothersaltothehashhashhashhashhashhashhashhas"
	_, err = db.ImportDirectory(ctx, f)
	must(t, err)
	if v, _, _ := db.TokenState(ctx, "sara", ""); v != 1 {
		t.Fatalf("a new password in the file: version %d, want 1", v)
	}
	if v, _, _ := db.TokenState(ctx, "alice", ""); v != 0 {
		t.Fatalf("alice unchanged, version %d", v)
	}
}
