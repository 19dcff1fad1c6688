package store

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/earshot/earshot"
)

// Web Push (RFC 8030) keeps two things here: the server's VAPID key pair
// (RFC 8292), which browsers bind their subscriptions to, and each
// browser's subscription. The bucket is made on first write and reads as
// empty before that, so no migration is needed.
var (
	bucketWebPush = []byte("webpush_subscriptions") // endpoint → WebPushSubscription
	keyVAPID      = []byte("vapid_keys")            // in meta: VAPIDKeys
)

// MaxWebPushPerUser bounds one user's subscriptions (browsers, devices);
// one more replaces their oldest, as with devices.
const MaxWebPushPerUser = 10

// MaxEndpointLen bounds a subscription's endpoint URL.
const MaxEndpointLen = 2048

// ErrEndpointTaken means the endpoint is subscribed by another user.
var ErrEndpointTaken = earshot.Errorf(earshot.ECONFLICT,
	"this push subscription belongs to another user; it moves only after that user removes it or the browser makes a new one")

// VAPIDKeys is the server's application server key pair: P-256, the
// private scalar (32 bytes) and the uncompressed public point (65 bytes),
// both unpadded base64url as browsers and the Web Push library read them.
type VAPIDKeys struct {
	Public    string    `json:"public"`
	Private   string    `json:"private"`
	CreatedAt time.Time `json:"created_at"`
}

// WebPushSubscription is one browser's push subscription (the Push API's
// PushSubscription) of a user.
type WebPushSubscription struct {
	// ID names the subscription in the API: a hash of the endpoint, so
	// the endpoint (a capability URL) need not travel in a path.
	ID       string `json:"id"`
	User     string `json:"user"`
	Endpoint string `json:"endpoint"`
	// P256dh is the browser's public key and Auth its auth secret
	// (RFC 8291), base64url.
	P256dh    string    `json:"p256dh"`
	Auth      string    `json:"auth"`
	CreatedAt time.Time `json:"created_at"`
}

// WebPushID is the id of the subscription with this endpoint.
func WebPushID(endpoint string) string {
	sum := sha256.Sum256([]byte(endpoint))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

func newVAPIDKeys(now time.Time) (VAPIDKeys, error) {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return VAPIDKeys{}, err
	}
	return VAPIDKeys{
		Public:    base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()),
		Private:   base64.RawURLEncoding.EncodeToString(k.Bytes()),
		CreatedAt: now.UTC(),
	}, nil
}

// VAPIDKeys returns the server's VAPID key pair, making it on first use.
// Kept in the store, it survives restarts (subscriptions stay valid) and a
// backup carries it along.
func (db *DB) VAPIDKeys(ctx context.Context) (VAPIDKeys, error) {
	var keys VAPIDKeys
	err := db.update(ctx, func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keyVAPID); v != nil {
			return json.Unmarshal(v, &keys)
		}
		var err error
		if keys, err = newVAPIDKeys(db.now()); err != nil {
			return err
		}
		return put(meta, string(keyVAPID), keys)
	})
	if err != nil {
		return VAPIDKeys{}, fmt.Errorf("vapid keys: %w", err)
	}
	return keys, nil
}

// RotateVAPIDKeys replaces the VAPID key pair. Browsers' subscriptions are
// bound to the old public key, so they are all removed in the same
// transaction (removed says how many); each browser subscribes again with
// the new key the next time the console opens.
func (db *DB) RotateVAPIDKeys(ctx context.Context) (keys VAPIDKeys, removed int, err error) {
	err = db.update(ctx, func(tx *bolt.Tx) error {
		var err error
		if keys, err = newVAPIDKeys(db.now()); err != nil {
			return err
		}
		if b := tx.Bucket(bucketWebPush); b != nil {
			removed = b.Stats().KeyN
			if err := tx.DeleteBucket(bucketWebPush); err != nil {
				return err
			}
		}
		return put(tx.Bucket(bucketMeta), string(keyVAPID), keys)
	})
	if err != nil {
		return VAPIDKeys{}, 0, fmt.Errorf("rotate vapid keys: %w", err)
	}
	return keys, removed, nil
}

