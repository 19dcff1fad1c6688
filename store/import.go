package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
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
	// Kept lists the fields that kept a stored value other than the
	// file's, because the file did not change them since the last import
	// (they were changed through the API).
	Kept []KeptField
}

// KeptField names a field of an entry an import left as stored.
type KeptField struct {
	Kind  string // "org", "user" or "pool"
	ID    string
	Field string // as in the store's JSON: "phone_number", "features"
}

func (k KeptField) String() string { return k.Kind + " " + k.ID + " " + k.Field }

// Precedence is ImportDirectory's rule, as String says it.
const Precedence = "the file wins only for fields it changed since the last import"

// maxKeptShown bounds how many kept fields String names.
const maxKeptShown = 10

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
	if len(r.Kept) > 0 {
		names := make([]string, 0, maxKeptShown)
		for _, k := range r.Kept[:min(len(r.Kept), maxKeptShown)] {
			names = append(names, k.String())
		}
		if more := len(r.Kept) - len(names); more > 0 {
			names = append(names, fmt.Sprintf("and %d more", more))
		}
		s += "; kept as changed through the API: " + strings.Join(names, ", ")
	}
	return s + "; " + Precedence
}

// String formats the counts as "2 created, 1 updated, 3 unchanged".
func (c ImportCounts) String() string {
	return fmt.Sprintf("%d created, %d updated, %d unchanged", c.Created, c.Updated, c.Unchanged)
}

