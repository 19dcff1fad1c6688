package store_test

import (
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/store"
)

func TestDB_VAPIDKeys(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	k1, err := db.VAPIDKeys(ctx)
	must(t, err)
	// A usable P-256 pair: the private scalar gives the public point.
	priv, err := base64.RawURLEncoding.DecodeString(k1.Private)
	must(t, err)
	key, err := ecdh.P256().NewPrivateKey(priv)
	must(t, err)
	if got := base64.RawURLEncoding.EncodeToString(key.PublicKey().Bytes()); got != k1.Public {
		t.Fatalf("public %s does not belong to the private key (%s)", k1.Public, got)
	}
	// Made once: the same after a reopen.
	db = MustReopen(t, db)
	k2, err := db.VAPIDKeys(ctx)
	must(t, err)
	if k2 != k1 {
		t.Fatalf("keys changed across a reopen: %+v then %+v", k1, k2)
	}
}

func TestDB_RotateVAPIDKeys(t *testing.T) {
	ctx := context.Background()
	db := MustImport(t)
	k1, err := db.VAPIDKeys(ctx)
	must(t, err)
	_, err = db.PutWebPushSubscription(ctx, store.WebPushSubscription{User: "sara", Endpoint: "https://push.example/a", P256dh: "p", Auth: "a"})
	must(t, err)
	k2, removed, err := db.RotateVAPIDKeys(ctx)
	must(t, err)
	if k2.Public == k1.Public || k2.Private == k1.Private || removed != 1 {
		t.Fatalf("rotate: %+v removed %d (was %+v)", k2, removed, k1)
	}
	if subs, _ := db.WebPushSubscriptions(ctx, "sara"); len(subs) != 0 {
		t.Fatalf("subscriptions bound to the old key remain: %+v", subs)
	}
	if k3, _ := db.VAPIDKeys(ctx); k3 != k2 {
		t.Fatalf("VAPIDKeys after rotate = %+v, want %+v", k3, k2)
	}
	// Rotating with no subscription bucket yet is fine too.
	if _, removed, err := MustOpen(t).RotateVAPIDKeys(ctx); err != nil || removed != 0 {
		t.Fatalf("rotate on an empty store: %d, %v", removed, err)
	}
}

