package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/earshot/earshot"
)

func TestDB_PutPool(t *testing.T) {
	ctx := context.Background()
	support := earshot.Pool{ID: "support", Org: "acme", Name: "Support", Number: "+35891234501", Members: []string{"bob"}}
	t.Run("OK", func(t *testing.T) {
		db := MustImport(t)
		must(t, db.PutPool(ctx, support))
		p, err := db.Pool(ctx, "support")
		if err != nil || p.Name != "Support" || !slices.Equal(p.Members, []string{"bob"}) {
			t.Fatalf("Pool = %+v, %v", p, err)
		}
		support.Name = "Customer Support"
		must(t, db.PutPool(ctx, support))
		if p, _ := db.Pool(ctx, "support"); p.Name != "Customer Support" {
			t.Fatalf("after update: %+v", p)
		}
	})
	t.Run("ErrOrgNotFound", func(t *testing.T) {
		p := support
		p.Org, p.Members = "initech", nil
		if err := MustImport(t).PutPool(ctx, p); !errors.Is(err, earshot.ErrOrgNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		db := MustImport(t)
		for name, change := range map[string]func(p *earshot.Pool){
			"EmptyID":       func(p *earshot.Pool) { p.ID = "" },
			"Number":        func(p *earshot.Pool) { p.Number = "09 1234 501" },
			"MissingMember": func(p *earshot.Pool) { p.Members = []string{"mallory"} },
			"OtherOrg":      func(p *earshot.Pool) { p.Members = []string{"gus"} },
			"Twice":         func(p *earshot.Pool) { p.Members = []string{"bob", "bob"} },
		} {
			t.Run(name, func(t *testing.T) {
				p := support
				change(&p)
				wantCode(t, db.PutPool(ctx, p), earshot.EINVALID)
			})
		}
	})
}

func TestDB_DeletePool(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		db := MustImport(t)
		must(t, db.DeletePool(ctx, "helpdesk"))
		if _, err := db.Pool(ctx, "helpdesk"); !errors.Is(err, earshot.ErrPoolNotFound) {
			t.Fatalf("err = %v", err)
		}
		// gina's scope keeps the name: an empty scope would mean every pool.
		if gina, _ := db.User(ctx, "gina"); !slices.Equal(gina.Pools, []string{"helpdesk"}) {
			t.Fatalf("gina's scope = %v", gina.Pools)
		}
	})
	t.Run("ErrPoolNotFound", func(t *testing.T) {
		if err := MustImport(t).DeletePool(ctx, "marketing"); !errors.Is(err, earshot.ErrPoolNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
}
