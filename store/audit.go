package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/earshot/earshot"
)

// Limits on how many audit records one Audit call returns.
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 1000
)

// AuditQuery selects audit records, newest first.
type AuditQuery struct {
	// Org keeps the records of one organization; "" keeps all.
	Org string
	// Before keeps records older than this sequence number, for paging:
	// pass the Seq of the last record of the previous page. 0 starts at
	// the newest.
	Before uint64
	// Limit is the most records to return: DefaultAuditLimit when 0 or
	// less, at most MaxAuditLimit.
	Limit int
}

// AuditRecord is an audit entry with its place in the trail.
type AuditRecord struct {
	// Seq numbers the records in the order they were recorded, from 1.
	Seq uint64 `json:"seq"`
	earshot.AuditEntry
}

// Record appends an entry to the audit trail, stamping it with the
// store's clock when its Time is zero. Concurrent calls share a
// transaction (bbolt's Batch), so a burst of hang-ups costs one fsync, not
// one each; a call returns once its entry is on disk. It returns only the
// errors of the database (and ctx's).
func (db *DB) Record(ctx context.Context, e earshot.AuditEntry) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("record audit entry: %w", err)
	}
	if e.Time.IsZero() {
		e.Time = db.now()
	}
	// Batch may run the function again after another one in the batch
	// failed; it only touches the transaction, so that is safe.
	err := db.batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAudit)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		key := seqKey(seq)
		if err := put(b, string(key), e); err != nil {
			return err
		}
		if e.Org == "" {
			return nil
		}
		return tx.Bucket(bucketAuditByOrg).Put(append(pairKey(e.Org, ""), key...), nil)
	})
	if err != nil {
		return fmt.Errorf("record audit entry: %w", err)
	}
	return nil
}

// Audit returns audit records newest first, as q selects. It returns only
// the errors of the database (and ctx's).
func (db *DB) Audit(ctx context.Context, q AuditQuery) ([]AuditRecord, error) {
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = DefaultAuditLimit
	case limit > MaxAuditLimit:
		limit = MaxAuditLimit
	}
	before := q.Before
	if before == 0 {
		before = math.MaxUint64
	}
	out := []AuditRecord{}
	err := db.view(ctx, func(tx *bolt.Tx) error {
		entries := tx.Bucket(bucketAudit)
		// Walk either the trail itself or the org's index into it; both
		// end in the big-endian sequence number, so both sort by time.
		c, prefix := entries.Cursor(), []byte(nil)
		if q.Org != "" {
			c, prefix = tx.Bucket(bucketAuditByOrg).Cursor(), pairKey(q.Org, "")
		}
		for k := seekBefore(c, slices.Concat(prefix, seqKey(before))); k != nil && len(out) < limit; k, _ = c.Prev() {
			if len(k) != len(prefix)+8 || string(k[:len(prefix)]) != string(prefix) {
				break
			}
			seq := binary.BigEndian.Uint64(k[len(prefix):])
			r := AuditRecord{Seq: seq}
			if ok, err := get(entries, string(seqKey(seq)), &r.AuditEntry); err != nil || !ok {
				return orNotFound(err, fmt.Errorf("audit index names record %d, which is missing", seq))
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list audit records: %w", err)
	}
	return out, nil
}

// seekBefore moves c to the last key below key and returns it, or nil.
func seekBefore(c *bolt.Cursor, key []byte) []byte {
	if k, _ := c.Seek(key); k == nil {
		// Every key is below key.
		k, _ = c.Last()
		return k
	}
	k, _ := c.Prev()
	return k
}

// seqKey is the key of an audit record: its sequence number in big-endian
// order, so that byte order is numeric order.
func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}
