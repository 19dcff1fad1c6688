package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/earshot/earshot/store"
)

// must fails the test on an error.
func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// MustClose closes db and returns its path.
func MustClose(tb testing.TB, db *store.DB) string {
	tb.Helper()
	must(tb, db.Close())
	return db.Path()
}

// writeBolt runs fn in a write transaction on the bbolt file at path,
// bypassing the store, to make files the store must cope with.
func writeBolt(tb testing.TB, path string, fn func(tx *bolt.Tx) error) {
	tb.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	must(tb, db.Update(fn))
}

// schemaVersion reads meta/schema_version of a closed store.
func schemaVersion(tb testing.TB, path string) string {
	tb.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	var v string
	must(tb, db.View(func(tx *bolt.Tx) error {
		v = string(tx.Bucket([]byte("meta")).Get([]byte("schema_version")))
		return nil
	}))
	return v
}

// pseudoRandom returns n reproducible random bytes.
func pseudoRandom(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// snapshot renders everything db holds that the API can see, to compare
// two stores.
func snapshot(tb testing.TB, db *store.DB) string {
	tb.Helper()
	ctx := context.Background()
	var b strings.Builder
	line := func(what string, v any, err error) {
		must(tb, err)
		data, err := json.Marshal(v)
		must(tb, err)
		fmt.Fprintf(&b, "%s %s\n", what, data)
	}
	orgs, err := db.Orgs()
	line("orgs", orgs, err)
	users, err := db.Users("")
	line("users", users, err)
	pools, err := db.PoolsOf("")
	line("pools", pools, err)
	for _, u := range users {
		hash, err := db.User(ctx, u.ID)
		line("hash "+u.ID, hash.PasswordHash, err)
		if u.PhoneNumber != "" {
			byPhone, err := db.UserByPhone(ctx, u.PhoneNumber)
			line("phone "+u.PhoneNumber, byPhone.ID, err)
		}
		if u.Endpoint != "" {
			byEndpoint, err := db.AgentByEndpoint(ctx, u.Endpoint)
			line("endpoint "+u.Endpoint, byEndpoint.ID, err)
		}
		supervised, err := db.SupervisedBy(ctx, u.ID)
		line("supervised by "+u.ID, supervised, err)
		supervisors, err := db.SupervisorsOf(ctx, u.ID)
		line("supervisors of "+u.ID, supervisors, err)
		devices, err := db.Devices(ctx, u.ID)
		line("devices of "+u.ID, devices, err)
	}
	audit, err := db.Audit(ctx, store.AuditQuery{Limit: store.MaxAuditLimit})
	line("audit", audit, err)
	offers, err := db.Offers(ctx)
	line("offers", offers, err)
	codes := make([]string, len(offers))
	for i, o := range offers {
		codes[i] = o.Code
	}
	line("codes", codes, nil)
	return b.String()
}
