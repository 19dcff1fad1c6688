package store

import (
	"context"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/phone"
)

// PutPool creates or replaces a service pool (operator management). It
// returns EINVALID for a bad id, a number not in E.164 form, or a member
// who does not exist, is in another organization or is listed twice, and
// ErrOrgNotFound.
func (db *DB) PutPool(ctx context.Context, p earshot.Pool) error {
	err := db.update(ctx, func(tx *bolt.Tx) error {
		if err := checkPool(tx, p); err != nil {
			return err
		}
		return put(tx.Bucket(bucketPools), p.ID, p)
	})
	if err != nil {
		return fmt.Errorf("put pool %s: %w", p.ID, err)
	}
	return nil
}

// checkPool validates what PutPool and ImportDirectory store; members are
// read in tx, so an import checks them against the users it has written.
func checkPool(tx *bolt.Tx, p earshot.Pool) error {
	if err := checkID("pool", p.ID); err != nil {
		return err
	}
	if p.Number != "" && !phone.IsE164(p.Number) {
		return earshot.Errorf(earshot.EINVALID, "pool %s: number %q is not in E.164 form (+35891234500)", p.ID, p.Number)
	}
	if _, err := getOrg(tx, p.Org); err != nil {
		return err
	}
	seen := make(map[string]bool, len(p.Members))
	for _, m := range p.Members {
		u, err := getUser(tx, m)
		switch {
		case earshot.ErrorCode(err) == earshot.ENOTFOUND:
			return earshot.Errorf(earshot.EINVALID, "pool %s: member %q does not exist", p.ID, m)
		case err != nil:
			return err
		case u.Org != p.Org:
			return earshot.Errorf(earshot.EINVALID, "pool %s: member %q is in org %q, not %q", p.ID, m, u.Org, p.Org)
		case seen[m]:
			return earshot.Errorf(earshot.EINVALID, "pool %s: member %q is listed twice", p.ID, m)
		}
		seen[m] = true
	}
	return nil
}

// DeletePool removes a service pool. Supervisors whose scope
// (earshot.User.Pools) names the pool keep the name: dropping it could
// empty a scope, and an empty scope means every pool. It returns
// ErrPoolNotFound.
func (db *DB) DeletePool(ctx context.Context, id string) error {
	err := db.update(ctx, func(tx *bolt.Tx) error {
		if _, err := getPool(tx, id); err != nil {
			return err
		}
		return tx.Bucket(bucketPools).Delete([]byte(id))
	})
	if err != nil {
		return fmt.Errorf("delete pool %s: %w", id, err)
	}
	return nil
}

// removeMember takes a user out of every pool.
func removeMember(tx *bolt.Tx, user string) error {
	b := tx.Bucket(bucketPools)
	var changed []earshot.Pool
	err := b.ForEach(func(k, _ []byte) error {
		var p earshot.Pool
		if _, err := get(b, string(k), &p); err != nil {
			return err
		}
		if slices.Contains(p.Members, user) {
			p.Members = slices.DeleteFunc(p.Members, func(m string) bool { return m == user })
			changed = append(changed, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Writing while ForEach runs is not allowed, hence the second loop.
	for _, p := range changed {
		if err := put(b, p.ID, p); err != nil {
			return err
		}
	}
	return nil
}
