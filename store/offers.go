package store

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/earshot/earshot"
)

// offerRecord is an offer as stored. It has earshot.Offer's fields, so the
// two convert into each other, but keeps the one-time code, which
// earshot.Offer leaves out of JSON.
type offerRecord struct {
	ID         string `json:"id"`
	Org        string `json:"org"`
	Supervisor string `json:"supervisor"`
	Agent      string `json:"agent"`
	Pool       string `json:"pool"`
	CallID     string `json:"call_id"`
	// Node and SupervisingNumber are absent in offers stored before
	// several nodes were supported: they decode empty.
	Node              string    `json:"node,omitempty"`
	SupervisingNumber string    `json:"supervising_number,omitempty"`
	Code              string    `json:"code,omitempty"`
	CreatedAt         time.Time `json:"created_at"`
	ExpiresAt         time.Time `json:"expires_at"`
}

// PutOffer stores a pending listen offer, code included, so that offers
// outlive a restart; storing one with the same id replaces it. It returns
// EINVALID for a bad id.
func (db *DB) PutOffer(ctx context.Context, o earshot.Offer) error {
	if err := checkID("offer", o.ID); err != nil {
		return fmt.Errorf("put offer: %w", err)
	}
	err := db.update(ctx, func(tx *bolt.Tx) error {
		return put(tx.Bucket(bucketOffers), o.ID, offerRecord(o))
	})
	if err != nil {
		return fmt.Errorf("put offer %s: %w", o.ID, err)
	}
	return nil
}

// DeleteOffer removes an offer that was used, withdrawn or expired;
// removing an unknown one is not an error. It returns only the errors of
// the database (and ctx's).
func (db *DB) DeleteOffer(ctx context.Context, id string) error {
	err := db.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOffers).Delete([]byte(id))
	})
	if err != nil {
		return fmt.Errorf("delete offer %s: %w", id, err)
	}
	return nil
}

// Offers returns every stored offer sorted by id, expired ones included:
// the caller, which owns the clock, drops those. It returns only the
// errors of the database (and ctx's).
func (db *DB) Offers(ctx context.Context) ([]earshot.Offer, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list offers: %w", err)
	}
	recs, err := list(db, bucketOffers, func(offerRecord) bool { return true })
	if err != nil {
		return nil, fmt.Errorf("list offers: %w", err)
	}
	out := make([]earshot.Offer, len(recs))
	for i, r := range recs {
		out[i] = earshot.Offer(r)
	}
	return out, nil
}
