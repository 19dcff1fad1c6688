package store

import (
	"context"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/earshot/earshot"
)

// records keeps the directory records that every API request reads —
// users, pools, organizations — decoded, so a read is a map lookup
// instead of a transaction and a JSON decode (the pool users view reads
// every member: decoding them was a third of the API's CPU).
//
// It never answers with data older than the last write that returned,
// because it holds nothing while a write is under way and keeps only
// what was read while none was:
//   - every write (DB.update, DB.batch) calls beginWrite before its
//     transaction begins and endWrite after it has committed or rolled
//     back; both empty the records and move the generation on;
//   - while any write is under way, lookups miss and nothing is kept,
//     so reads go to the file, which bbolt keeps consistent;
//   - a read that misses notes the generation before its transaction
//     begins and keeps what it read only if the generation has not moved
//     since: no write began (let alone committed) while it read.
//
// The process is the file's only writer (bbolt's file lock), and every
// write in this package goes through update or batch (a test checks), so
// no write escapes it. Emptying on every write, not just on writes to these
// buckets, keeps that true without each write having to say what it
// touched; writes are rare next to reads. Only records that exist are
// kept, so the size is bounded by the directory, whatever ids requests
// name.
type records struct {
	mu      sync.RWMutex
	gen     uint64 // writes begun and ended so far
	writing int    // writes under way
	kept    [recordKinds]map[string]any
}

// recordKind is the bucket a record comes from.
type recordKind uint8

const (
	cachedUser recordKind = iota
	cachedPool
	cachedOrg
	recordKinds // how many kinds there are
)

// lookup returns the record of this kind at id if it is kept.
func (r *records) lookup(kind recordKind, id string) (any, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v, ok := r.kept[kind][id]
	return v, ok
}

// generation returns the generation a read notes before its transaction
// begins; ok is false while a write is under way (nothing read then may
// be kept).
func (r *records) generation() (gen uint64, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.gen, r.writing == 0
}

// keep stores v as the record of this kind at id if the generation is
// still gen, the one noted before the transaction that read v began.
func (r *records) keep(gen uint64, kind recordKind, id string, v any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gen != gen || r.writing != 0 {
		return
	}
	if r.kept[kind] == nil {
		r.kept[kind] = map[string]any{}
	}
	r.kept[kind][id] = v
}

// beginWrite is called before a write transaction begins, endWrite once
// it has committed (its changes visible to new transactions) or rolled
// back.
func (r *records) beginWrite() { r.change(+1) }
func (r *records) endWrite()   { r.change(-1) }

func (r *records) change(writing int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gen++
	r.writing += writing
	for _, m := range r.kept {
		clear(m)
	}
}

// cachedRead returns the record of this kind at id, from db.records or
// else read by read in a transaction of its own (and kept). The value
// handed out is the caller's: callers pass it through a clone function,
// so no one shares the slices of the kept one.
func cachedRead[T any](ctx context.Context, db *DB, kind recordKind, id string, read func(*bolt.Tx, string) (T, error)) (T, error) {
	var v T
	if err := ctx.Err(); err != nil {
		return v, err
	}
	if kept, ok := db.records.lookup(kind, id); ok {
		return kept.(T), nil
	}
	gen, idle := db.records.generation()
	err := db.view(ctx, func(tx *bolt.Tx) (err error) {
		v, err = read(tx, id)
		return err
	})
	if err != nil {
		return v, err
	}
	if idle {
		db.records.keep(gen, kind, id, v)
	}
	return v, nil
}

// cloneUser, clonePool and cloneOrg copy a kept record's slices, so a
// caller that changes what it was given cannot change the kept record.
func cloneUser(u userRecord) earshot.User {
	u.Roles, u.Endpoints, u.Pools = slices.Clone(u.Roles), slices.Clone(u.Endpoints), slices.Clone(u.Pools)
	return earshot.User(u)
}

func clonePool(p earshot.Pool) earshot.Pool {
	p.Members = slices.Clone(p.Members)
	return p
}

func cloneOrg(o earshot.Organization) earshot.Organization {
	o.Features = slices.Clone(o.Features)
	return o
}
