package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/earshot/earshot"
)

// Errors Open returns, wrapped with the path and the cause; test with
// errors.Is.
var (
	// ErrLocked means another process (or another DB in this one) has the
	// file open.
	ErrLocked = errors.New("the file is locked by another process (is earshot already running?)")
	// ErrNotDatabase means the file is not a bbolt database, is corrupt, or
	// is a bbolt database of another program.
	ErrNotDatabase = errors.New("not a valid Earshot database")
	// ErrNewerSchema means the file was written by a newer Earshot.
	ErrNewerSchema = errors.New("the database was written by a newer version of earshot")
)

// DB is the Earshot store: the directory, supervised lists, devices,
// pending offers and the audit trail in one bbolt file. It is safe for
// concurrent use.
type DB struct {
	bolt *bolt.DB
	path string
	now  func() time.Time
	// records keeps decoded users, pools and organizations (cache.go);
	// every write goes through update or batch, which tell it.
	records records
}

var (
	_ earshot.Directory = (*DB)(nil)
	_ earshot.AuditLog  = (*DB)(nil)
)

// Option adjusts how Open opens a store.
type Option func(*options)

type options struct {
	now         func() time.Time
	lockTimeout time.Duration
}

// WithNow sets the clock the store stamps records with (default
// time.Now); tests pass a fixed one.
func WithNow(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithLockTimeout sets how long Open waits for another process to release
// the file before it gives up with ErrLocked (default 1 s).
func WithLockTimeout(d time.Duration) Option {
	return func(o *options) { o.lockTimeout = d }
}

// Open opens the store at path, creating the file (mode 0600) if it does
// not exist, and migrates its schema to SchemaVersion in one transaction.
// The errors wrap ErrLocked when another process holds the file,
// ErrNotDatabase when the file is not an Earshot database, and
// ErrNewerSchema when it comes from a newer Earshot.
func Open(path string, opts ...Option) (db *DB, err error) {
	o := options{now: time.Now, lockTimeout: time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	if o.lockTimeout <= 0 {
		// bbolt reads 0 as "wait forever"; a caller asking for no wait
		// gets the shortest one instead.
		o.lockTimeout = time.Millisecond
	}

	if err := checkFile(path); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}

	// bbolt trusts the file it maps, and checkFile only reads its meta
	// pages: damage further in can still make bbolt panic. That becomes an
	// error here, and the file is closed so that its lock goes with it.
	var (
		file *os.File
		bdb  *bolt.DB
	)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			closeAfterPanic(bdb, file)
			db, err = nil, fmt.Errorf("open store %s: %w: %v", path, ErrNotDatabase, r)
		}
	}()

	bdb, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout: o.lockTimeout,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			file = f
			return f, err
		},
	})
	var pathErr *fs.PathError
	var errno syscall.Errno
	switch {
	case err == nil:
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("open store %s: %w", path, ErrLocked)
	case errors.As(err, &pathErr), errors.As(err, &errno):
		return nil, fmt.Errorf("open store %s: %w", path, err)
	default:
		// The rest are bbolt's verdicts on the contents: "invalid
		// database", a checksum or version mismatch, "file size too small".
		return nil, fmt.Errorf("open store %s: %w: %w", path, ErrNotDatabase, err)
	}

	// Record batches concurrent writers; bbolt's default wait of 10 ms
	// for a batch to fill would be added to every entry recorded alone.
	// A batch also fills while the previous one syncs, so 1 ms loses
	// little.
	bdb.MaxBatchDelay = time.Millisecond
	db = &DB{bolt: bdb, path: path, now: o.now}
	if err := db.bolt.Update(migrate); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return db, nil
}

// closeAfterPanic releases what a panicking Open had opened. Closing the
// DB unmaps the file; a mapping left behind would keep the lock held.
func closeAfterPanic(bdb *bolt.DB, file *os.File) {
	defer func() { _ = recover() }()
	if bdb != nil {
		_ = bdb.Close()
	}
	if file != nil {
		_ = file.Close()
	}
}

// Close closes the store. Transactions in flight finish first.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", db.path, err)
	}
	return nil
}

// Ready reports whether the store is open and readable (for /readyz).
func (db *DB) Ready() (bool, string) {
	if err := db.bolt.View(func(*bolt.Tx) error { return nil }); err != nil {
		return false, err.Error()
	}
	return true, ""
}

