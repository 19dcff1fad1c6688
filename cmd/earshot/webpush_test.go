package main

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/earshot/earshot/directory"
	"github.com/earshot/earshot/push"
	"github.com/earshot/earshot/store"
)

// The notifier sees a user's phones and browsers as devices, and a token
// the push service rejects is removed from wherever it is kept: an
// endpoint (410 from a Web Push service) from the subscriptions, an FCM
// token from the devices.
func TestAllDevices(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(filepath.Join(t.TempDir(), "earshot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f, err := directory.Load("../../testdata/directory/demo.yaml", "FI")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportDirectory(ctx, f); err != nil {
		t.Fatal(err)
	}
	if err := db.PutDevice(ctx, store.Device{Token: "fcm-token-1", User: "sara", Platform: store.PlatformAndroid}); err != nil {
		t.Fatal(err)
	}
	const endpoint = "https://push.example.com/send/abc"
	if _, err := db.PutWebPushSubscription(ctx, store.WebPushSubscription{User: "sara", Endpoint: endpoint, P256dh: "p", Auth: "a"}); err != nil {
		t.Fatal(err)
	}
	d := allDevices{db}
	tokens := func() []string {
		ds, err := d.Devices(ctx, "sara")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range ds {
			out = append(out, x.Platform+" "+x.Token)
		}
		return out
	}
	if got := tokens(); !slices.Equal(got, []string{"android fcm-token-1", push.PlatformWeb + " " + endpoint}) {
		t.Fatalf("devices %q", got)
	}
	if err := d.DeleteDevice(ctx, endpoint); err != nil {
		t.Fatal(err)
	}
	if got := tokens(); !slices.Equal(got, []string{"android fcm-token-1"}) {
		t.Fatalf("after the endpoint's removal: %q", got)
	}
	if err := d.DeleteDevice(ctx, "fcm-token-1"); err != nil {
		t.Fatal(err)
	}
	if got := tokens(); len(got) != 0 {
		t.Fatalf("after the token's removal: %q", got)
	}
}
