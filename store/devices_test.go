package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/store"
)

func TestDB_PutDevice(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		db := MustImport(t)
		must(t, db.PutDevice(ctx, store.Device{Token: "t2", User: "sara", Platform: store.PlatformIOS}))
		at := now.Add(-time.Hour)
		must(t, db.PutDevice(ctx, store.Device{Token: "t1", User: "sara", Platform: store.PlatformAndroid, UpdatedAt: at}))
		ds, err := db.Devices(ctx, "sara")
		must(t, err)
		if len(ds) != 2 || ds[0].Token != "t1" || !ds[0].UpdatedAt.Equal(at) || ds[1].Token != "t2" || !ds[1].UpdatedAt.Equal(now) || ds[1].Platform != store.PlatformIOS {
			t.Fatalf("Devices = %+v", ds)
		}
	})
	t.Run("MovesToNewUser", func(t *testing.T) {
		db := MustImport(t)
		must(t, db.PutDevice(ctx, store.Device{Token: "shared", User: "sara", Platform: store.PlatformAndroid}))
		must(t, db.PutDevice(ctx, store.Device{Token: "shared", User: "gina", Platform: store.PlatformAndroid}))
		if ds, _ := db.Devices(ctx, "sara"); len(ds) != 0 {
			t.Fatalf("sara still has %+v", ds)
		}
		if ds, _ := db.Devices(ctx, "gina"); len(ds) != 1 || ds[0].User != "gina" {
			t.Fatalf("gina has %+v", ds)
		}
	})
	t.Run("ErrUserNotFound", func(t *testing.T) {
		err := MustImport(t).PutDevice(ctx, store.Device{Token: "t", User: "mallory", Platform: store.PlatformIOS})
		if !errors.Is(err, earshot.ErrUserNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		db := MustImport(t)
		for _, d := range []store.Device{
			{Token: "", User: "sara", Platform: store.PlatformIOS},
			{Token: strings.Repeat("t", 4097), User: "sara", Platform: store.PlatformIOS},
			{Token: "t", User: "sara", Platform: "windows"},
		} {
			wantCode(t, db.PutDevice(ctx, d), earshot.EINVALID)
		}
	})
}

func TestDB_DeleteDevice(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		db := MustImport(t)
		must(t, db.PutDevice(ctx, store.Device{Token: "t1", User: "sara", Platform: store.PlatformIOS}))
		must(t, db.DeleteDevice(ctx, "t1"))
		must(t, db.DeleteDevice(ctx, "t1")) // again: no change
		must(t, db.DeleteDevice(ctx, "never-registered"))
		if ds, _ := db.Devices(ctx, "sara"); len(ds) != 0 {
			t.Fatalf("Devices = %+v", ds)
		}
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		if err := MustImport(t).DeleteDevice(canceled(), "t1"); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDB_Devices(t *testing.T) {
	db, ctx := MustImport(t), context.Background()
	t.Run("OK", func(t *testing.T) {
		if ds, err := db.Devices(ctx, "mallory"); err != nil || ds == nil || len(ds) != 0 {
			t.Fatalf("Devices = %#v, %v; want an empty list", ds, err)
		}
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		if _, err := db.Devices(canceled(), "sara"); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDB_DeleteDevicesOf(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		db := MustImport(t)
		for _, tok := range []string{"a", "b"} {
			must(t, db.PutDevice(ctx, store.Device{Token: tok, User: "sara", Platform: store.PlatformIOS}))
		}
		must(t, db.PutDevice(ctx, store.Device{Token: "c", User: "gina", Platform: store.PlatformIOS}))
		must(t, db.DeleteDevicesOf(ctx, "sara"))
		must(t, db.DeleteDevicesOf(ctx, "sara"))
		if ds, _ := db.Devices(ctx, "sara"); len(ds) != 0 {
			t.Fatalf("sara has %+v", ds)
		}
		if ds, _ := db.Devices(ctx, "gina"); len(ds) != 1 {
			t.Fatalf("gina has %+v", ds)
		}
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		if err := MustImport(t).DeleteDevicesOf(canceled(), "sara"); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDB_DeleteDeviceOf(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name, user string
		wantGone   bool
	}{
		{"OK", "sara", true},
		{"OtherUsersTokenIsLeftAlone", "mallory", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := MustImport(t)
			must(t, db.PutDevice(ctx, store.Device{Token: "tok-1", User: "sara", Platform: store.PlatformAndroid}))
			must(t, db.DeleteDeviceOf(ctx, tc.user, "tok-1"))
			ds, err := db.Devices(ctx, "sara")
			must(t, err)
			if gone := len(ds) == 0; gone != tc.wantGone {
				t.Fatalf("devices of sara = %+v, want gone=%v", ds, tc.wantGone)
			}
		})
	}
}
