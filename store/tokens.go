package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/earshot/earshot"
)

// The sign-in token buckets are made on first write and read as empty while
// missing, so they need no schema migration (see doc.go).
var (
	bucketTokenVersions = []byte("token_versions")
	bucketRevokedTokens = []byte("revoked_tokens")
)

// MaxRevokedPerUser bounds the sign-outs kept for one user. A user who signs
// out more tokens than this within a token's lifetime has their token
// version bumped instead, which signs out every token they hold: the list
// stays bounded however often someone signs in and out.
const MaxRevokedPerUser = 64

// TokenState returns the user's token version, which every sign-in token
// carries and which must still match, and whether the token with the id
// jti was signed out (RevokeToken). A user who never had a version has 0;
// jti "" is never revoked.
func (db *DB) TokenState(ctx context.Context, user, jti string) (version uint64, revoked bool, err error) {
	err = db.view(ctx, func(tx *bolt.Tx) error {
		version = tokenVersion(tx, user)
		if b := tx.Bucket(bucketRevokedTokens); b != nil && jti != "" {
			revoked = b.Get(pairKey(user, jti)) != nil
		}
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("token state of %s: %w", user, err)
	}
	return version, revoked, nil
}

// RevokeToken signs out the token jti of user until it expires anyway.
// It drops the user's sign-outs that have expired; past MaxRevokedPerUser
// live ones it bumps the user's token version instead (every token of the
// user stops working). jti "" bumps the version too (tokens from before
// token ids).
func (db *DB) RevokeToken(ctx context.Context, user, jti string, expires time.Time) error {
	err := db.update(ctx, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketRevokedTokens)
		if err != nil {
			return err
		}
		now := db.now().Unix()
		var live, dead [][]byte
		for _, k := range keysWithPrefix(b, pairKey(user, "")) {
			if v := b.Get(k); len(v) != 8 || int64(binary.BigEndian.Uint64(v)) <= now {
				dead = append(dead, k)
			} else {
				live = append(live, k)
			}
		}
		if err := deleteKeys(b, dead); err != nil {
			return err
		}
		if jti == "" || len(live) >= MaxRevokedPerUser {
			return bumpTokenVersion(tx, user) // drops the live ones too
		}
		v := make([]byte, 8)
		binary.BigEndian.PutUint64(v, uint64(max(expires.Unix(), 0)))
		return b.Put(pairKey(user, jti), v)
	})
	if err != nil {
		return fmt.Errorf("revoke token of %s: %w", user, err)
	}
	return nil
}

// RevokesTokens reports whether changing a user from old to new must sign
// them out everywhere: a new password, another organization, the
// supervisor role taken away, or a narrower pool scope (R2's scope: none
// listed is every pool). The store applies it on every write of a user;
// it is exported for the API's test fakes.
func RevokesTokens(old, new earshot.User) bool {
	switch {
	case old.Org != new.Org, old.PasswordHash != new.PasswordHash:
		return true
	case old.HasRole(earshot.RoleSupervisor) && !new.HasRole(earshot.RoleSupervisor):
		return true
	case len(new.Pools) == 0:
		return false
	case len(old.Pools) == 0:
		return true
	}
	for _, p := range old.Pools {
		if !slices.Contains(new.Pools, p) {
			return true
		}
	}
	return false
}

// tokenVersion reads the user's token version; 0 when none is stored.
func tokenVersion(tx *bolt.Tx, user string) uint64 {
	b := tx.Bucket(bucketTokenVersions)
	if b == nil {
		return 0
	}
	v := b.Get([]byte(user))
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// bumpTokenVersion makes every token issued to user so far invalid. The
// version outlives the user: a user deleted and created again with the
// same id does not get the old tokens back.
func bumpTokenVersion(tx *bolt.Tx, user string) error {
	v := make([]byte, 8)
	binary.BigEndian.PutUint64(v, tokenVersion(tx, user)+1)
	b, err := tx.CreateBucketIfNotExists(bucketTokenVersions)
	if err != nil {
		return err
	}
	if rb := tx.Bucket(bucketRevokedTokens); rb != nil {
		// The bump covers every sign-out of the user's.
		if err := deleteKeys(rb, keysWithPrefix(rb, pairKey(user, ""))); err != nil {
			return err
		}
	}
	return b.Put([]byte(user), v)
}

// revokeIfChanged bumps the user's token version when the write from old
// (nil: a new user) to new revokes their tokens.
func revokeIfChanged(tx *bolt.Tx, old *userRecord, new userRecord) error {
	if old == nil || !RevokesTokens(earshot.User(*old), earshot.User(new)) {
		return nil
	}
	return bumpTokenVersion(tx, new.ID)
}

// keysWithPrefix returns copies of the keys of b that start with prefix.
func keysWithPrefix(b *bolt.Bucket, prefix []byte) [][]byte {
	var out [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, slices.Clone(k))
	}
	return out
}

func hasPrefix(k, prefix []byte) bool {
	return len(k) >= len(prefix) && string(k[:len(prefix)]) == string(prefix)
}

func deleteKeys(b *bolt.Bucket, keys [][]byte) error {
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
