package main

import (
	"context"
	"strings"
	"time"

	"github.com/earshot/earshot/push"
	"github.com/earshot/earshot/push/webpush"
	"github.com/earshot/earshot/store"
)

// allDevices is the notifier's view of a user's devices: their phones
// (FCM tokens) and their browsers' Web Push subscriptions, whose token is
// the endpoint URL. A token the push service rejects is deleted from
// wherever it is kept.
type allDevices struct{ db *store.DB }

func (d allDevices) Devices(ctx context.Context, user string) ([]push.Device, error) {
	out, err := pushDevices(d).Devices(ctx, user)
	if err != nil {
		return nil, err
	}
	subs, err := d.db.WebPushSubscriptions(ctx, user)
	if err != nil {
		return nil, err
	}
	for _, s := range subs {
		out = append(out, push.Device{Token: s.Endpoint, Platform: push.PlatformWeb})
	}
	return out, nil
}

func (d allDevices) DeleteDevice(ctx context.Context, token string) error {
	// Endpoints are https URLs; FCM and APNs tokens never hold "://".
	if strings.Contains(token, "://") {
		return d.db.DeleteWebPushEndpoint(ctx, token)
	}
	return pushDevices(d).DeleteDevice(ctx, token)
}

// webPushStore adapts the store to the Web Push sender.
type webPushStore struct{ db *store.DB }

func (s webPushStore) WebPushSubscription(ctx context.Context, endpoint string) (webpush.Subscription, bool, error) {
	sub, ok, err := s.db.WebPushSubscription(ctx, endpoint)
	return webpush.Subscription{Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: sub.Auth}, ok, err
}

func (s webPushStore) VAPIDKeys(ctx context.Context) (webpush.Keys, error) {
	k, err := s.db.VAPIDKeys(ctx)
	return webpush.Keys{Public: k.Public, Private: k.Private}, err
}

// webPushAPI adapts the store to the API's Web Push routes.
type webPushAPI struct{ db *store.DB }

func (s webPushAPI) VAPIDKey(ctx context.Context) (string, time.Time, error) {
	k, err := s.db.VAPIDKeys(ctx)
	return k.Public, k.CreatedAt, err
}

func (s webPushAPI) RotateVAPIDKey(ctx context.Context) (string, time.Time, int, error) {
	k, removed, err := s.db.RotateVAPIDKeys(ctx)
	return k.Public, k.CreatedAt, removed, err
}

func (s webPushAPI) PutWebPushSubscription(ctx context.Context, user, endpoint, p256dh, auth string) (string, error) {
	sub, err := s.db.PutWebPushSubscription(ctx, store.WebPushSubscription{User: user, Endpoint: endpoint, P256dh: p256dh, Auth: auth})
	return sub.ID, err
}

func (s webPushAPI) DeleteWebPushSubscription(ctx context.Context, user, id string) error {
	return s.db.DeleteWebPushSubscription(ctx, user, id)
}