func TestDB_WebPushSubscriptions(t *testing.T) {
	ctx := context.Background()
	sub := func(user, endpoint string) store.WebPushSubscription {
		return store.WebPushSubscription{User: user, Endpoint: endpoint, P256dh: "key-" + endpoint, Auth: "auth"}
	}
	t.Run("EmptyStore", func(t *testing.T) {
		db := MustOpen(t)
		if subs, err := db.WebPushSubscriptions(ctx, "sara"); err != nil || len(subs) != 0 {
			t.Fatalf("%+v, %v", subs, err)
		}
		if _, ok, err := db.WebPushSubscription(ctx, "https://x"); ok || err != nil {
			t.Fatalf("%v, %v", ok, err)
		}
		must(t, db.DeleteWebPushEndpoint(ctx, "https://x"))
		wantCode(t, db.DeleteWebPushSubscription(ctx, "sara", "nope"), earshot.ENOTFOUND)
	})
	t.Run("PutListDelete", func(t *testing.T) {
		db := MustImport(t)
		s, err := db.PutWebPushSubscription(ctx, sub("sara", "https://push.example/1"))
		must(t, err)
		if s.ID != store.WebPushID("https://push.example/1") || s.CreatedAt.IsZero() {
			t.Fatalf("stored %+v", s)
		}
		// Again with new keys: updated, not doubled.
		again := sub("sara", "https://push.example/1")
		again.P256dh = "new"
		_, err = db.PutWebPushSubscription(ctx, again)
		must(t, err)
		subs, err := db.WebPushSubscriptions(ctx, "sara")
		must(t, err)
		if len(subs) != 1 || subs[0].P256dh != "new" {
			t.Fatalf("sara has %+v", subs)
		}
		got, ok, err := db.WebPushSubscription(ctx, "https://push.example/1")
		if err != nil || !ok || got.User != "sara" {
			t.Fatalf("by endpoint: %+v %v %v", got, ok, err)
		}
		// gina cannot remove sara's, nor take it over.
		wantCode(t, db.DeleteWebPushSubscription(ctx, "gina", s.ID), earshot.ENOTFOUND)
		if _, err := db.PutWebPushSubscription(ctx, sub("gina", "https://push.example/1")); !errors.Is(err, store.ErrEndpointTaken) {
			t.Fatalf("taking sara's endpoint: %v", err)
		}
		must(t, db.DeleteWebPushSubscription(ctx, "sara", s.ID))
		if subs, _ := db.WebPushSubscriptions(ctx, "sara"); len(subs) != 0 {
			t.Fatalf("after delete: %+v", subs)
		}
		// The push service's "gone" removes by endpoint.
		_, err = db.PutWebPushSubscription(ctx, sub("sara", "https://push.example/2"))
		must(t, err)
		must(t, db.DeleteWebPushEndpoint(ctx, "https://push.example/2"))
		if _, ok, _ := db.WebPushSubscription(ctx, "https://push.example/2"); ok {
			t.Fatal("endpoint still there")
		}
	})
	t.Run("Invalid", func(t *testing.T) {
		db := MustImport(t)
		for _, s := range []store.WebPushSubscription{
			sub("sara", ""),
			sub("sara", "https://"+strings.Repeat("x", store.MaxEndpointLen)),
			{User: "sara", Endpoint: "https://push.example/k", Auth: "a"},
			{User: "sara", Endpoint: "https://push.example/k", P256dh: "p"},
		} {
			_, err := db.PutWebPushSubscription(ctx, s)
			wantCode(t, err, earshot.EINVALID)
		}
		_, err := db.PutWebPushSubscription(ctx, sub("nobody", "https://push.example/n"))
		if !errors.Is(err, earshot.ErrUserNotFound) {
			t.Fatalf("unknown user: %v", err)
		}
	})
	t.Run("BoundedPerUser", func(t *testing.T) {
		db := MustImport(t)
		for i := range store.MaxWebPushPerUser + 3 {
			s := sub("sara", fmt.Sprintf("https://push.example/%02d", i))
			s.CreatedAt = now.Add(time.Duration(i) * time.Second)
			_, err := db.PutWebPushSubscription(ctx, s)
			must(t, err)
		}
		subs, err := db.WebPushSubscriptions(ctx, "sara")
		must(t, err)
		if len(subs) != store.MaxWebPushPerUser || subs[0].Endpoint != "https://push.example/03" {
			t.Fatalf("sara has %d, oldest %s", len(subs), subs[0].Endpoint)
		}
	})
}

// Subscribing from many browsers at once keeps the bound, and the same
// endpoint from two users at once ends up with exactly one of them.
func TestDB_WebPushSubscriptions_Racing(t *testing.T) {
	ctx := context.Background()
	db := MustImport(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 30 {
		wg.Go(func() {
			_, err := db.PutWebPushSubscription(ctx, store.WebPushSubscription{User: "sara", Endpoint: fmt.Sprintf("https://push.example/r%02d", i), P256dh: "p", Auth: "a"})
			errs <- err
		})
	}
	for _, user := range []string{"sara", "gina"} {
		wg.Go(func() {
			_, err := db.PutWebPushSubscription(ctx, store.WebPushSubscription{User: user, Endpoint: "https://push.example/contested", P256dh: "p", Auth: "a"})
			if err != nil && !errors.Is(err, store.ErrEndpointTaken) {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	subs, err := db.WebPushSubscriptions(ctx, "sara")
	must(t, err)
	if len(subs) > store.MaxWebPushPerUser {
		t.Fatalf("sara has %d subscriptions, more than %d", len(subs), store.MaxWebPushPerUser)
	}
	s, ok, err := db.WebPushSubscription(ctx, "https://push.example/contested")
	must(t, err)
	if ok && s.User != "sara" && s.User != "gina" {
		t.Fatalf("contested endpoint belongs to %q", s.User)
	}
}

// Deleting a user deletes their subscriptions, and only theirs.
func TestDB_DeleteUser_WebPush(t *testing.T) {
	ctx := context.Background()
	db := MustImport(t)
	for _, u := range []string{"sara", "gina"} {
		_, err := db.PutWebPushSubscription(ctx, store.WebPushSubscription{User: u, Endpoint: "https://push.example/" + u, P256dh: "p", Auth: "a"})
		must(t, err)
	}
	must(t, db.DeleteUser(ctx, "sara"))
	if _, ok, _ := db.WebPushSubscription(ctx, "https://push.example/sara"); ok {
		t.Error("the deleted user's subscription remains")
	}
	if subs, _ := db.WebPushSubscriptions(ctx, "gina"); len(subs) != 1 {
		t.Errorf("gina has %+v", subs)
	}
}
