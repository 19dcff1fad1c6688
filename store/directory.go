package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/directory"
)

// userRecord is a user as stored. It has earshot.User's fields, so the two
// convert into each other, but keeps the password hash, which
// earshot.User leaves out of JSON.
type userRecord struct {
	ID           string   `json:"id"`
	Org          string   `json:"org"`
	Name         string   `json:"name"`
	Roles        []string `json:"roles"`
	Endpoint     string   `json:"endpoint,omitempty"`
	Endpoints    []string `json:"endpoints,omitempty"`
	PhoneNumber  string   `json:"phone_number,omitempty"`
	PasswordHash string   `json:"password_hash,omitempty"`
	Pools        []string `json:"pools,omitempty"`
}

// knownFeatures are the organization features SetFeature accepts, as in
// the directory file.
var knownFeatures = []string{earshot.FeatureSupervising, earshot.FeatureBrowser}

// Org returns the organization with the id. It returns ErrOrgNotFound.
func (db *DB) Org(ctx context.Context, id string) (earshot.Organization, error) {
	o, err := cachedRead(ctx, db, cachedOrg, id, getOrg)
	if err != nil {
		return earshot.Organization{}, fmt.Errorf("get org %s: %w", id, err)
	}
	return cloneOrg(o), nil
}

// User returns the user with the id. It returns ErrUserNotFound.
func (db *DB) User(ctx context.Context, id string) (earshot.User, error) {
	u, err := cachedRead(ctx, db, cachedUser, id, getUser)
	if err != nil {
		return earshot.User{}, fmt.Errorf("get user %s: %w", id, err)
	}
	return cloneUser(u), nil
}

// UserByPhone returns the user registered with the E.164 number (R9). It
// returns ErrUserNotFound.
func (db *DB) UserByPhone(ctx context.Context, e164 string) (earshot.User, error) {
	u, err := db.userBy(ctx, bucketUsersByPhone, e164)
	if err != nil {
		return earshot.User{}, fmt.Errorf("get user by phone %s: %w", e164, err)
	}
	return u, nil
}

// AgentByEndpoint returns the agent bound to an endpoint such as
// "PJSIP/1001" (directory.EndpointOfChannel gets one from a channel name);
// the technology matches in any case. It returns ErrUserNotFound.
func (db *DB) AgentByEndpoint(ctx context.Context, endpoint string) (earshot.User, error) {
	u, err := db.userBy(ctx, bucketAgentsByEndpt, directory.EndpointKey(endpoint))
	if err != nil {
		return earshot.User{}, fmt.Errorf("get agent by endpoint %s: %w", endpoint, err)
	}
	return u, nil
}

// userBy looks key up in a user index and reads the user, in one
// transaction.
func (db *DB) userBy(ctx context.Context, index []byte, key string) (earshot.User, error) {
	var u userRecord
	err := db.view(ctx, func(tx *bolt.Tx) error {
		id := tx.Bucket(index).Get([]byte(key))
		if key == "" || id == nil {
			return earshot.ErrUserNotFound
		}
		var err error
		u, err = getUser(tx, string(id))
		return err
	})
	return earshot.User(u), err
}

// Pool returns the pool with the id. It returns ErrPoolNotFound.
func (db *DB) Pool(ctx context.Context, id string) (earshot.Pool, error) {
	p, err := cachedRead(ctx, db, cachedPool, id, getPool)
	if err != nil {
		return earshot.Pool{}, fmt.Errorf("get pool %s: %w", id, err)
	}
	return clonePool(p), nil
}

// Orgs returns every organization, sorted by id.
func (db *DB) Orgs() ([]earshot.Organization, error) {
	out, err := list[earshot.Organization](db, bucketOrgs, func(earshot.Organization) bool { return true })
	if err != nil {
		return nil, fmt.Errorf("list orgs: %w", err)
	}
	return out, nil
}

// Users returns the users of org sorted by id; org "" returns everyone. An
// unknown org has no users.
func (db *DB) Users(org string) ([]earshot.User, error) {
	recs, err := list[userRecord](db, bucketUsers, func(u userRecord) bool { return org == "" || u.Org == org })
	if err != nil {
		return nil, fmt.Errorf("list users of %q: %w", org, err)
	}
	out := make([]earshot.User, len(recs))
	for i, u := range recs {
		out[i] = earshot.User(u)
	}
	return out, nil
}

// PoolsOf returns the pools of org sorted by id; org "" returns every pool.
// An unknown org has no pools.
func (db *DB) PoolsOf(org string) ([]earshot.Pool, error) {
	out, err := list[earshot.Pool](db, bucketPools, func(p earshot.Pool) bool { return org == "" || p.Org == org })
	if err != nil {
		return nil, fmt.Errorf("list pools of %q: %w", org, err)
	}
	return out, nil
}

// list decodes the values of a bucket that keep passes, in key order.
func list[T any](db *DB, name []byte, keep func(T) bool) ([]T, error) {
	out := []T{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(name)
		return b.ForEach(func(k, _ []byte) error {
			var v T
			if _, err := get(b, string(k), &v); err != nil {
				return err
			}
			if keep(v) {
				out = append(out, v)
			}
			return nil
		})
	})
	return out, err
}

// SetFeature switches an organization's feature on or off (R1); doing what
// is already so is not an error. It returns ErrOrgNotFound, or EINVALID
// for a feature Earshot does not know.
func (db *DB) SetFeature(ctx context.Context, org, feature string, on bool) error {
	if !slices.Contains(knownFeatures, feature) {
		return earshot.Errorf(earshot.EINVALID, "feature %q is not one of %s", feature, strings.Join(knownFeatures, ", "))
	}
	err := db.update(ctx, func(tx *bolt.Tx) error {
		o, err := getOrg(tx, org)
		if err != nil {
			return err
		}
		if o.Has(feature) == on {
			return nil
		}
		o.Features = slices.DeleteFunc(o.Features, func(f string) bool { return f == feature })
		if on {
			o.Features = append(o.Features, feature)
		}
		return put(tx.Bucket(bucketOrgs), org, o)
	})
	if err != nil {
		return fmt.Errorf("set feature %s of org %s: %w", feature, org, err)
	}
	return nil
}

func getOrg(tx *bolt.Tx, id string) (earshot.Organization, error) {
	var o earshot.Organization
	if ok, err := get(tx.Bucket(bucketOrgs), id, &o); err != nil || !ok {
		return o, orNotFound(err, earshot.ErrOrgNotFound)
	}
	return o, nil
}

func getUser(tx *bolt.Tx, id string) (userRecord, error) {
	var u userRecord
	if ok, err := get(tx.Bucket(bucketUsers), id, &u); err != nil || !ok {
		return u, orNotFound(err, earshot.ErrUserNotFound)
	}
	return u, nil
}

func getPool(tx *bolt.Tx, id string) (earshot.Pool, error) {
	var p earshot.Pool
	if ok, err := get(tx.Bucket(bucketPools), id, &p); err != nil || !ok {
		return p, orNotFound(err, earshot.ErrPoolNotFound)
	}
	return p, nil
}

// orNotFound returns err, or notFound when err is nil.
func orNotFound(err, notFound error) error {
	if err != nil {
		return err
	}
	return notFound
}