// PutWebPushSubscription stores a user's subscription; storing it again
// updates its keys. An endpoint another user subscribed stays theirs
// (ErrEndpointTaken). A user's MaxWebPushPerUser+1st subscription
// replaces their oldest. It returns EINVALID for an empty or overlong
// endpoint or missing keys, and ErrUserNotFound. The caller checks the
// keys' form (the API does).
func (db *DB) PutWebPushSubscription(ctx context.Context, s WebPushSubscription) (WebPushSubscription, error) {
	switch {
	case s.Endpoint == "" || len(s.Endpoint) > MaxEndpointLen:
		return s, earshot.Errorf(earshot.EINVALID, "endpoint must be 1 to %d bytes long", MaxEndpointLen)
	case s.P256dh == "" || s.Auth == "":
		return s, earshot.Errorf(earshot.EINVALID, "keys p256dh and auth are required")
	}
	s.ID = WebPushID(s.Endpoint)
	if s.CreatedAt.IsZero() {
		s.CreatedAt = db.now().UTC()
	}
	err := db.update(ctx, func(tx *bolt.Tx) error {
		if _, err := getUser(tx, s.User); err != nil {
			return err
		}
		b, err := tx.CreateBucketIfNotExists(bucketWebPush)
		if err != nil {
			return err
		}
		var old WebPushSubscription
		ok, err := get(b, s.Endpoint, &old)
		switch {
		case err != nil:
			return err
		case ok && old.User != s.User:
			return ErrEndpointTaken
		case ok:
			s.CreatedAt = old.CreatedAt
		default:
			mine, err := subscriptionsOf(b, s.User)
			if err != nil {
				return err
			}
			// Oldest first; remove until there is room for one more.
			slices.SortFunc(mine, func(a, b WebPushSubscription) int { return a.CreatedAt.Compare(b.CreatedAt) })
			for len(mine) >= MaxWebPushPerUser {
				if err := b.Delete([]byte(mine[0].Endpoint)); err != nil {
					return err
				}
				mine = mine[1:]
			}
		}
		return put(b, s.Endpoint, s)
	})
	return s, err
}

// subscriptionsOf scans b for user's subscriptions: a user has at most
// MaxWebPushPerUser and a site a few hundred supervisors, so a scan is
// cheaper than an index to keep in step.
func subscriptionsOf(b *bolt.Bucket, user string) ([]WebPushSubscription, error) {
	var out []WebPushSubscription
	err := b.ForEach(func(k, v []byte) error {
		var s WebPushSubscription
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("decode subscription: %w", err)
		}
		if s.User == user {
			out = append(out, s)
		}
		return nil
	})
	return out, err
}

// WebPushSubscriptions lists a user's subscriptions, oldest first.
func (db *DB) WebPushSubscriptions(ctx context.Context, user string) ([]WebPushSubscription, error) {
	var out []WebPushSubscription
	err := db.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketWebPush)
		if b == nil {
			return nil
		}
		var err error
		out, err = subscriptionsOf(b, user)
		return err
	})
	slices.SortFunc(out, func(a, b WebPushSubscription) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, err
}

// WebPushSubscription returns the subscription with this endpoint; ok is
// false when there is none.
func (db *DB) WebPushSubscription(ctx context.Context, endpoint string) (s WebPushSubscription, ok bool, err error) {
	err = db.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketWebPush)
		if b == nil {
			return nil
		}
		ok, err = get(b, endpoint, &s)
		return err
	})
	return s, ok, err
}

// DeleteWebPushEndpoint forgets the subscription with this endpoint (the
// push service answered that it is gone); none is no error.
func (db *DB) DeleteWebPushEndpoint(ctx context.Context, endpoint string) error {
	return db.update(ctx, func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketWebPush); b != nil {
			return b.Delete([]byte(endpoint))
		}
		return nil
	})
}

// DeleteWebPushSubscription forgets user's subscription with this id. It
// returns ENOTFOUND when the user has none with that id (another user's
// is not theirs to remove).
func (db *DB) DeleteWebPushSubscription(ctx context.Context, user, id string) error {
	return db.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketWebPush)
		if b == nil {
			return earshot.Errorf(earshot.ENOTFOUND, "no push subscription %q", id)
		}
		mine, err := subscriptionsOf(b, user)
		if err != nil {
			return err
		}
		for _, s := range mine {
			if s.ID == id {
				return b.Delete([]byte(s.Endpoint))
			}
		}
		return earshot.Errorf(earshot.ENOTFOUND, "no push subscription %q", id)
	})
}

// deleteWebPushOf removes a user's subscriptions (the user is deleted):
// a user made later with the same id must not get their browsers'
// notifications.
func deleteWebPushOf(tx *bolt.Tx, user string) error {
	b := tx.Bucket(bucketWebPush)
	if b == nil {
		return nil
	}
	mine, err := subscriptionsOf(b, user)
	if err != nil {
		return err
	}
	for _, s := range mine {
		if err := b.Delete([]byte(s.Endpoint)); err != nil {
			return err
		}
	}
	return nil
}
