package store

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// openAlice opens a store holding organization acme and its user alice.
func openAlice(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "earshot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	err = db.update(context.Background(), func(tx *bolt.Tx) error {
		if err := put(tx.Bucket(bucketOrgs), "acme", map[string]any{"id": "acme", "features": []string{}}); err != nil {
			return err
		}
		return put(tx.Bucket(bucketUsers), "alice", userRecord{ID: "alice", Org: "acme", Name: "old"})
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// rename writes alice's name in a transaction of its own; hold, if not
// nil, is called inside the transaction before it commits.
func rename(db *DB, name string, hold func()) error {
	return db.update(context.Background(), func(tx *bolt.Tx) error {
		if hold != nil {
			hold()
		}
		return put(tx.Bucket(bucketUsers), "alice", userRecord{ID: "alice", Org: "acme", Name: name})
	})
}

func aliceName(t *testing.T, db *DB) string {
	t.Helper()
	u, err := db.User(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	return u.Name
}

// keptName is alice's name as db.records keeps it, "" if not kept.
func keptName(db *DB) string {
	v, ok := db.records.lookup(cachedUser, "alice")
	if !ok {
		return ""
	}
	return v.(userRecord).Name
}

// A read whose transaction began before a write and which finishes after
// the write returned does not keep the older record it read.
func TestRecords_ReadFinishingAfterWrite(t *testing.T) {
	db := openAlice(t)
	// cachedRead's steps, with the write between the read and the keep.
	gen, idle := db.records.generation()
	if !idle {
		t.Fatal("a write is under way in an idle store")
	}
	var old userRecord
	if err := db.view(context.Background(), func(tx *bolt.Tx) (err error) {
		old, err = getUser(tx, "alice")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := rename(db, "new", nil); err != nil {
		t.Fatal(err)
	}
	db.records.keep(gen, cachedUser, "alice", old)
	if got := keptName(db); got != "" {
		t.Fatalf("the read that overlapped the write kept %q", got)
	}
	if got := aliceName(t, db); got != "new" {
		t.Fatalf("after the write returned, User gives %q", got)
	}
	if got := keptName(db); got != "new" {
		t.Fatalf("a read after the write keeps %q, want new", got)
	}
}

// While a write is under way, reads go to the file and keep nothing: not
// the record before the write (the write may commit any moment), and a
// record kept before the write began is gone.
func TestRecords_ReadDuringWrite(t *testing.T) {
	db := openAlice(t)
	if got := aliceName(t, db); got != "old" || keptName(db) != "old" {
		t.Fatalf("before the write: User %q, kept %q", got, keptName(db))
	}
	inside, hold, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	release := sync.OnceFunc(func() { close(hold) })
	t.Cleanup(release) // before the store closes, should the test fail early
	go func() {
		done <- rename(db, "new", func() { close(inside); <-hold })
	}()
	<-inside
	if got := keptName(db); got != "" {
		t.Fatalf("a record is kept while a write is under way: %q", got)
	}
	if got := aliceName(t, db); got != "old" {
		t.Fatalf("during the write (not yet committed) User gives %q", got)
	}
	if got := keptName(db); got != "" {
		t.Fatalf("a read during the write kept %q", got)
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := aliceName(t, db); got != "new" {
		t.Fatalf("after the write returned, User gives %q", got)
	}
}

// A write that fails (rolled back) leaves the store as it was, and reads
// keep working from the kept records afterwards.
func TestRecords_FailedWrite(t *testing.T) {
	db := openAlice(t)
	aliceName(t, db)
	ctx, cancel := context.WithCancel(context.Background())
	err := db.update(ctx, func(tx *bolt.Tx) error {
		cancel() // update rolls back when ctx ends during fn
		return put(tx.Bucket(bucketUsers), "alice", userRecord{ID: "alice", Org: "acme", Name: "rolled back"})
	})
	if err == nil {
		t.Fatal("the write with a cancelled ctx committed")
	}
	if got := aliceName(t, db); got != "old" {
		t.Fatalf("after the failed write User gives %q", got)
	}
	if _, idle := db.records.generation(); !idle || keptName(db) != "old" {
		t.Fatalf("after the failed write: idle %v, kept %q", idle, keptName(db))
	}
}

// Every write of the store must go through DB.update or DB.batch, which
// tell db.records; a bbolt write called anywhere else would leave it
// answering with what that write changed. Open's migration runs before
// anything can be read.
func TestRecords_WritesGoThroughUpdate(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"update": true, "batch": true, "Open": true}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || allowed[fn.Name.Name] {
				continue
			}
			ast.Inspect(fn, func(n ast.Node) bool {
				call, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				recv, ok := call.X.(*ast.SelectorExpr)
				switch {
				case !ok || recv.Sel.Name != "bolt":
				case call.Sel.Name == "Update", call.Sel.Name == "Batch", call.Sel.Name == "Begin":
					t.Errorf("%s: %s writes through db.bolt.%s; use db.update or db.batch", fset.Position(call.Pos()), fn.Name.Name, call.Sel.Name)
				}
				return true
			})
		}
	}
}
