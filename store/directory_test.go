package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/earshot/earshot"
)

func TestDB_Org(t *testing.T) {
	db, ctx := MustImport(t), context.Background()
	t.Run("OK", func(t *testing.T) {
		o, err := db.Org(ctx, "acme")
		if err != nil || o.Name != "Acme Oy" || !o.Has(earshot.FeatureSupervising) {
			t.Fatalf("Org = %+v, %v", o, err)
		}
	})
	t.Run("ErrOrgNotFound", func(t *testing.T) {
		if _, err := db.Org(ctx, "initech"); !errors.Is(err, earshot.ErrOrgNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		if _, err := db.Org(canceled(), "acme"); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDB_User(t *testing.T) {
	db, ctx := MustImport(t), context.Background()
	t.Run("OK", func(t *testing.T) {
		u, err := db.User(ctx, "sara")
		want := testFile().Users[0]
		if err != nil || u.Name != want.Name || u.PhoneNumber != want.PhoneNumber || u.PasswordHash != want.PasswordHash || !u.HasRole(earshot.RoleSupervisor) {
			t.Fatalf("User = %+v, %v", u, err)
		}
	})
	t.Run("ErrUserNotFound", func(t *testing.T) {
		if _, err := db.User(ctx, "mallory"); !errors.Is(err, earshot.ErrUserNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDB_UserByPhone(t *testing.T) {
	db, ctx := MustImport(t), context.Background()
	t.Run("OK", func(t *testing.T) {
		for number, want := range map[string]string{"+358401234567": "sara", "+358401234568": "gina"} {
			if u, err := db.UserByPhone(ctx, number); err != nil || u.ID != want {
				t.Errorf("UserByPhone(%s) = %s, %v; want %s", number, u.ID, err, want)
			}
		}
	})
	t.Run("ErrUserNotFound", func(t *testing.T) {
		for _, number := range []string{"+358409999999", "0401234567", ""} {
			if _, err := db.UserByPhone(ctx, number); !errors.Is(err, earshot.ErrUserNotFound) {
				t.Errorf("UserByPhone(%q): err = %v", number, err)
			}
		}
	})
}

func TestDB_AgentByEndpoint(t *testing.T) {
	db, ctx := MustImport(t), context.Background()
	t.Run("OK", func(t *testing.T) {
		for _, tt := range []struct{ endpoint, want string }{
			{"PJSIP/1001", "alice"},
			{"pjsip/1002", "bob"},
			{"LOCAL/gus@phones", "gus"},
		} {
			if u, err := db.AgentByEndpoint(ctx, tt.endpoint); err != nil || u.ID != tt.want {
				t.Errorf("AgentByEndpoint(%s) = %s, %v; want %s", tt.endpoint, u.ID, err, tt.want)
			}
		}
	})
	t.Run("ErrUserNotFound", func(t *testing.T) {
		// The resource is case-sensitive, as Asterisk's endpoint names are.
		for _, endpoint := range []string{"PJSIP/1003", "Local/GUS@phones", "PJSIP/1001-0000002a", ""} {
			if _, err := db.AgentByEndpoint(ctx, endpoint); !errors.Is(err, earshot.ErrUserNotFound) {
				t.Errorf("AgentByEndpoint(%q): err = %v", endpoint, err)
			}
		}
	})
	t.Run("NotAnAgent", func(t *testing.T) {
		u := testFile().Users[0]
		u.Endpoint = "PJSIP/2000"
		must(t, db.PutUser(ctx, u))
		if _, err := db.AgentByEndpoint(ctx, "PJSIP/2000"); !errors.Is(err, earshot.ErrUserNotFound) {
			t.Fatalf("a supervisor without the agent role was found by endpoint: err = %v", err)
		}
	})
}

func TestDB_Pool(t *testing.T) {
	db, ctx := MustImport(t), context.Background()
	t.Run("OK", func(t *testing.T) {
		p, err := db.Pool(ctx, "sales")
		if err != nil || p.Org != "acme" || p.Number != "+35891234500" || !slices.Equal(p.Members, []string{"alice", "bob"}) {
			t.Fatalf("Pool = %+v, %v", p, err)
		}
	})
	t.Run("ErrPoolNotFound", func(t *testing.T) {
		if _, err := db.Pool(ctx, "marketing"); !errors.Is(err, earshot.ErrPoolNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDB_Orgs(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		orgs, err := MustImport(t).Orgs()
		if err != nil || len(orgs) != 2 || orgs[0].ID != "acme" || orgs[1].ID != "globex" {
			t.Fatalf("Orgs = %+v, %v", orgs, err)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		if orgs, err := MustOpen(t).Orgs(); err != nil || orgs == nil || len(orgs) != 0 {
			t.Fatalf("Orgs = %#v, %v; want an empty list", orgs, err)
		}
	})
}

func TestDB_Users(t *testing.T) {
	db := MustImport(t)
	for _, tt := range []struct {
		org  string
		want []string
	}{
		{"acme", []string{"alice", "bob", "sara"}},
		{"globex", []string{"gina", "gus"}},
		{"", []string{"alice", "bob", "gina", "gus", "sara"}},
		{"initech", []string{}},
	} {
		t.Run("OK/"+tt.org, func(t *testing.T) {
			users, err := db.Users(tt.org)
			must(t, err)
			if got := ids(users, func(u earshot.User) string { return u.ID }); !slices.Equal(got, tt.want) {
				t.Fatalf("Users(%q) = %v, want %v", tt.org, got, tt.want)
			}
		})
	}
}

func TestDB_PoolsOf(t *testing.T) {
	db := MustImport(t)
	for _, tt := range []struct {
		org  string
		want []string
	}{
		{"acme", []string{"sales"}},
		{"", []string{"helpdesk", "sales"}},
		{"initech", []string{}},
	} {
		t.Run("OK/"+tt.org, func(t *testing.T) {
			pools, err := db.PoolsOf(tt.org)
			must(t, err)
			if got := ids(pools, func(p earshot.Pool) string { return p.ID }); !slices.Equal(got, tt.want) {
				t.Fatalf("PoolsOf(%q) = %v, want %v", tt.org, got, tt.want)
			}
		})
	}
}

func TestDB_SetFeature(t *testing.T) {
	db, ctx := MustImport(t), context.Background()
	has := func(org string) bool {
		o, err := db.Org(ctx, org)
		must(t, err)
		return o.Has(earshot.FeatureSupervising)
	}
	t.Run("OK", func(t *testing.T) {
		for _, on := range []bool{true, true, false, false, true} {
			must(t, db.SetFeature(ctx, "globex", earshot.FeatureSupervising, on))
			if has("globex") != on {
				t.Fatalf("after SetFeature(%v): has = %v", on, !on)
			}
		}
		if o, _ := db.Org(ctx, "globex"); len(o.Features) != 1 {
			t.Fatalf("features = %v, want the feature once", o.Features)
		}
	})
	t.Run("ErrOrgNotFound", func(t *testing.T) {
		if err := db.SetFeature(ctx, "initech", earshot.FeatureSupervising, true); !errors.Is(err, earshot.ErrOrgNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		wantCode(t, db.SetFeature(ctx, "acme", "supervisng", true), earshot.EINVALID)
	})
}

// ids maps values to their ids.
func ids[T any](vs []T, id func(T) string) []string {
	out := []string{}
	for _, v := range vs {
		out = append(out, id(v))
	}
	return out
}
