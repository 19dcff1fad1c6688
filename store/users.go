package store

import (
	"context"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/directory"
	"github.com/earshot/earshot/phone"
)

// PutUser creates or replaces a user (operator management). An empty
// PhoneNumber or PasswordHash keeps the stored one, because neither
// travels in earshot.User's JSON; SetPhoneNumber clears a number. It
// returns EINVALID for a bad id or a number not in E.164 form,
// ErrOrgNotFound, and ECONFLICT when another user has the phone number or
// the endpoint. A change RevokesTokens names bumps the user's token
// version in the same transaction.
func (db *DB) PutUser(ctx context.Context, u earshot.User) error {
	err := db.update(ctx, func(tx *bolt.Tx) error {
		if err := checkUser(tx, u); err != nil {
			return err
		}
		next := userRecord(u)
		old, err := getUser(tx, u.ID)
		switch {
		case err == nil:
			next.PhoneNumber = orElse(next.PhoneNumber, old.PhoneNumber)
			next.PasswordHash = orElse(next.PasswordHash, old.PasswordHash)
		case earshot.ErrorCode(err) != earshot.ENOTFOUND:
			return err
		}
		changes := []userChange{{old: found(old, err), new: next}}
		if err := reindex(tx, changes, func(ix userIndex, key string, u userRecord, holder string) error {
			return earshot.Errorf(earshot.ECONFLICT, "%s %s is already %s user %s", ix.what, ix.show(u, key), ix.held, holder)
		}); err != nil {
			return err
		}
		if err := revokeIfChanged(tx, changes[0].old, next); err != nil {
			return err
		}
		return put(tx.Bucket(bucketUsers), u.ID, next)
	})
	if err != nil {
		return fmt.Errorf("put user %s: %w", u.ID, err)
	}
	return nil
}

// checkUser validates what PutUser and ImportDirectory store.
func checkUser(tx *bolt.Tx, u earshot.User) error {
	if err := checkID("user", u.ID); err != nil {
		return err
	}
	if u.PhoneNumber != "" && !phone.IsE164(u.PhoneNumber) {
		return earshot.Errorf(earshot.EINVALID, "user %s: phone number %q is not in E.164 form (+358401234567)", u.ID, u.PhoneNumber)
	}
	if _, err := getOrg(tx, u.Org); err != nil {
		return err
	}
	return nil
}

// DeleteUser removes a user along with everything that refers to them:
// their phone number and endpoint, their pool memberships, both sides of
// their supervised lists and their devices. Pending offers and the audit
// trail are left as they are; the user's token version is bumped and kept.
// It returns ErrUserNotFound.
func (db *DB) DeleteUser(ctx context.Context, id string) error {
	err := db.update(ctx, func(tx *bolt.Tx) error {
		u, err := getUser(tx, id)
		if err != nil {
			return err
		}
		for _, ix := range userIndexes(tx) {
			if err := ix.unindex(u); err != nil {
				return err
			}
		}
		if err := removeMember(tx, id); err != nil {
			return err
		}
		if err := deleteSupervisionsOf(tx, id); err != nil {
			return err
		}
		if err := deleteDevicesOf(tx, id); err != nil {
			return err
		}
		if err := deleteWebPushOf(tx, id); err != nil {
			return err
		}
		// Their tokens stop working, and stay so if the id is reused.
		if err := bumpTokenVersion(tx, id); err != nil {
			return err
		}
		return tx.Bucket(bucketUsers).Delete([]byte(id))
	})
	if err != nil {
		return fmt.Errorf("delete user %s: %w", id, err)
	}
	return nil
}

