// Package webpush delivers notifications to browsers through the Web Push
// protocol (RFC 8030): each message is encrypted for its subscription
// (RFC 8291, aes128gcm) and signed with the server's VAPID key (RFC 8292)
// by github.com/SherClockHolmes/webpush-go. The content is the same
// notification the FCM path sends (push.PayloadOf), which the console's
// service worker shows.
package webpush

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	wp "github.com/SherClockHolmes/webpush-go"

	"github.com/earshot/earshot/push"
)

// Subscription is a browser's push subscription.
type Subscription struct {
	Endpoint string
	P256dh   string // the browser's P-256 public key, base64url
	Auth     string // the browser's auth secret, base64url
}

// Keys is the server's VAPID key pair, base64url.
type Keys struct {
	Public, Private string
}

// Store is what the sender reads: subscriptions by endpoint (a message's
// token) and the VAPID keys.
type Store interface {
	WebPushSubscription(ctx context.Context, endpoint string) (Subscription, bool, error)
	VAPIDKeys(ctx context.Context) (Keys, error)
}

// Config configures a Sender.
type Config struct {
	Store Store
	// Subject is the VAPID "sub" claim, how a push service reaches the
	// operator: a mailto: or https: URL (default mailto:earshot@localhost).
	Subject string
	// Client sends the requests; default an http.Client with a 30 s
	// timeout (the notifier also bounds each attempt).
	Client *http.Client
}

// Sender is a push.Sender for messages whose token is a subscription
// endpoint.
type Sender struct {
	cfg Config
}

// New returns a sender.
func New(cfg Config) (*Sender, error) {
	if cfg.Store == nil {
		return nil, errors.New("webpush: Store is required")
	}
	if cfg.Subject == "" {
		cfg.Subject = "mailto:earshot@localhost"
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	return &Sender{cfg: cfg}, nil
}

// Send implements push.Sender: nil, push.ErrUnregistered (404, 410, or
// a subscription no longer stored), a *push.RetryError (429, 5xx, no
// answer), or a permanent error.
func (s *Sender) Send(ctx context.Context, msgs []push.Message) []error {
	errs := make([]error, len(msgs))
	keys, err := s.cfg.Store.VAPIDKeys(ctx)
	if err != nil {
		err = &push.RetryError{Err: fmt.Errorf("webpush: vapid keys: %w", err)}
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	for i, m := range msgs {
		errs[i] = s.send(ctx, keys, m)
	}
	return errs
}

func (s *Sender) send(ctx context.Context, keys Keys, m push.Message) error {
	sub, ok, err := s.cfg.Store.WebPushSubscription(ctx, m.Token)
	switch {
	case err != nil:
		return &push.RetryError{Err: fmt.Errorf("webpush: subscription: %w", err)}
	case !ok:
		return push.ErrUnregistered
	}
	urgency := wp.UrgencyNormal
	if m.Type == push.TypeListenOffer || m.Type == push.TypeSupervisingStatus {
		urgency = wp.UrgencyHigh
	}
	resp, err := wp.SendNotificationWithContext(ctx, push.PayloadOf(m).JSON(), &wp.Subscription{
		Endpoint: sub.Endpoint, Keys: wp.Keys{P256dh: sub.P256dh, Auth: sub.Auth},
	}, &wp.Options{
		HTTPClient: s.cfg.Client, Subscriber: s.cfg.Subject,
		VAPIDPublicKey: keys.Public, VAPIDPrivateKey: keys.Private,
		TTL: max(0, int(m.TTL/time.Second)), Topic: Topic(m.Key), Urgency: urgency,
	})
	if err != nil {
		if ctx.Err() == nil && isTransport(err) {
			return &push.RetryError{Err: fmt.Errorf("webpush: %w", err)}
		}
		return fmt.Errorf("webpush: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusNotFound || code == http.StatusGone:
		return push.ErrUnregistered
	case code == http.StatusTooManyRequests || code >= 500:
		return &push.RetryError{Err: fmt.Errorf("webpush: push service answered %d", code), After: retryAfter(resp.Header.Get("Retry-After"))}
	default:
		return fmt.Errorf("webpush: push service refused the message: %d %q", code, body)
	}
}

// isTransport tells a failure to reach the push service (worth a retry)
// from one in preparing the message (bad keys: not).
func isTransport(err error) bool {
	var uerr *url.Error
	return errors.As(err, &uerr)
}

// Topic turns a replace-key into a Web Push Topic (RFC 8030 §5.4: at most
// 32 characters of base64url), so a newer message about the same call
// replaces one still waiting at the push service.
func Topic(key string) string {
	if key == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(key))
	return base64.RawURLEncoding.EncodeToString(sum[:24]) // 32 characters
}

// retryAfter reads a Retry-After of seconds or an HTTP date; 0 for none.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t))
	}
	return 0
}
