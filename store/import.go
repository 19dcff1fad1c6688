package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/directory"
)

// ImportResult says what an import did, per kind.
type ImportResult struct {
	Orgs, Users, Pools ImportCounts
	// NotInFile lists what the store holds but the file does not. The
	// import leaves it alone: deleting is an operator's explicit act
	// (DeleteUser, DeletePool).
	NotInFile ImportIDs
}

// ImportCounts counts the entries of one kind an import created, changed
// and found as they were.
type ImportCounts struct {
	Created, Updated, Unchanged int
}

// ImportIDs lists ids by kind, each list sorted.
type ImportIDs struct {
	Orgs, Users, Pools []string
}

// Changed reports whether the import wrote anything.
func (r ImportResult) Changed() bool {
	return r.Orgs.Created+r.Orgs.Updated+r.Users.Created+r.Users.Updated+r.Pools.Created+r.Pools.Updated > 0
}

// String sums the result up for a log line.
func (r ImportResult) String() string {
	s := fmt.Sprintf("orgs %s; users %s; pools %s", r.Orgs, r.Users, r.Pools)
	var left []string
	for _, l := range []struct {
		kind string
		ids  []string
	}{{"orgs", r.NotInFile.Orgs}, {"users", r.NotInFile.Users}, {"pools", r.NotInFile.Pools}} {
		if len(l.ids) > 0 {
			left = append(left, l.kind+" "+strings.Join(l.ids, ", "))
		}
	}
	if len(left) > 0 {
		s += "; not in file (kept): " + strings.Join(left, "; ")
	}
	return s
}

// String formats the counts as "2 created, 1 updated, 3 unchanged".
func (c ImportCounts) String() string {
	return fmt.Sprintf("%d created, %d updated, %d unchanged", c.Created, c.Updated, c.Unchanged)
}

// ImportDirectory upserts the organizations, users and pools of a
// directory file in one transaction, so importing the same file again
// changes nothing. The file is authoritative for what it says, with two
// exceptions for settings made later through the API: a user the file
// gives no phone number keeps the stored one (R9), and an organization
// the file gives no features keeps the stored ones (R1), so a restart does
// not undo the operator's switch. Entries missing from the file are kept
// and listed in ImportResult.NotInFile.
//
// Parse hashes plain-text passwords with a fresh salt each time, so users
// with "password:" count as updated on every import of a re-read file;
// "password_hash:" entries do not.
//
// It returns EINVALID for an entry the store cannot hold (a bad id, an id
// listed twice, an unknown org, a member who does not exist), and ECONFLICT,
// naming both users, when two users would share a phone number or an
// endpoint. On any error nothing is written.
func (db *DB) ImportDirectory(ctx context.Context, f *directory.File) (ImportResult, error) {
	if f == nil {
		f = &directory.File{}
	}
	var res ImportResult
	err := db.update(ctx, func(tx *bolt.Tx) error {
		res = ImportResult{}
		var err error
		if res.Orgs, err = importOrgs(tx, f.Orgs); err != nil {
			return err
		}
		if res.Users, err = importUsers(tx, f.Users); err != nil {
			return err
		}
		if res.Pools, err = importPools(tx, f.Pools); err != nil {
			return err
		}
		res.NotInFile.Orgs = notIn(tx.Bucket(bucketOrgs), f.Orgs, func(o earshot.Organization) string { return o.ID })
		res.NotInFile.Users = notIn(tx.Bucket(bucketUsers), f.Users, func(u earshot.User) string { return u.ID })
		res.NotInFile.Pools = notIn(tx.Bucket(bucketPools), f.Pools, func(p earshot.Pool) string { return p.ID })
		return nil
	})
	if err != nil {
		return ImportResult{}, fmt.Errorf("import directory: %w", err)
	}
	return res, nil
}

