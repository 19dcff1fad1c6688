package store_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/store"
)

// Every kind of write is seen by the next read of a user, pool or
// organization, though the read before it was answered from the kept
// records (cache.go).
func TestDB_CachedReadsSeeEveryWrite(t *testing.T) {
	ctx := context.Background()
	alice := testFile().Users[1]
	sales := testFile().Pools[0]
	// state is what the reads return, one line per record.
	state := func(t *testing.T, db *store.DB) string {
		t.Helper()
		var b strings.Builder
		u, err := db.User(ctx, "alice")
		fmt.Fprintf(&b, "user %q %v %q %v\n", u.Name, u.Roles, u.PhoneNumber, err)
		p, err := db.Pool(ctx, "sales")
		fmt.Fprintf(&b, "pool %q %v %v\n", p.Name, p.Members, err)
		o, err := db.Org(ctx, "acme")
		fmt.Fprintf(&b, "org %q %v %v\n", o.Name, o.Features, err)
		return b.String()
	}
	cases := []struct {
		name  string
		write func(db *store.DB) error
		want  string // lines state must show after the write
	}{
		{"PutUser", func(db *store.DB) error {
			u := alice
			u.Name = "Alice Renamed"
			return db.PutUser(ctx, u)
		}, `user "Alice Renamed"`},
		{"SetPhoneNumber", func(db *store.DB) error {
			return db.SetPhoneNumber(ctx, "alice", "+358401234599")
		}, `user "Alice Agent" [agent] "+358401234599"`},
		{"DeleteUser", func(db *store.DB) error { return db.DeleteUser(ctx, "alice") }, `user "" [] "" get user alice: ` + earshot.ErrUserNotFound.Error()},
		{"DeleteUserLeavesPool", func(db *store.DB) error { return db.DeleteUser(ctx, "alice") }, `pool "Sales" [bob]`},
		{"PutPool", func(db *store.DB) error {
			p := sales
			p.Name, p.Members = "Sales Renamed", []string{"bob"}
			return db.PutPool(ctx, p)
		}, `pool "Sales Renamed" [bob]`},
		{"DeletePool", func(db *store.DB) error { return db.DeletePool(ctx, "sales") }, `pool "" [] get pool sales: ` + earshot.ErrPoolNotFound.Error()},
		{"SetFeature", func(db *store.DB) error {
			return db.SetFeature(ctx, "acme", earshot.FeatureSupervising, false)
		}, `org "Acme Oy" [] <nil>`},
		{"ImportDirectory", func(db *store.DB) error {
			f := testFile()
			f.Users[1].Name, f.Pools[0].Name, f.Orgs[0].Name = "Alice Imported", "Sales Imported", "Acme Imported"
			_, err := db.ImportDirectory(ctx, f)
			return err
		}, `user "Alice Imported"` + "\n" + `pool "Sales Imported"` + "\n" + `org "Acme Imported"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := MustImport(t)
			before := state(t, db)
			if again := state(t, db); again != before {
				t.Fatalf("two reads differ:\n%s\n%s", before, again)
			}
			must(t, tc.write(db))
			got := state(t, db)
			for _, want := range strings.Split(tc.want, "\n") {
				if !strings.Contains(got, want) {
					t.Errorf("after the write the reads show\n%swant a line starting %q (before:\n%s)", got, want, before)
				}
			}
		})
	}
}

// A read of an id that does not exist is not remembered: the user created
// next is found at once.
func TestDB_CachedReadsMissNotKept(t *testing.T) {
	ctx := context.Background()
	db := MustImport(t)
	if _, err := db.User(ctx, "carol"); !errors.Is(err, earshot.ErrUserNotFound) {
		t.Fatalf("User(carol) = %v, want ErrUserNotFound", err)
	}
	must(t, db.PutUser(ctx, earshot.User{ID: "carol", Org: "acme", Name: "Carol", Roles: []string{earshot.RoleAgent}}))
	if u, err := db.User(ctx, "carol"); err != nil || u.Name != "Carol" {
		t.Fatalf("User(carol) after PutUser = %+v, %v", u, err)
	}
}

// A ctx that is done fails the read, kept record or not.
func TestDB_CachedReadsHonourContext(t *testing.T) {
	db := MustImport(t)
	_, err := db.User(context.Background(), "alice")
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.User(ctx, "alice"); !errors.Is(err, context.Canceled) {
		t.Fatalf("User with a cancelled ctx = %v, want context.Canceled", err)
	}
}

// What a read returns is the caller's: changing its slices changes
// nothing for the next reader.
func TestDB_CachedReadsAreCopies(t *testing.T) {
	ctx := context.Background()
	db := MustImport(t)
	for range 2 { // the first read fills the cache, the second is served from it
		u, err := db.User(ctx, "gina")
		must(t, err)
		u.Roles[0], u.Pools[0] = "changed", "changed"
		p, err := db.Pool(ctx, "sales")
		must(t, err)
		p.Members[0] = "changed"
		o, err := db.Org(ctx, "acme")
		must(t, err)
		o.Features[0] = "changed"
	}
	u, _ := db.User(ctx, "gina")
	p, _ := db.Pool(ctx, "sales")
	o, _ := db.Org(ctx, "acme")
	if u.Roles[0] != earshot.RoleSupervisor || u.Pools[0] != "helpdesk" || p.Members[0] != "alice" || o.Features[0] != earshot.FeatureSupervising {
		t.Fatalf("a caller's change reached the store's answers: %+v %+v %+v", u, p, o)
	}
}

// Readers racing a writer: once a write has returned, no read that starts
// afterwards returns anything older, and no reader ever sees a record go
// back to an older version. Run with -race.
func TestDB_CachedReadsRacingWrites(t *testing.T) {
	ctx := context.Background()
	db := MustImport(t)
	alice, sales := testFile().Users[1], testFile().Pools[0]
	const writes = 60
	var written atomic.Int64 // the last version whose write returned
	version := func(name string) int64 {
		_, v, _ := strings.Cut(name, " v")
		n, _ := strconv.ParseInt(v, 10, 64) // the imported name has none: 0
		return n
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Go(func() {
			var lastUser, lastPool int64
			for {
				select {
				case <-stop:
					return
				default:
				}
				want := written.Load()
				u, err := db.User(ctx, "alice")
				if err != nil {
					t.Errorf("reader %d: %v", r, err)
					return
				}
				p, err := db.Pool(ctx, "sales")
				if err != nil {
					t.Errorf("reader %d: %v", r, err)
					return
				}
				uv, pv := version(u.Name), version(p.Name)
				switch {
				case uv < want || pv < want:
					t.Errorf("reader %d: version %d of the user and %d of the pool after write %d had returned", r, uv, pv, want)
					return
				case pv < uv:
					// The pool's write i returned before the user's
					// began, and the pool is read after the user.
					t.Errorf("reader %d: user version %d, then pool version %d", r, uv, pv)
					return
				case uv < lastUser || pv < lastPool:
					t.Errorf("reader %d: went back from %d/%d to %d/%d", r, lastUser, lastPool, uv, pv)
					return
				}
				lastUser, lastPool = uv, pv
			}
		})
	}
	for i := int64(1); i <= writes; i++ {
		// The pool first: a reader that sees user version i then sees
		// pool version i or later.
		p := sales
		p.Name = fmt.Sprintf("Sales v%d", i)
		must(t, db.PutPool(ctx, p))
		u := alice
		u.Name = fmt.Sprintf("Alice v%d", i)
		must(t, db.PutUser(ctx, u))
		written.Store(i)
		if i%10 == 0 {
			// An unrelated write (a batched one) in between.
			must(t, db.Record(ctx, earshot.AuditEntry{Time: time.Unix(i, 0), Org: "acme", Kind: "test"}))
		}
	}
	close(stop)
	wg.Wait()
	u, err := db.User(ctx, "alice")
	if err != nil || u.Name != fmt.Sprintf("Alice v%d", writes) {
		t.Fatalf("after the last write: %+v, %v", u, err)
	}
}
