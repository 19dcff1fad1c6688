package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/earshot/earshot"
)

// Device platforms.
const (
	PlatformAndroid = "android"
	PlatformIOS     = "ios"
)

// MaxTokenLen bounds a push token; FCM's are about 160 bytes, APNs's 64.
const MaxTokenLen = 4096

// MaxDevicesPerUser bounds the devices one user has registered. Registering
// one more forgets the one registered least recently: an app registers at
// every start, so that is a phone no longer in use (a token rotated, the
// app removed), and the store stays bounded whatever a client sends.
const MaxDevicesPerUser = 10

// ErrTokenTaken means the push token is registered to another user.
var ErrTokenTaken = earshot.Errorf(earshot.ECONFLICT,
	"this push token is registered to another user; it moves only after that user deregisters it (DELETE /api/v1/devices/{token}), or the app gets a new token")

// Device is a phone a user receives push notifications on.
type Device struct {
	// Token is the push token (an FCM registration token); it identifies
	// the device.
	Token string `json:"token"`
	// User is the id of the user signed in on the device.
	User string `json:"user"`
	// Platform is PlatformAndroid or PlatformIOS.
	Platform string `json:"platform"`
	// UpdatedAt is when the device was last registered; PutDevice sets
	// it when zero.
	UpdatedAt time.Time `json:"updated_at"`
}

// PutDevice registers a push token for a user; registering it again
// updates the platform and the time. A token registered to another user
// stays theirs until they deregister it (ErrTokenTaken): knowing a token
// must not let anyone redirect someone else's notifications. A user's
// MaxDevicesPerUser+1st device replaces their least recently registered.
// It returns EINVALID for an empty or overlong token or an unknown
// platform, and ErrUserNotFound.
func (db *DB) PutDevice(ctx context.Context, d Device) error {
	switch {
	case d.Token == "" || len(d.Token) > MaxTokenLen:
		return earshot.Errorf(earshot.EINVALID, "push token must be 1 to %d bytes long", MaxTokenLen)
	case d.Platform != PlatformAndroid && d.Platform != PlatformIOS:
		return earshot.Errorf(earshot.EINVALID, "platform %q is not one of %s, %s", d.Platform, PlatformAndroid, PlatformIOS)
	}
	if d.UpdatedAt.IsZero() {
		d.UpdatedAt = db.now()
	}
	err := db.update(ctx, func(tx *bolt.Tx) error {
		if _, err := getUser(tx, d.User); err != nil {
			return err
		}
		var old Device
		ok, err := get(tx.Bucket(bucketDevices), d.Token, &old)
		switch {
		case err != nil:
			return err
		case ok && old.User != d.User:
			return ErrTokenTaken
		case !ok:
			if err := evictOldest(tx, d.User, MaxDevicesPerUser-1); err != nil {
				return err
			}
		}
		if err := put(tx.Bucket(bucketDevices), d.Token, d); err != nil {
			return err
		}
		return tx.Bucket(bucketDevicesByUser).Put(pairKey(d.User, d.Token), nil)
	})
	if err != nil {
		return fmt.Errorf("put device of user %s: %w", d.User, err)
	}
	return nil
}

// DeleteDevice removes a push token, as when FCM reports it unregistered;
// removing an unknown token is not an error. It returns only the errors
// of the database (and ctx's).
func (db *DB) DeleteDevice(ctx context.Context, token string) error {
	err := db.update(ctx, func(tx *bolt.Tx) error {
		return deleteDevice(tx, token)
	})
	if err != nil {
		return fmt.Errorf("delete device: %w", err)
	}
	return nil
}

// DeleteDeviceOf forgets a push token only if user owns it, so a signed-in
// user cannot unregister someone else's phone by knowing its token. A
// token that is unknown or owned by another user is left alone and
// counts as done (idempotent, and revealing nothing).
func (db *DB) DeleteDeviceOf(ctx context.Context, user, token string) error {
	err := db.update(ctx, func(tx *bolt.Tx) error {
		var d Device
		ok, err := get(tx.Bucket(bucketDevices), token, &d)
		if err != nil || !ok || d.User != user {
			return err
		}
		return deleteDevice(tx, token)
	})
	if err != nil {
		return fmt.Errorf("delete device of %s: %w", user, err)
	}
	return nil
}

// Devices returns a user's devices sorted by token; an unknown user has
// none. It returns only the errors of the database (and ctx's).
func (db *DB) Devices(ctx context.Context, user string) ([]Device, error) {
	out := []Device{}
	err := db.view(ctx, func(tx *bolt.Tx) error {
		devices := tx.Bucket(bucketDevices)
		for _, token := range seconds(tx.Bucket(bucketDevicesByUser), user) {
			var d Device
			if ok, err := get(devices, token, &d); err != nil || !ok {
				return orNotFound(err, fmt.Errorf("index names device …%s, which is missing", tokenTail(token)))
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list devices of %s: %w", user, err)
	}
	return out, nil
}

// DeleteDevicesOf removes every device of a user, as when they sign out
// everywhere; a user without devices is not an error. It returns only
// the errors of the database (and ctx's).
func (db *DB) DeleteDevicesOf(ctx context.Context, user string) error {
	err := db.update(ctx, func(tx *bolt.Tx) error {
		return deleteDevicesOf(tx, user)
	})
	if err != nil {
		return fmt.Errorf("delete devices of %s: %w", user, err)
	}
	return nil
}

// evictOldest deletes user's least recently registered devices until at
// most keep remain.
func evictOldest(tx *bolt.Tx, user string, keep int) error {
	tokens := seconds(tx.Bucket(bucketDevicesByUser), user)
	if len(tokens) <= keep {
		return nil
	}
	ds := make([]Device, 0, len(tokens))
	for _, tok := range tokens {
		var d Device
		if _, err := get(tx.Bucket(bucketDevices), tok, &d); err != nil {
			return err
		}
		d.Token = tok
		ds = append(ds, d)
	}
	slices.SortStableFunc(ds, func(a, b Device) int { return a.UpdatedAt.Compare(b.UpdatedAt) })
	for _, d := range ds[:len(ds)-keep] {
		if err := deleteDevice(tx, d.Token); err != nil {
			return err
		}
	}
	return nil
}

func deleteDevice(tx *bolt.Tx, token string) error {
	devices := tx.Bucket(bucketDevices)
	var old Device
	if ok, err := get(devices, token, &old); err != nil || !ok {
		return err
	}
	if err := tx.Bucket(bucketDevicesByUser).Delete(pairKey(old.User, token)); err != nil {
		return err
	}
	return devices.Delete([]byte(token))
}

func deleteDevicesOf(tx *bolt.Tx, user string) error {
	for _, token := range seconds(tx.Bucket(bucketDevicesByUser), user) {
		if err := deleteDevice(tx, token); err != nil {
			return err
		}
	}
	return nil
}

// tokenTail is the end of a push token, for errors that reach logs (as
// push.TokenTail: at most 8 characters, and never more than half).
func tokenTail(token string) string {
	return token[len(token)-min(8, len(token)/2):]
}