func importOrgs(tx *bolt.Tx, orgs []earshot.Organization) (ImportCounts, error) {
	var n ImportCounts
	seen := map[string]bool{}
	for _, o := range orgs {
		if err := checkNew("org", o.ID, seen); err != nil {
			return n, err
		}
		if old, err := getOrg(tx, o.ID); err == nil && len(o.Features) == 0 {
			o.Features = old.Features
		} else if earshot.ErrorCode(err) == earshot.EINTERNAL {
			return n, err
		}
		if err := upsert(tx.Bucket(bucketOrgs), o.ID, o, &n); err != nil {
			return n, err
		}
	}
	return n, nil
}

func importUsers(tx *bolt.Tx, users []earshot.User) (ImportCounts, error) {
	var n ImportCounts
	seen := map[string]bool{}
	changes := make([]userChange, 0, len(users))
	for _, u := range users {
		if err := checkNew("user", u.ID, seen); err != nil {
			return n, err
		}
		if err := checkUser(tx, u); err != nil {
			if earshot.ErrorCode(err) == earshot.ENOTFOUND {
				return n, earshot.Errorf(earshot.EINVALID, "user %s: org %q does not exist", u.ID, u.Org)
			}
			return n, err
		}
		next := userRecord(u)
		old, err := getUser(tx, u.ID)
		switch {
		case err == nil:
			next.PhoneNumber = orElse(next.PhoneNumber, old.PhoneNumber)
		case earshot.ErrorCode(err) != earshot.ENOTFOUND:
			return n, err
		}
		changes = append(changes, userChange{old: found(old, err), new: next})
	}
	if err := reindex(tx, changes, func(ix userIndex, u userRecord, holder string) error {
		return earshot.Errorf(earshot.ECONFLICT, "%s %s would be %s both %s and %s", ix.what, ix.show(u), ix.held, holder, u.ID)
	}); err != nil {
		return n, err
	}
	for _, c := range changes {
		if err := upsert(tx.Bucket(bucketUsers), c.new.ID, c.new, &n); err != nil {
			return n, err
		}
	}
	return n, nil
}

func importPools(tx *bolt.Tx, pools []earshot.Pool) (ImportCounts, error) {
	var n ImportCounts
	seen := map[string]bool{}
	for _, p := range pools {
		if err := checkNew("pool", p.ID, seen); err != nil {
			return n, err
		}
		if err := checkPool(tx, p); err != nil {
			if earshot.ErrorCode(err) == earshot.ENOTFOUND {
				return n, earshot.Errorf(earshot.EINVALID, "pool %s: org %q does not exist", p.ID, p.Org)
			}
			return n, err
		}
		if err := upsert(tx.Bucket(bucketPools), p.ID, p, &n); err != nil {
			return n, err
		}
	}
	return n, nil
}

// checkNew checks an id and that the file lists it once.
func checkNew(kind, id string, seen map[string]bool) error {
	if err := checkID(kind, id); err != nil {
		return err
	}
	if seen[id] {
		return earshot.Errorf(earshot.EINVALID, "%s %s is listed twice", kind, id)
	}
	seen[id] = true
	return nil
}

// upsert writes v at key unless the stored value is the same, and counts
// what it did.
func upsert(b *bolt.Bucket, key string, v any, n *ImportCounts) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	switch old := b.Get([]byte(key)); {
	case old == nil:
		n.Created++
	case bytes.Equal(old, data):
		n.Unchanged++
		return nil
	default:
		n.Updated++
	}
	return b.Put([]byte(key), data)
}

// notIn returns the keys of b that none of entries has, in key order.
func notIn[T any](b *bolt.Bucket, entries []T, id func(T) string) []string {
	in := make(map[string]bool, len(entries))
	for _, e := range entries {
		in[id(e)] = true
	}
	var out []string
	_ = b.ForEach(func(k, _ []byte) error {
		if !in[string(k)] {
			out = append(out, string(k))
		}
		return nil
	})
	return out
}
