package store

import (
	"context"
	"crypto/rand"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

var keyTokenKey = []byte("token_key")

// TokenKeySize is the size of the sign-in token signing key.
const TokenKeySize = 32

// TokenKey returns the key that signs sign-in tokens, creating it on first
// use. Keeping it in the store lets tokens survive a restart without the
// operator managing one more secret; a backup carries it along.
func (db *DB) TokenKey(ctx context.Context) ([]byte, error) {
	var key []byte
	err := db.update(ctx, func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keyTokenKey); len(v) == TokenKeySize {
			key = append([]byte(nil), v...)
			return nil
		}
		key = make([]byte, TokenKeySize)
		if _, err := rand.Read(key); err != nil {
			return err
		}
		return meta.Put(keyTokenKey, key)
	})
	if err != nil {
		return nil, fmt.Errorf("token key: %w", err)
	}
	return key, nil
}
