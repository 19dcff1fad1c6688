package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/earshot/earshot"
)

func TestDB_Supervise(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		db := MustImport(t)
		must(t, db.Supervise(ctx, "sara", "bob"))
		must(t, db.Supervise(ctx, "sara", "alice"))
		must(t, db.Supervise(ctx, "sara", "alice")) // again: no change
		must(t, db.Supervise(ctx, "gina", "alice"))
		if ids, err := db.SupervisedBy(ctx, "sara"); err != nil || !slices.Equal(ids, []string{"alice", "bob"}) {
			t.Fatalf("SupervisedBy = %v, %v", ids, err)
		}
		if ids, err := db.SupervisorsOf(ctx, "alice"); err != nil || !slices.Equal(ids, []string{"gina", "sara"}) {
			t.Fatalf("SupervisorsOf = %v, %v", ids, err)
		}
	})
	t.Run("ErrUserNotFound", func(t *testing.T) {
		db := MustImport(t)
		for _, pair := range [][2]string{{"mallory", "alice"}, {"sara", "mallory"}} {
			if err := db.Supervise(ctx, pair[0], pair[1]); !errors.Is(err, earshot.ErrUserNotFound) {
				t.Errorf("Supervise(%s, %s): err = %v", pair[0], pair[1], err)
			}
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		wantCode(t, MustImport(t).Supervise(ctx, "sara", "sara"), earshot.EINVALID)
	})
}

func TestDB_Unsupervise(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		db := MustImport(t)
		must(t, db.Supervise(ctx, "sara", "alice"))
		must(t, db.Supervise(ctx, "sara", "bob"))
		must(t, db.Unsupervise(ctx, "sara", "alice"))
		must(t, db.Unsupervise(ctx, "sara", "alice")) // again: no change
		must(t, db.Unsupervise(ctx, "mallory", "alice"))
		if ids, _ := db.SupervisedBy(ctx, "sara"); !slices.Equal(ids, []string{"bob"}) {
			t.Fatalf("SupervisedBy = %v", ids)
		}
		if ids, _ := db.SupervisorsOf(ctx, "alice"); len(ids) != 0 {
			t.Fatalf("SupervisorsOf = %v", ids)
		}
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		if err := MustImport(t).Unsupervise(canceled(), "sara", "alice"); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDB_SupervisedBy(t *testing.T) {
	db, ctx := MustImport(t), context.Background()
	must(t, db.Supervise(ctx, "sara", "alice"))
	t.Run("OK", func(t *testing.T) {
		// "sar" is a prefix of "sara": the pair keys must not mix them.
		for sup, want := range map[string][]string{"sara": {"alice"}, "sar": {}, "gina": {}, "mallory": {}} {
			if ids, err := db.SupervisedBy(ctx, sup); err != nil || !slices.Equal(ids, want) || ids == nil {
				t.Errorf("SupervisedBy(%s) = %#v, %v; want %v", sup, ids, err, want)
			}
		}
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		if _, err := db.SupervisedBy(canceled(), "sara"); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDB_SupervisorsOf(t *testing.T) {
	db, ctx := MustImport(t), context.Background()
	must(t, db.PutUser(ctx, earshot.User{ID: "sa", Org: "acme", Roles: []string{earshot.RoleSupervisor}}))
	must(t, db.Supervise(ctx, "sara", "alice"))
	must(t, db.Supervise(ctx, "sa", "alice"))
	t.Run("OK", func(t *testing.T) {
		if ids, err := db.SupervisorsOf(ctx, "alice"); err != nil || !slices.Equal(ids, []string{"sa", "sara"}) {
			t.Fatalf("SupervisorsOf = %v, %v", ids, err)
		}
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		if _, err := db.SupervisorsOf(canceled(), "alice"); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}
