package memdir_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/directory"
	"github.com/earshot/earshot/internal/memdir"
)

// MustLoad loads a directory fixture with the cheapest bcrypt cost.
func MustLoad(tb testing.TB, name string) *directory.File {
	tb.Helper()
	f, err := directory.Load(filepath.Join("..", "..", "testdata", "directory", name), "FI", directory.WithBcryptCost(bcrypt.MinCost))
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// MustMemory serves the demo directory.
func MustMemory(tb testing.TB) *memdir.Memory {
	tb.Helper()
	return memdir.New(MustLoad(tb, "demo.yaml"))
}

func TestMemory_Org(t *testing.T) {
	m, ctx := MustMemory(t), context.Background()
	t.Run("OK", func(t *testing.T) {
		o, err := m.Org(ctx, "acme")
		if err != nil || o.Name != "Acme Oy" || !o.Has(earshot.FeatureSupervising) {
			t.Fatalf("Org = %+v, %v", o, err)
		}
	})
	t.Run("ErrOrgNotFound", func(t *testing.T) {
		if _, err := m.Org(ctx, "initech"); !errors.Is(err, earshot.ErrOrgNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestMemory_User(t *testing.T) {
	m, ctx := MustMemory(t), context.Background()
	t.Run("OK", func(t *testing.T) {
		u, err := m.User(ctx, "alice")
		if err != nil || u.Org != "acme" || u.Endpoint != "Local/alice@earshot-test-phones" {
			t.Fatalf("User = %+v, %v", u, err)
		}
	})
	t.Run("ErrUserNotFound", func(t *testing.T) {
		if _, err := m.User(ctx, "mallory"); !errors.Is(err, earshot.ErrUserNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Copy", func(t *testing.T) {
		u, _ := m.User(ctx, "sara")
		u.Roles[0] = earshot.RoleAgent
		if u, _ := m.User(ctx, "sara"); !u.HasRole(earshot.RoleSupervisor) {
			t.Fatal("a caller changed the directory through a returned user")
		}
	})
}

func TestMemory_UserByPhone(t *testing.T) {
	m, ctx := MustMemory(t), context.Background()
	t.Run("OK", func(t *testing.T) {
		for number, want := range map[string]string{"+358401234567": "sara", "+358401234568": "gina"} {
			if u, err := m.UserByPhone(ctx, number); err != nil || u.ID != want {
				t.Errorf("UserByPhone(%s) = %s, %v; want %s", number, u.ID, err, want)
			}
		}
	})
	t.Run("ErrUserNotFound", func(t *testing.T) {
		for _, number := range []string{"+358409999999", "0401234567", ""} {
			if _, err := m.UserByPhone(ctx, number); !errors.Is(err, earshot.ErrUserNotFound) {
				t.Errorf("UserByPhone(%q): err = %v", number, err)
			}
		}
	})
}

func TestMemory_AgentByEndpoint(t *testing.T) {
	m, ctx := MustMemory(t), context.Background()
	t.Run("OK", func(t *testing.T) {
		for _, tt := range []struct{ endpoint, want string }{
			{"Local/alice@earshot-test-phones", "alice"},
			{"LOCAL/bob@earshot-test-phones", "bob"},
			// As the ARI layer asks: the endpoint of a channel name.
			{directory.EndpointOfChannel("Local/carol@earshot-test-phones-0000001a;1"), "carol"},
		} {
			if u, err := m.AgentByEndpoint(ctx, tt.endpoint); err != nil || u.ID != tt.want {
				t.Errorf("AgentByEndpoint(%s) = %s, %v; want %s", tt.endpoint, u.ID, err, tt.want)
			}
		}
	})
	t.Run("ErrUserNotFound", func(t *testing.T) {
		for _, endpoint := range []string{"Local/ALICE@earshot-test-phones", "Local/alice@earshot-test-phones-00000001;1", "PJSIP/1001", ""} {
			if _, err := m.AgentByEndpoint(ctx, endpoint); !errors.Is(err, earshot.ErrUserNotFound) {
				t.Errorf("AgentByEndpoint(%q): err = %v", endpoint, err)
			}
		}
	})
}

func TestMemory_Pool(t *testing.T) {
	m, ctx := MustMemory(t), context.Background()
	t.Run("OK", func(t *testing.T) {
		p, err := m.Pool(ctx, "support")
		if err != nil || p.Number != "+35891234501" || !slices.Equal(p.Members, []string{"carol"}) {
			t.Fatalf("Pool = %+v, %v", p, err)
		}
	})
	t.Run("ErrPoolNotFound", func(t *testing.T) {
		if _, err := m.Pool(ctx, "billing"); !errors.Is(err, earshot.ErrPoolNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestMemory_Lists(t *testing.T) {
	m := MustMemory(t)
	ids := func(n int, id func(int) string) []string {
		out := []string{}
		for i := range n {
			out = append(out, id(i))
		}
		return out
	}
	for _, tt := range []struct {
		org          string
		users, pools []string
	}{
		{"acme", []string{"sara", "alice", "bob", "carol"}, []string{"sales", "support"}},
		{"globex", []string{"gina", "gus"}, []string{"helpdesk"}},
		{"", []string{"sara", "alice", "bob", "carol", "gina", "gus"}, []string{"sales", "support", "helpdesk"}},
		{"initech", []string{}, []string{}},
	} {
		us, ps := m.Users(tt.org), m.PoolsOf(tt.org)
		if got := ids(len(us), func(i int) string { return us[i].ID }); !slices.Equal(got, tt.users) {
			t.Errorf("Users(%q) = %v, want %v", tt.org, got, tt.users)
		}
		if got := ids(len(ps), func(i int) string { return ps[i].ID }); !slices.Equal(got, tt.pools) {
			t.Errorf("PoolsOf(%q) = %v, want %v", tt.org, got, tt.pools)
		}
	}
	if orgs := m.Orgs(); len(orgs) != 2 || orgs[0].ID != "acme" || orgs[1].ID != "globex" {
		t.Errorf("Orgs = %+v", orgs)
	}
}

func TestMemory_SetPhoneNumber(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		m := MustMemory(t)
		if err := m.SetPhoneNumber(ctx, "sara", "+358409999999"); err != nil {
			t.Fatal(err)
		}
		if u, err := m.UserByPhone(ctx, "+358409999999"); err != nil || u.ID != "sara" {
			t.Errorf("new number: %s, %v", u.ID, err)
		}
		if _, err := m.UserByPhone(ctx, "+358401234567"); !errors.Is(err, earshot.ErrUserNotFound) {
			t.Errorf("old number still finds someone: %v", err)
		}
		if u, _ := m.User(ctx, "sara"); u.PhoneNumber != "+358409999999" {
			t.Errorf("PhoneNumber = %q", u.PhoneNumber)
		}
		// The old number is free for someone else now.
		if err := m.SetPhoneNumber(ctx, "gina", "+358401234567"); err != nil {
			t.Errorf("reuse of a freed number: %v", err)
		}
		// Setting one's own number again is fine.
		if err := m.SetPhoneNumber(ctx, "sara", "+358409999999"); err != nil {
			t.Errorf("same number again: %v", err)
		}
	})
	t.Run("Clear", func(t *testing.T) {
		m := MustMemory(t)
		if err := m.SetPhoneNumber(ctx, "sara", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := m.UserByPhone(ctx, "+358401234567"); !errors.Is(err, earshot.ErrUserNotFound) {
			t.Errorf("cleared number still finds someone: %v", err)
		}
		if u, _ := m.User(ctx, "sara"); u.PhoneNumber != "" {
			t.Errorf("PhoneNumber = %q", u.PhoneNumber)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		m := MustMemory(t)
		err := m.SetPhoneNumber(ctx, "gina", "+358401234567")
		if earshot.ErrorCode(err) != earshot.ECONFLICT {
			t.Fatalf("err = %v, want %s", err, earshot.ECONFLICT)
		}
		if u, _ := m.UserByPhone(ctx, "+358401234567"); u.ID != "sara" {
			t.Errorf("number moved to %q", u.ID)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		m := MustMemory(t)
		if err := m.SetPhoneNumber(ctx, "sara", "040 1234567"); earshot.ErrorCode(err) != earshot.EINVALID {
			t.Fatalf("err = %v, want %s", err, earshot.EINVALID)
		}
	})
	t.Run("ErrUserNotFound", func(t *testing.T) {
		m := MustMemory(t)
		if err := m.SetPhoneNumber(ctx, "mallory", "+358409999999"); !errors.Is(err, earshot.ErrUserNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestMemory_SetFeature(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		m := MustMemory(t)
		before, _ := m.Org(ctx, "globex")
		for _, on := range []bool{true, true, false, false, true} {
			if err := m.SetFeature("globex", earshot.FeatureSupervising, on); err != nil {
				t.Fatal(err)
			}
			o, _ := m.Org(ctx, "globex")
			if o.Has(earshot.FeatureSupervising) != on || len(o.Features) > 1 {
				t.Fatalf("after SetFeature(%v): features %v", on, o.Features)
			}
		}
		if before.Has(earshot.FeatureSupervising) {
			t.Error("a copy handed out earlier changed")
		}
	})
	t.Run("ErrOrgNotFound", func(t *testing.T) {
		if err := MustMemory(t).SetFeature("initech", earshot.FeatureSupervising, true); !errors.Is(err, earshot.ErrOrgNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		if err := MustMemory(t).SetFeature("acme", "recording", true); earshot.ErrorCode(err) != earshot.EINVALID {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestMemory_Replace(t *testing.T) {
	ctx := context.Background()
	m := MustMemory(t)
	_ = m.SetPhoneNumber(ctx, "sara", "+358409999999")

	f, err := directory.Parse(strings.NewReader(`
organizations: [{id: acme, features: [supervising]}]
users:
  - {id: alice, org: acme, name: Alice Renamed, roles: [agent], endpoint: PJSIP/1001}
pools: [{id: sales, org: acme, members: [alice]}]
`), "FI", directory.WithBcryptCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	m.Replace(f)
	if u, err := m.User(ctx, "alice"); err != nil || u.Name != "Alice Renamed" {
		t.Errorf("alice = %+v, %v", u, err)
	}
	if u, err := m.AgentByEndpoint(ctx, "PJSIP/1001"); err != nil || u.ID != "alice" {
		t.Errorf("new endpoint: %s, %v", u.ID, err)
	}
	for _, gone := range []func() error{
		func() error { _, err := m.User(ctx, "sara"); return err },
		func() error { _, err := m.UserByPhone(ctx, "+358409999999"); return err },
		func() error { _, err := m.AgentByEndpoint(ctx, "Local/alice@earshot-test-phones"); return err },
		func() error { _, err := m.Org(ctx, "globex"); return err },
		func() error { _, err := m.Pool(ctx, "support"); return err },
	} {
		if err := gone(); earshot.ErrorCode(err) != earshot.ENOTFOUND {
			t.Errorf("old entry still there: %v", err)
		}
	}

	m.Replace(nil)
	if us := m.Users(""); len(us) != 0 {
		t.Errorf("after Replace(nil): %d users", len(us))
	}
}

// TestMemory_Concurrent runs readers against writers; it proves its point
// under -race.
func TestMemory_Concurrent(t *testing.T) {
	ctx := context.Background()
	f := MustLoad(t, "demo.yaml")
	m := memdir.New(f)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for range 200 {
				_, _ = m.AgentByEndpoint(ctx, "Local/alice@earshot-test-phones")
				_, _ = m.UserByPhone(ctx, "+358401234567")
				_ = m.Users("acme")
				_ = m.PoolsOf("")
			}
		})
		wg.Go(func() {
			for j := range 50 {
				switch (i + j) % 3 {
				case 0:
					m.Replace(f)
				case 1:
					_ = m.SetFeature("globex", earshot.FeatureSupervising, j%2 == 0)
				default:
					_ = m.SetPhoneNumber(ctx, "gina", "")
				}
			}
		})
	}
	wg.Wait()
}
