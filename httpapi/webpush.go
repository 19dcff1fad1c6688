package httpapi

import (
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/push"
)

// Notifications is the source of the notifications the event stream
// forwards (push.Notifier).
type Notifications interface {
	Subscribe(ctx context.Context) <-chan push.Note
}

// WebPushStore keeps the server's VAPID key pair and the browsers' Web
// Push subscriptions (store.DB, through an adapter).
type WebPushStore interface {
	// VAPIDKey returns the public key, making the pair on first use.
	VAPIDKey(ctx context.Context) (public string, created time.Time, err error)
	// RotateVAPIDKey makes a new pair and removes every subscription
	// (they are bound to the old key); removed says how many.
	RotateVAPIDKey(ctx context.Context) (public string, created time.Time, removed int, err error)
	// PutWebPushSubscription stores user's subscription and returns its
	// id; ECONFLICT when the endpoint is another user's.
	PutWebPushSubscription(ctx context.Context, user, endpoint, p256dh, auth string) (id string, err error)
	// DeleteWebPushSubscription removes user's subscription; ENOTFOUND
	// when they have none with that id.
	DeleteWebPushSubscription(ctx context.Context, user, id string) error
}

// maxEndpoint bounds a subscription's endpoint URL (the store's limit).
const maxEndpoint = 2048

type webPushKeyJSON struct {
	PublicKey string `json:"public_key"`
}

type vapidJSON struct {
	PublicKey            string    `json:"public_key"`
	CreatedAt            time.Time `json:"created_at"`
	SubscriptionsRemoved *int      `json:"subscriptions_removed,omitempty"`
}