// ImportDirectory upserts the organizations, users and pools of a
// directory file in one transaction, so importing the same file again
// changes nothing.
//
// Precedence, field by field: the file's value wins for a field the file
// changed since the last import; every other field keeps the stored value.
// So what was changed through the API (a supervisor's phone number, an
// organization's features, an operator's edit of a user or pool) survives
// a restart that imports the same file, and the file still rules whatever
// the operator changes in it. The store keeps each entry as last imported
// (bucket imported) to tell. An entry stored before it was ever imported
// (made through the API, or by an older Earshot) takes the file's
// non-empty values and keeps its own where the file's are empty.
//
// Deleting counts as a change too: a user or pool deleted through the API
// stays deleted while the file gives it as it was last imported (Kept
// names it, field "(deleted)"), and a deleted user is left out of the
// file's pools; once the file changes the entry, it is created again.
//
// A plain-text password in the file counts as unchanged while the hash
// imported last (or the stored hash) verifies it, and that hash is kept:
// a re-read file never re-hashes.
//
// Entries missing from the file are kept and listed in
// ImportResult.NotInFile.
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
		im := importer{tx: tx, file: f, res: &res, deletedUsers: map[string]bool{}}
		var err error
		if res.Orgs, err = im.orgs(); err != nil {
			return err
		}
		if res.Users, err = im.users(); err != nil {
			return err
		}
		if res.Pools, err = im.pools(); err != nil {
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

// importer is one ImportDirectory's transaction.
type importer struct {
	tx   *bolt.Tx
	file *directory.File
	res  *ImportResult
	// deletedUsers are the file's users deleted through the API since the
	// last import, which the import leaves deleted.
	deletedUsers map[string]bool
}

// Kinds of entries, as keys of bucket imported and in ImportResult.Kept.
const (
	kindOrg  = "org"
	kindUser = "user"
	kindPool = "pool"
)

func (im importer) orgs() (ImportCounts, error) {
	var n ImportCounts
	seen := map[string]bool{}
	for _, o := range im.file.Orgs {
		if err := checkNew(kindOrg, o.ID, seen); err != nil {
			return n, err
		}
		old, err := getOrg(im.tx, o.ID)
		if err != nil && earshot.ErrorCode(err) != earshot.ENOTFOUND {
			return n, err
		}
		next, _, err := mergeImported(im, kindOrg, o.ID, o, found(old, err))
		if err != nil {
			return n, err
		}
		if err := upsert(im.tx.Bucket(bucketOrgs), o.ID, next, &n); err != nil {
			return n, err
		}
	}
	return n, nil
}

func (im importer) users() (ImportCounts, error) {
	var n ImportCounts
	seen := map[string]bool{}
	changes := make([]userChange, 0, len(im.file.Users))
	for _, u := range im.file.Users {
		if err := checkNew(kindUser, u.ID, seen); err != nil {
			return n, err
		}
		old, err := getUser(im.tx, u.ID)
		if err != nil && earshot.ErrorCode(err) != earshot.ENOTFOUND {
			return n, err
		}
		prev := found(old, err)
		fromFile := userRecord(u)
		fromFile.PasswordHash = im.passwordHash(u, prev)
		next, deleted, err := mergeImported(im, kindUser, u.ID, fromFile, prev)
		switch {
		case err != nil:
			return n, err
		case deleted:
			im.deletedUsers[u.ID] = true
			n.Unchanged++
			continue
		}
		if err := checkUser(im.tx, earshot.User(next)); err != nil {
			if earshot.ErrorCode(err) == earshot.ENOTFOUND {
				return n, earshot.Errorf(earshot.EINVALID, "user %s: org %q does not exist", u.ID, next.Org)
			}
			return n, err
		}
		changes = append(changes, userChange{old: prev, new: next})
	}
	if err := reindex(im.tx, changes, func(ix userIndex, key string, u userRecord, holder string) error {
		return earshot.Errorf(earshot.ECONFLICT, "%s %s would be %s both %s and %s", ix.what, ix.show(u, key), ix.held, holder, u.ID)
	}); err != nil {
		return n, err
	}
	for _, c := range changes {
		// A new password, role, scope or organization signs the user out.
		if err := revokeIfChanged(im.tx, c.old, c.new); err != nil {
			return n, err
		}
		if err := upsert(im.tx.Bucket(bucketUsers), c.new.ID, c.new, &n); err != nil {
			return n, err
		}
	}
	return n, nil
}

// passwordHash is the hash the file gives u: for a plain-text password,
// the hash imported last or the stored one when either verifies it, so an
// unchanged password is never hashed anew and reads as unchanged.
func (im importer) passwordHash(u earshot.User, stored *userRecord) string {
	var last userRecord
	_, _ = get(im.tx.Bucket(bucketImported), string(pairKey(kindUser, u.ID)), &last)
	known := []string{last.PasswordHash}
	if stored != nil {
		known = append(known, stored.PasswordHash)
	}
	// Parse given WithKnownHashes has chosen one already.
	if u.PasswordHash != "" && slices.Contains(known, u.PasswordHash) {
		return u.PasswordHash
	}
	for _, h := range known {
		if im.file.SamePassword(u.ID, h) {
			return h
		}
	}
	return u.PasswordHash
}

// KnownHashes returns the password hashes user has in the store: as the
// directory file last gave it, and as stored (directory.WithKnownHashes).
// Errors read as none: Parse then hashes afresh.
func (db *DB) KnownHashes(user string) []string {
	var out []string
	_ = db.bolt.View(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketImported, bucketUsers} {
			key := user
			if string(b) == string(bucketImported) {
				key = string(pairKey(kindUser, user))
			}
			var u userRecord
			if ok, err := get(tx.Bucket(b), key, &u); ok && err == nil && u.PasswordHash != "" {
				out = append(out, u.PasswordHash)
			}
		}
		return nil
	})
	return out
}

func (im importer) pools() (ImportCounts, error) {
	var n ImportCounts
	seen := map[string]bool{}
	for _, p := range im.file.Pools {
		if err := checkNew(kindPool, p.ID, seen); err != nil {
			return n, err
		}
		old, err := getPool(im.tx, p.ID)
		if err != nil && earshot.ErrorCode(err) != earshot.ENOTFOUND {
			return n, err
		}
		// Users deleted through the API stay out of the pools too; as the
		// file gave the pool without them, a user the file brings back
		// (by changing them) is a member again.
		p.Members = slices.DeleteFunc(slices.Clone(p.Members), func(m string) bool { return im.deletedUsers[m] })
		next, deleted, err := mergeImported(im, kindPool, p.ID, p, found(old, err))
		switch {
		case err != nil:
			return n, err
		case deleted:
			n.Unchanged++
			continue
		}
		if err := checkPool(im.tx, next); err != nil {
			if earshot.ErrorCode(err) == earshot.ENOTFOUND {
				return n, earshot.Errorf(earshot.EINVALID, "pool %s: org %q does not exist", p.ID, next.Org)
			}
			return n, err
		}
		if err := upsert(im.tx.Bucket(bucketPools), p.ID, next, &n); err != nil {
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