// SetPhoneNumber sets the number a supervisor calls the supervising number
// from (R9); "" clears it. The number must already be in E.164 form
// (phone.Normalize). It returns EINVALID for another form,
// ErrUserNotFound, and ECONFLICT when another user has the number; the
// message does not say who, as that user may be in another organization.
func (db *DB) SetPhoneNumber(ctx context.Context, userID, e164 string) error {
	if e164 != "" && !phone.IsE164(e164) {
		return earshot.Errorf(earshot.EINVALID, "phone number %q is not in E.164 form (+358401234567)", e164)
	}
	err := db.update(ctx, func(tx *bolt.Tx) error {
		old, err := getUser(tx, userID)
		if err != nil {
			return err
		}
		if old.PhoneNumber == e164 {
			return nil
		}
		next := old
		next.PhoneNumber = e164
		if err := reindex(tx, []userChange{{old: &old, new: next}}, func(userIndex, string, userRecord, string) error {
			return earshot.Errorf(earshot.ECONFLICT, "this number is already registered to another supervisor")
		}); err != nil {
			return err
		}
		return put(tx.Bucket(bucketUsers), userID, next)
	})
	if err != nil {
		return fmt.Errorf("set phone number of user %s: %w", userID, err)
	}
	return nil
}

// userChange is a user before (nil for a new user) and after a write.
type userChange struct {
	old *userRecord
	new userRecord
}

// userIndex is one of the unique indexes from a user's field to the
// user's id.
type userIndex struct {
	b    *bolt.Bucket
	keys func(userRecord) []string             // none when the user has no entry
	show func(u userRecord, key string) string // the field as people wrote it
	what string                                // "phone number"
	held string                                // "registered to"
}

func userIndexes(tx *bolt.Tx) []userIndex {
	return []userIndex{{
		b: tx.Bucket(bucketUsersByPhone),
		keys: func(u userRecord) []string {
			if u.PhoneNumber == "" {
				return nil
			}
			return []string{u.PhoneNumber}
		},
		show: func(u userRecord, _ string) string { return u.PhoneNumber },
		what: "phone number",
		held: "registered to",
	}, {
		b: tx.Bucket(bucketAgentsByEndpt),
		keys: func(u userRecord) []string {
			// Like the in-memory directory (internal/memdir), only agents are found by endpoint.
			if !slices.Contains(u.Roles, earshot.RoleAgent) {
				return nil
			}
			var keys []string
			for _, ep := range earshot.User(u).AgentEndpoints() {
				if ep != "" {
					keys = append(keys, directory.EndpointKey(ep))
				}
			}
			return keys
		},
		show: func(u userRecord, key string) string {
			for _, ep := range earshot.User(u).AgentEndpoints() {
				if directory.EndpointKey(ep) == key {
					return ep
				}
			}
			return key
		},
		what: "endpoint",
		held: "bound to",
	}}
}

// unindex removes u's entries that are u's, except those in keep.
func (ix userIndex) unindex(u userRecord, keep ...string) error {
	for _, k := range ix.keys(u) {
		if slices.Contains(keep, k) || string(ix.b.Get([]byte(k))) != u.ID {
			continue
		}
		if err := ix.b.Delete([]byte(k)); err != nil {
			return err
		}
	}
	return nil
}

// reindex updates the unique indexes for a set of changed users at once:
// it first drops every entry the changes give up, then claims the new
// ones, so users may swap numbers in one import. A key held by a user
// outside the set, or claimed twice within it, is a conflict; conflict
// makes the error (key is the entry's, in the index's form), and the
// caller's transaction rolls back.
func reindex(tx *bolt.Tx, changes []userChange, conflict func(ix userIndex, key string, u userRecord, holder string) error) error {
	for _, ix := range userIndexes(tx) {
		for _, c := range changes {
			if c.old != nil {
				if err := ix.unindex(*c.old, ix.keys(c.new)...); err != nil {
					return err
				}
			}
		}
		for _, c := range changes {
			for _, k := range ix.keys(c.new) {
				if holder := string(ix.b.Get([]byte(k))); holder != "" && holder != c.new.ID {
					return conflict(ix, k, c.new, holder)
				}
				if err := ix.b.Put([]byte(k), []byte(c.new.ID)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// found returns &v when err is nil: the entry existed.
func found[T any](v T, err error) *T {
	if err != nil {
		return nil
	}
	return &v
}

// orElse returns a, or b when a is empty.
func orElse(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