// Path returns the file the store was opened from.
func (db *DB) Path() string { return db.path }

// view runs fn in a read-only transaction, unless ctx is already done.
func (db *DB) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return db.bolt.View(fn)
}

// update runs fn in a read-write transaction, unless ctx is already done.
// A ctx that ends while fn runs rolls the transaction back. Every write
// of the store goes through update or batch, which tell db.records
// (cache.go) when it begins and when it has committed.
func (db *DB) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	db.records.beginWrite()
	defer db.records.endWrite()
	return db.bolt.Update(func(tx *bolt.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return ctx.Err()
	})
}

// batch runs fn in a read-write transaction that bbolt may share with
// other concurrent batch calls (one sync for all); fn may run more than
// once, after another fn in the batch failed.
func (db *DB) batch(fn func(tx *bolt.Tx) error) error {
	db.records.beginWrite()
	defer db.records.endWrite()
	return db.bolt.Batch(fn)
}

// Bucket names; see doc.go for what each holds.
var (
	bucketMeta          = []byte("meta")
	bucketOrgs          = []byte("orgs")
	bucketUsers         = []byte("users")
	bucketPools         = []byte("pools")
	bucketUsersByPhone  = []byte("users_by_phone")
	bucketAgentsByEndpt = []byte("agents_by_endpoint")
	bucketSupervised    = []byte("supervised")
	bucketSupervisorsOf = []byte("supervisors_of")
	bucketDevices       = []byte("devices")
	bucketDevicesByUser = []byte("devices_by_user")
	bucketAudit         = []byte("audit")
	bucketAuditByOrg    = []byte("audit_by_org")
	bucketOffers        = []byte("offers")
	bucketImported      = []byte("imported")

	keySchemaVersion = []byte("schema_version")
)

// buckets lists every bucket of the current schema; Open checks that the
// migrations left them all in place, so the methods can use tx.Bucket
// without checking for nil.
var buckets = [][]byte{
	bucketMeta, bucketOrgs, bucketUsers, bucketPools, bucketUsersByPhone,
	bucketAgentsByEndpt, bucketSupervised, bucketSupervisorsOf, bucketDevices,
	bucketDevicesByUser, bucketAudit, bucketAuditByOrg, bucketOffers,
	bucketImported,
}

// get decodes the JSON value at key into v; it reports whether key exists.
// json.Unmarshal copies what it keeps, so nothing in v points into the
// transaction's memory.
func get(b *bolt.Bucket, key string, v any) (bool, error) {
	data := b.Get([]byte(key))
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, fmt.Errorf("decode %q: %w", key, err)
	}
	return true, nil
}

// put stores v as JSON at key.
func put(b *bolt.Bucket, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	return b.Put([]byte(key), data)
}

// pairKey is the key of a pair in an index bucket: a, a NUL byte, b. Ids
// never contain NUL (checkID), so the pairs of a sort together and a
// prefix scan finds them.
func pairKey(a, b string) []byte {
	k := make([]byte, 0, len(a)+1+len(b))
	k = append(k, a...)
	k = append(k, 0)
	return append(k, b...)
}

// seconds returns the second halves of the pair keys in b that start with
// a, in key order. The strings are copies.
func seconds(b *bolt.Bucket, a string) []string {
	prefix := pairKey(a, "")
	out := []string{}
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && len(k) >= len(prefix) && string(k[:len(prefix)]) == string(prefix); k, _ = c.Next() {
		out = append(out, string(k[len(prefix):]))
	}
	return out
}

// checkID returns an EINVALID error for an id the store cannot key by:
// empty, longer than 255 bytes, or holding a NUL byte (the separator of
// pair keys). The directory file allows far less (directory.Parse).
func checkID(kind, id string) error {
	switch {
	case id == "":
		return earshot.Errorf(earshot.EINVALID, "%s id is empty", kind)
	case len(id) > 255:
		return earshot.Errorf(earshot.EINVALID, "%s id is longer than 255 bytes", kind)
	}
	for i := 0; i < len(id); i++ {
		if id[i] == 0 {
			return earshot.Errorf(earshot.EINVALID, "%s id %q holds a NUL byte", kind, id)
		}
	}
	return nil
}
