package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/directory"
	"github.com/earshot/earshot/store"
)

// now is the store's clock in tests.
var now = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

// MustOpen opens a new store in a temporary folder, closed when the test
// ends.
func MustOpen(tb testing.TB, opts ...store.Option) *store.DB {
	tb.Helper()
	return MustOpenPath(tb, filepath.Join(tb.TempDir(), "earshot.db"), opts...)
}

// MustOpenPath opens the store at path, closed when the test ends.
func MustOpenPath(tb testing.TB, path string, opts ...store.Option) *store.DB {
	tb.Helper()
	db, err := store.Open(path, append([]store.Option{store.WithNow(func() time.Time { return now })}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db
}

// MustReopen closes db and opens its file again.
func MustReopen(tb testing.TB, db *store.DB) *store.DB {
	tb.Helper()
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
	return MustOpenPath(tb, db.Path())
}

// MustImport opens a store holding the test directory.
func MustImport(tb testing.TB) *store.DB {
	tb.Helper()
	db := MustOpen(tb)
	if _, err := db.ImportDirectory(context.Background(), testFile()); err != nil {
		tb.Fatal(err)
	}
	return db
}

// testFile is a directory of two organizations, as directory.Parse would
// return it.
func testFile() *directory.File {
	return &directory.File{
		Orgs: []earshot.Organization{
			{ID: "acme", Name: "Acme Oy", Features: []string{earshot.FeatureSupervising}},
			{ID: "globex", Name: "Globex Oy", Features: []string{}},
		},
		Users: []earshot.User{
			{ID: "sara", Org: "acme", Name: "Sara Supervisor", Roles: []string{earshot.RoleSupervisor}, PhoneNumber: "+358401234567", PasswordHash: "$2a$04$saltsaltsaltsaltsaltsuhashhashhashhashhashhashhashhas"},
			{ID: "alice", Org: "acme", Name: "Alice Agent", Roles: []string{earshot.RoleAgent}, Endpoint: "PJSIP/1001"},
			{ID: "bob", Org: "acme", Name: "Bob Agent", Roles: []string{earshot.RoleAgent}, Endpoint: "PJSIP/1002"},
			{ID: "gina", Org: "globex", Name: "Gina Supervisor", Roles: []string{earshot.RoleSupervisor}, PhoneNumber: "+358401234568", Pools: []string{"helpdesk"}},
			{ID: "gus", Org: "globex", Name: "Gus Agent", Roles: []string{earshot.RoleAgent}, Endpoint: "Local/gus@phones"},
		},
		Pools: []earshot.Pool{
			{ID: "sales", Org: "acme", Name: "Sales", Number: "+35891234500", Members: []string{"alice", "bob"}},
			{ID: "helpdesk", Org: "globex", Name: "Helpdesk", Number: "+35891234502", Members: []string{"gus"}},
		},
	}
}

// wantCode fails the test unless err carries the earshot error code.
func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := earshot.ErrorCode(err); got != code {
		tb.Fatalf("err = %v (code %q), want code %q", err, got, code)
	}
}

// canceled is a context that has ended.
func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestOpen(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		db := MustOpen(t)
		if _, err := db.Orgs(); err != nil {
			t.Fatal(err)
		}
		if v := schemaVersion(t, MustClose(t, db)); v != strconv.Itoa(store.SchemaVersion) {
			t.Fatalf("schema_version = %q, want %d", v, store.SchemaVersion)
		}
	})
	t.Run("Migrate", func(t *testing.T) {
		// A bbolt file with nothing in it is version 0.
		path := filepath.Join(t.TempDir(), "earshot.db")
		writeBolt(t, path, func(tx *bolt.Tx) error { return nil })
		MustClose(t, MustOpenPath(t, path))
		if v := schemaVersion(t, path); v != strconv.Itoa(store.SchemaVersion) {
			t.Fatalf("schema_version = %q, want %d", v, store.SchemaVersion)
		}
	})
	t.Run("ErrNewerSchema", func(t *testing.T) {
		path := MustClose(t, MustOpen(t))
		writeBolt(t, path, func(tx *bolt.Tx) error { return tx.Bucket([]byte("meta")).Put([]byte("schema_version"), []byte("99")) })
		_, err := store.Open(path)
		if !errors.Is(err, store.ErrNewerSchema) || !strings.Contains(err.Error(), "schema version 99") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrLocked", func(t *testing.T) {
		db := MustOpen(t)
		start := time.Now()
		_, err := store.Open(db.Path())
		elapsed := time.Since(start)
		want := "open store " + db.Path() + ": the file is locked by another process (is earshot already running?)"
		if !errors.Is(err, store.ErrLocked) || err.Error() != want {
			t.Fatalf("err = %v, want %s", err, want)
		}
		if elapsed > 2*time.Second {
			t.Fatalf("Open gave up after %v, want about 1 s", elapsed)
		}
		if _, err := store.Open(db.Path(), store.WithLockTimeout(50*time.Millisecond)); !errors.Is(err, store.ErrLocked) {
			t.Fatalf("short timeout: err = %v", err)
		}
	})
	t.Run("ErrNotDatabase", func(t *testing.T) {
		valid, err := os.ReadFile(MustClose(t, MustOpen(t)))
		if err != nil {
			t.Fatal(err)
		}
		zeroed := append([]byte(nil), valid...)
		clear(zeroed[:8192])
		foreign := filepath.Join(t.TempDir(), "other.db")
		writeBolt(t, foreign, func(tx *bolt.Tx) error {
			_, err := tx.CreateBucket([]byte("widgets"))
			return err
		})
		foreignData, err := os.ReadFile(foreign)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name string
			data []byte
			want string
		}{
			{"Text", []byte("organizations:\n  - id: acme\n"), "not a bbolt database"},
			{"Zeros", make([]byte, 64<<10), "not a bbolt database"},
			{"Random", pseudoRandom(64 << 10), "not a bbolt database"},
			{"MetaZeroed", zeroed, "not a bbolt database"},
			{"Truncated", valid[:8192], "the file is truncated (8192 bytes of "},
			{"Foreign", foreignData, `another program (buckets "widgets")`},
		} {
			t.Run(tt.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "earshot.db")
				if err := os.WriteFile(path, tt.data, 0o600); err != nil {
					t.Fatal(err)
				}
				db, err := store.Open(path)
				if err == nil {
					db.Close()
				}
				prefix := "open store " + path + ": not a valid Earshot database: "
				if !errors.Is(err, store.ErrNotDatabase) || !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want %s…%s", err, prefix, tt.want)
				}
				// The file is not left locked.
				if err := os.WriteFile(path, nil, 0o600); err != nil {
					t.Fatal(err)
				}
				MustOpenPath(t, path, store.WithLockTimeout(100*time.Millisecond))
			})
		}
	})
	t.Run("TruncatedAnywhere", func(t *testing.T) {
		// A copy cut short anywhere opens, or fails with ErrNotDatabase;
		// it never crashes the process or leaves the file locked.
		db := MustImport(t)
		for range 50 {
			must(t, db.Record(context.Background(), earshot.AuditEntry{Kind: earshot.AuditConnect, Org: "acme"}))
		}
		valid, err := os.ReadFile(MustClose(t, db))
		must(t, err)
		dir := t.TempDir()
		for n := 512; n < len(valid); n += 512 {
			path := filepath.Join(dir, fmt.Sprintf("cut-%d.db", n))
			must(t, os.WriteFile(path, valid[:n], 0o600))
			db, err := store.Open(path, store.WithLockTimeout(10*time.Millisecond))
			switch {
			case err == nil:
				must(t, db.Close())
			case !errors.Is(err, store.ErrNotDatabase):
				t.Fatalf("%d bytes: err = %v", n, err)
			}
			db, err = store.Open(path, store.WithLockTimeout(10*time.Millisecond))
			if errors.Is(err, store.ErrLocked) {
				t.Fatalf("%d bytes: the failed Open left the file locked", n)
			} else if err == nil {
				must(t, db.Close())
			}
		}
	})
	t.Run("DamagedAnywhere", func(t *testing.T) {
		// A page of garbage anywhere past the meta pages opens, or fails
		// with ErrNotDatabase; it never crashes the process.
		valid, err := os.ReadFile(MustClose(t, MustImport(t)))
		must(t, err)
		dir, garbage := t.TempDir(), pseudoRandom(4096)
		for off := 8192; off+4096 <= len(valid); off += 4096 {
			data := slices.Clone(valid)
			copy(data[off:], garbage)
			path := filepath.Join(dir, fmt.Sprintf("damaged-%d.db", off))
			must(t, os.WriteFile(path, data, 0o600))
			db, err := store.Open(path)
			switch {
			case err == nil:
				must(t, db.Close())
			case !errors.Is(err, store.ErrNotDatabase):
				t.Fatalf("page at %d: err = %v", off, err)
			}
		}
	})
	t.Run("ErrNotExist", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "missing", "earshot.db")
		if _, err := store.Open(path); !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "open store "+path+": ") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDB_Close(t *testing.T) {
	t.Run("Reopen", func(t *testing.T) {
		db, ctx := MustImport(t), context.Background()
		must(t, db.SetPhoneNumber(ctx, "alice", "+358401111111"))
		must(t, db.SetFeature(ctx, "globex", earshot.FeatureSupervising, true))
		must(t, db.Supervise(ctx, "sara", "alice"))
		must(t, db.PutDevice(ctx, store.Device{Token: "tok", User: "sara", Platform: store.PlatformIOS}))
		must(t, db.Record(ctx, earshot.AuditEntry{Kind: earshot.AuditConnect, Org: "acme"}))
		must(t, db.PutOffer(ctx, earshot.Offer{ID: "o1", Supervisor: "sara", Agent: "alice", Code: "1234"}))
		before := snapshot(t, db)

		db = MustReopen(t, db)
		if after := snapshot(t, db); after != before {
			t.Fatalf("after reopen:\n%s\nbefore:\n%s", after, before)
		}
	})
	t.Run("Twice", func(t *testing.T) {
		db := MustOpen(t)
		must(t, db.Close())
		must(t, db.Close())
	})
	t.Run("Ready", func(t *testing.T) {
		db := MustOpen(t)
		if ok, why := db.Ready(); !ok {
			t.Fatalf("open store not ready: %s", why)
		}
		must(t, db.Close())
		if ok, why := db.Ready(); ok || why == "" {
			t.Fatalf("closed store ready = %v (%q), want not ready with a reason", ok, why)
		}
	})
}

func TestDB_TokenKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "earshot.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	k1, err := db.TokenKey(context.Background())
	if err != nil || len(k1) != store.TokenKeySize {
		t.Fatalf("TokenKey = %x, %v", k1, err)
	}
	db.Close()
	db, err = store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	k2, _ := db.TokenKey(context.Background())
	if string(k1) != string(k2) {
		t.Fatal("the token key changed across a restart")
	}
}
