package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
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
	t.Run("ErrTokenTaken", func(t *testing.T) {
		// Knowing sara's token does not let gina move it to herself.
		db := MustImport(t)
		must(t, db.PutDevice(ctx, store.Device{Token: "shared", User: "sara", Platform: store.PlatformAndroid}))
		err := db.PutDevice(ctx, store.Device{Token: "shared", User: "gina", Platform: store.PlatformIOS})
		if !errors.Is(err, store.ErrTokenTaken) || earshot.ErrorCode(err) != earshot.ECONFLICT {
			t.Fatalf("err = %v, want ErrTokenTaken", err)
		}
		if ds, _ := db.Devices(ctx, "sara"); len(ds) != 1 || ds[0].Platform != store.PlatformAndroid {
			t.Fatalf("sara has %+v", ds)
		}
		if ds, _ := db.Devices(ctx, "gina"); len(ds) != 0 {
			t.Fatalf("gina has %+v", ds)
		}
		// Once sara deregisters it, gina may register it.
		must(t, db.DeleteDeviceOf(ctx, "sara", "shared"))
		must(t, db.PutDevice(ctx, store.Device{Token: "shared", User: "gina", Platform: store.PlatformIOS}))
		if ds, _ := db.Devices(ctx, "gina"); len(ds) != 1 {
			t.Fatalf("gina has %+v", ds)
		}
	})
	t.Run("AgainIsIdempotent", func(t *testing.T) {
		db := MustImport(t)
		must(t, db.PutDevice(ctx, store.Device{Token: "t", User: "sara", Platform: store.PlatformAndroid, UpdatedAt: now.Add(-time.Hour)}))
		must(t, db.PutDevice(ctx, store.Device{Token: "t", User: "sara", Platform: store.PlatformIOS}))
		if ds, _ := db.Devices(ctx, "sara"); len(ds) != 1 || ds[0].Platform != store.PlatformIOS || !ds[0].UpdatedAt.Equal(now) {
			t.Fatalf("sara has %+v", ds)
		}
	})
	t.Run("EvictsLeastRecent", func(t *testing.T) {
		db := MustImport(t)
		for i := range store.MaxDevicesPerUser {
			must(t, db.PutDevice(ctx, store.Device{Token: fmt.Sprintf("t%02d", i), User: "sara", Platform: store.PlatformIOS,
				UpdatedAt: now.Add(time.Duration(i-100) * time.Minute)}))
		}
		// t00 is re-registered (now the most recent): t01 goes.
		must(t, db.PutDevice(ctx, store.Device{Token: "t00", User: "sara", Platform: store.PlatformIOS}))
		must(t, db.PutDevice(ctx, store.Device{Token: "new", User: "sara", Platform: store.PlatformIOS}))
		ds, _ := db.Devices(ctx, "sara")
		var toks []string
		for _, d := range ds {
			toks = append(toks, d.Token)
		}
		if len(ds) != store.MaxDevicesPerUser || slices.Contains(toks, "t01") || !slices.Contains(toks, "t00") || !slices.Contains(toks, "new") {
			t.Fatalf("tokens %v", toks)
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

// maxFloodDB is what the database file may reach after a device flood
// (README, "Operating": 1,000 registrations of 4 KB tokens by one user).
const maxFloodDB = 1 << 20

// One user registering 1,000 tokens of 4 KB keeps MaxDevicesPerUser of
// them, and the file stays small: bbolt reuses the pages freed.
func TestDB_PutDevice_Flood(t *testing.T) {
	ctx := context.Background()
	db := MustImport(t)
	pad := strings.Repeat("x", store.MaxTokenLen-8)
	for i := range 1000 {
		must(t, db.PutDevice(ctx, store.Device{Token: fmt.Sprintf("%s%08d", pad, i), User: "sara", Platform: store.PlatformAndroid}))
	}
	if ds, _ := db.Devices(ctx, "sara"); len(ds) != store.MaxDevicesPerUser {
		t.Fatalf("%d devices, want %d", len(ds), store.MaxDevicesPerUser)
	}
	fi, err := os.Stat(db.Path())
	must(t, err)
	t.Logf("database after the flood: %d KiB", fi.Size()>>10)
	if fi.Size() > maxFloodDB {
		t.Fatalf("database %d KiB, want at most %d KiB", fi.Size()>>10, maxFloodDB>>10)
	}
}