type webPushSubscriptionRequest struct {
	Endpoint       string   `json:"endpoint"`
	ExpirationTime *float64 `json:"expirationTime"` // sent by PushSubscription.toJSON(); ignored
	Keys           struct {
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

type webPushSubscriptionJSON struct {
	ID string `json:"id"`
}

// webPush returns the store, or 404 where Web Push is not configured.
func (s *Server) webPush() (WebPushStore, error) {
	if s.cfg.WebPush == nil {
		return nil, newProblem(http.StatusNotFound, "Web Push is not configured on this server")
	}
	return s.cfg.WebPush, nil
}

// webPushKey gives browsers the application server key to subscribe with
// (PushManager.subscribe's applicationServerKey).
func (s *Server) webPushKey(c echo.Context) error {
	wp, err := s.webPush()
	if err != nil {
		return err
	}
	key, _, err := wp.VAPIDKey(c.Request().Context())
	if err != nil {
		return fmt.Errorf("vapid key: %w", err)
	}
	return c.JSON(http.StatusOK, webPushKeyJSON{PublicKey: key})
}

// putWebPushSubscription stores the caller's browser subscription; the
// same endpoint again updates it (201 with the same id). The server will
// POST to the endpoint, so it must be an https URL on a named host:
// a signed-in user must not turn Earshot into a client of addresses inside
// the network (IP literals and localhost are refused).
func (s *Server) putWebPushSubscription(c echo.Context) error {
	wp, err := s.webPush()
	if err != nil {
		return err
	}
	var req webPushSubscriptionRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	var errs []FieldError
	if msg := checkEndpoint(req.Endpoint); msg != "" {
		errs = append(errs, FieldError{"endpoint", msg})
	}
	if raw, err := decodeKey(req.Keys.P256dh); err != nil {
		errs = append(errs, FieldError{"keys.p256dh", "must be base64url"})
	} else if _, err := ecdh.P256().NewPublicKey(raw); err != nil {
		errs = append(errs, FieldError{"keys.p256dh", "must be an uncompressed P-256 public key (65 bytes)"})
	}
	if raw, err := decodeKey(req.Keys.Auth); err != nil || len(raw) != 16 {
		errs = append(errs, FieldError{"keys.auth", "must be 16 bytes, base64url"})
	}
	if len(errs) > 0 {
		return invalid(errs...)
	}
	id, err := wp.PutWebPushSubscription(c.Request().Context(), principalOf(c).user.ID, req.Endpoint, req.Keys.P256dh, req.Keys.Auth)
	switch {
	case earshot.ErrorCode(err) == earshot.ECONFLICT:
		return typedProblem(http.StatusConflict, "subscription-taken", "Push subscription of another user", earshot.ErrorMessage(err))
	case err != nil:
		return fmt.Errorf("put web push subscription: %w", err)
	}
	return c.JSON(http.StatusCreated, webPushSubscriptionJSON{ID: id})
}

// checkEndpoint says what is wrong with a push endpoint, or "".
func checkEndpoint(endpoint string) string {
	if endpoint == "" || len(endpoint) > maxEndpoint {
		return fmt.Sprintf("must be an https URL of at most %d bytes", maxEndpoint)
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return "must be an https URL (the push service's, from PushSubscription.endpoint)"
	}
	host := u.Hostname()
	if net.ParseIP(host) != nil || strings.EqualFold(host, "localhost") || !strings.Contains(host, ".") {
		return "must name the push service's host, not an address or a local name"
	}
	return ""
}

// decodeKey reads base64url with or without padding (browsers give it
// without; some libraries with).
func decodeKey(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// deleteWebPushSubscription removes the caller's subscription (the user
// turned push off on that browser, or signs out there).
func (s *Server) deleteWebPushSubscription(c echo.Context) error {
	wp, err := s.webPush()
	if err != nil {
		return err
	}
	id, err := param(c, "subscription")
	if err != nil {
		return err
	}
	err = wp.DeleteWebPushSubscription(c.Request().Context(), principalOf(c).user.ID, id)
	switch {
	case earshot.ErrorCode(err) == earshot.ENOTFOUND:
		return newProblem(http.StatusNotFound, "you have no push subscription %q", id)
	case err != nil:
		return fmt.Errorf("delete web push subscription: %w", err)
	}
	return c.NoContent(http.StatusNoContent)
}

// adminVAPID shows the operator the VAPID public key and its age.
func (s *Server) adminVAPID(c echo.Context) error {
	wp, err := s.webPush()
	if err != nil {
		return err
	}
	key, created, err := wp.VAPIDKey(c.Request().Context())
	if err != nil {
		return fmt.Errorf("vapid key: %w", err)
	}
	return c.JSON(http.StatusOK, vapidJSON{PublicKey: key, CreatedAt: created.UTC()})
}

// rotateVAPID replaces the VAPID key pair (a leaked private key, or
// policy). Every subscription is removed with the old key; browsers
// subscribe again when the console next opens.
func (s *Server) rotateVAPID(c echo.Context) error {
	wp, err := s.webPush()
	if err != nil {
		return err
	}
	key, created, removed, err := wp.RotateVAPIDKey(c.Request().Context())
	if err != nil {
		return fmt.Errorf("rotate vapid key: %w", err)
	}
	s.cfg.Log.Info("VAPID key rotated", "subscriptions_removed", removed)
	return c.JSON(http.StatusOK, vapidJSON{PublicKey: key, CreatedAt: created.UTC(), SubscriptionsRemoved: &removed})
}

// webPushOperations documents the routes above (openapi.go lists them).
var webPushOperations = []opDoc{
	{method: "GET", path: "/api/v1/webpush/key", id: "getWebPushKey", summary: "The VAPID public key (RFC 8292) to subscribe a browser with; 404 where Web Push is off", tag: "devices", auth: supervising, status: 200, result: "WebPushKey", errors: []int{404}},
	{method: "POST", path: "/api/v1/webpush/subscriptions", id: "createWebPushSubscription", summary: "Send this browser the notifications through Web Push (the PushSubscription's JSON); the same endpoint again updates it; an 11th replaces the oldest", tag: "devices", auth: supervising, body: "WebPushSubscriptionRequest", status: 201, result: "WebPushSubscription", errors: []int{404, 409}},
	{method: "DELETE", path: "/api/v1/webpush/subscriptions/{subscription}", id: "deleteWebPushSubscription", summary: "Stop Web Push to a browser", tag: "devices", auth: supervising, status: 204, errors: []int{404}},
	{method: "GET", path: "/api/v1/admin/webpush/vapid", id: "getVAPIDKey", summary: "Operator: the VAPID public key and when it was made", tag: "admin", auth: operatorTok, status: 200, result: "VAPIDKey"},
	{method: "POST", path: "/api/v1/admin/webpush/vapid/rotate", id: "rotateVAPIDKey", summary: "Operator: replace the VAPID key pair; every browser subscription is removed (browsers subscribe again with the new key)", tag: "admin", auth: operatorTok, status: 200, result: "VAPIDKey"},
}

// withWebPushSchemas adds the Web Push and notification schemas.
func withWebPushSchemas(m map[string]any) map[string]any {
	m["WebPushKey"] = object([]string{"public_key"}, map[string]any{
		"public_key": describeSchema(str(), "uncompressed P-256 point, base64url without padding"),
	})
	m["VAPIDKey"] = object([]string{"public_key", "created_at"}, map[string]any{
		"public_key":            describeSchema(str(), "uncompressed P-256 point, base64url without padding"),
		"created_at":            dateTime(),
		"subscriptions_removed": describeSchema(integer(), "after a rotation: the subscriptions removed with the old key"),
	})
	m["WebPushSubscriptionRequest"] = object([]string{"endpoint", "keys"}, map[string]any{
		"endpoint": describeSchema(map[string]any{"type": "string", "format": "uri", "maxLength": maxEndpoint}, "the push service's https URL"),
		"keys": object([]string{"p256dh", "auth"}, map[string]any{
			"p256dh": describeSchema(str(), "the browser's P-256 public key, base64url"),
			"auth":   describeSchema(str(), "the browser's 16-byte auth secret, base64url"),
		}),
		"expirationTime": map[string]any{"type": "number", "nullable": true, "description": "PushSubscription.toJSON() sends it; ignored"},
	})
	m["WebPushSubscription"] = object([]string{"id"}, map[string]any{"id": str()})
	m["NotificationAction"] = object([]string{"action", "title"}, map[string]any{
		// Not an enum: generated clients would name its values as the
		// Mode enum's and rename those.
		"action": describeSchema(str(), "listen (open the dial URI), or the mode to switch to: whisper, barge, listen"),
		"title":  describeSchema(str(), "the button's words"),
	})
	m["Notification"] = describeSchema(object([]string{"type", "title", "body", "tag", "category", "actions", "data"}, map[string]any{
		"type":     map[string]any{"type": "string", "enum": []string{push.TypeListenOffer, push.TypeOfferWithdrawn, push.TypeSupervisingStatus, push.TypeSessionEnded}},
		"title":    str(),
		"body":     str(),
		"tag":      describeSchema(str(), "the call's key: a newer notification with the same tag replaces the older"),
		"category": str(),
		"actions":  array(ref("NotificationAction")),
		"data":     describeSchema(map[string]any{"type": "object", "additionalProperties": str()}, "the push data payload (README, Push notifications)"),
	}), "a notification as the push services carry it; Web Push messages hold the same JSON")
	return m
}
