package store_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/store"
)

// MustPopulate opens a store with something in every bucket.
func MustPopulate(tb testing.TB) *store.DB {
	tb.Helper()
	db, ctx := MustImport(tb), context.Background()
	must(tb, db.SetPhoneNumber(ctx, "bob", "+358401111111"))
	must(tb, db.Supervise(ctx, "sara", "alice"))
	must(tb, db.PutDevice(ctx, store.Device{Token: "tok", User: "sara", Platform: store.PlatformAndroid}))
	must(tb, db.Record(ctx, earshot.AuditEntry{Kind: earshot.AuditConnect, Org: "acme"}))
	must(tb, db.PutOffer(ctx, earshot.Offer{ID: "o1", Supervisor: "sara", Code: "4711"}))
	return db
}

func TestDB_Backup(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		db := MustPopulate(t)
		var buf bytes.Buffer
		n, err := db.Backup(&buf)
		must(t, err)
		if n != int64(buf.Len()) {
			t.Fatalf("Backup returned %d, wrote %d", n, buf.Len())
		}
		path := filepath.Join(t.TempDir(), "copy.db")
		must(t, os.WriteFile(path, buf.Bytes(), 0o600))
		if got, want := snapshot(t, MustOpenPath(t, path)), snapshot(t, db); got != want {
			t.Fatalf("the copy holds\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("InUse", func(t *testing.T) {
		// A backup taken while writers carry on is a consistent database.
		db, ctx := MustPopulate(t), context.Background()
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 25 {
					if err := db.Record(ctx, earshot.AuditEntry{Kind: earshot.AuditMode}); err != nil {
						t.Error(err)
					}
				}
			})
		}
		var buf bytes.Buffer
		_, err := db.Backup(&buf)
		wg.Wait()
		must(t, err)
		path := filepath.Join(t.TempDir(), "copy.db")
		must(t, os.WriteFile(path, buf.Bytes(), 0o600))
		copied := MustOpenPath(t, path)
		rs, err := copied.Audit(ctx, store.AuditQuery{Limit: store.MaxAuditLimit})
		must(t, err)
		for i, r := range rs {
			if r.Seq != uint64(len(rs)-i) {
				t.Fatalf("the copy's audit trail has a gap at %d", r.Seq)
			}
		}
	})
	t.Run("ErrWrite", func(t *testing.T) {
		// bbolt formats the writer's error with %s, so match the text.
		if _, err := MustOpen(t).Backup(failingWriter{}); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDB_BackupFile(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		db := MustPopulate(t)
		dir := t.TempDir()
		path := filepath.Join(dir, "backup.db")
		must(t, os.WriteFile(path, []byte("an older backup"), 0o600))
		must(t, db.BackupFile(path))
		if got, want := snapshot(t, MustOpenPath(t, path)), snapshot(t, db); got != want {
			t.Fatalf("the copy holds\n%s\nwant\n%s", got, want)
		}
		entries, err := os.ReadDir(dir)
		must(t, err)
		if len(entries) != 1 {
			t.Fatalf("the folder holds %v, want only the backup", entries)
		}
		fi, err := os.Stat(path)
		must(t, err)
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
		}
	})
	t.Run("ErrNotExist", func(t *testing.T) {
		err := MustOpen(t).BackupFile(filepath.Join(t.TempDir(), "missing", "backup.db"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("err = %v", err)
		}
	})
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
