// Package fcm delivers push messages through Firebase Cloud Messaging
// (HTTP v1) with github.com/appleboy/go-fcm.
//
// It only translates: a push.Message becomes an FCM message with a data
// payload, an Android part and an APNs part, and FCM's answer becomes
// push's outcome (delivered, unregistered, retry, refused). Retrying is
// the notifier's job: the Firebase client itself retries only 503 and
// network errors, within the attempt's context.
package fcm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
	gofcm "github.com/appleboy/go-fcm"

	"github.com/earshot/earshot/push"
)

// Config locates the FCM project.
type Config struct {
	// CredentialsFile is the service-account JSON from the Firebase
	// console; its token_uri is where the OAuth token is fetched.
	CredentialsFile string
	ProjectID       string
	// Endpoint overrides FCM's base URL (tests, proxies); "/v1" is
	// appended unless present. Empty: Google's.
	Endpoint string
}

// AndroidChannel is the notification channel the Android app creates.
const AndroidChannel = "earshot_supervising"

// Sender implements push.Sender on FCM.
type Sender struct{ client *gofcm.Client }

// New reads the credentials and builds the client; it contacts nothing.
func New(ctx context.Context, cfg Config) (*Sender, error) {
	if cfg.CredentialsFile == "" || cfg.ProjectID == "" {
		return nil, errors.New("fcm: credentials file and project id are required")
	}
	opts := []gofcm.Option{gofcm.WithCredentialsFile(cfg.CredentialsFile), gofcm.WithProjectID(cfg.ProjectID)}
	if cfg.Endpoint != "" {
		opts = append(opts, gofcm.WithEndpoint(BaseURL(cfg.Endpoint)))
	}
	c, err := gofcm.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("fcm: %w", err)
	}
	return &Sender{client: c}, nil
}

// BaseURL returns the FCM v1 base URL for a base that may or may not end
// in "/v1".
func BaseURL(raw string) string {
	u := strings.TrimRight(raw, "/")
	if !strings.HasSuffix(u, "/v1") {
		u += "/v1"
	}
	return u
}

// Send implements push.Sender: one FCM request per message, in parallel.
func (s *Sender) Send(ctx context.Context, msgs []push.Message) []error {
	out := make([]error, len(msgs))
	fm := make([]*messaging.Message, len(msgs))
	for i, m := range msgs {
		fm[i] = Message(m)
	}
	resp, err := s.client.Send(ctx, fm...)
	if err != nil {
		// The whole batch failed before any answer (e.g. the OAuth token
		// could not be fetched).
		for i := range out {
			out[i] = Classify(err)
		}
		return out
	}
	for i := range out {
		switch {
		case i >= len(resp.Responses):
			out[i] = &push.RetryError{Err: errors.New("fcm: no answer for the message")}
		case !resp.Responses[i].Success:
			out[i] = Classify(resp.Responses[i].Error)
		}
	}
	return out
}

// Message translates a push message into FCM's form.
func Message(m push.Message) *messaging.Message {
	ttl := m.TTL
	headers := map[string]string{
		"apns-collapse-id": m.Key,
		"apns-priority":    "10",
		"apns-push-type":   "alert",
	}
	if !m.Expires.IsZero() {
		headers["apns-expiration"] = strconv.FormatInt(m.Expires.Unix(), 10)
	}
	return &messaging.Message{
		Token:        m.Token,
		Data:         m.Data,
		Notification: &messaging.Notification{Title: m.Title, Body: m.Body},
		Android: &messaging.AndroidConfig{
			CollapseKey: m.Key,
			Priority:    "high",
			TTL:         &ttl,
			Notification: &messaging.AndroidNotification{
				Tag: m.Key, ClickAction: m.Category, ChannelID: AndroidChannel,
			},
		},
		APNS: &messaging.APNSConfig{
			Headers: headers,
			Payload: &messaging.APNSPayload{Aps: &messaging.Aps{
				Category: m.Category, ThreadID: m.Key, Sound: "default",
			}},
		},
	}
}

// Classify maps an FCM error to push's outcomes.
func Classify(err error) error {
	switch {
	case err == nil:
		return nil
	case messaging.IsUnregistered(err), messaging.IsSenderIDMismatch(err),
		// INVALID_ARGUMENT also covers bad payloads; only a bad token
		// is the device's fault.
		messaging.IsInvalidArgument(err) && strings.Contains(err.Error(), "registration token"):
		return fmt.Errorf("%w: %v", push.ErrUnregistered, err)
	case errors.Is(err, context.Canceled):
		return err
	}
	resp := errorutils.HTTPResponse(err)
	if resp == nil {
		// No HTTP answer: unreachable, or the attempt timed out.
		return &push.RetryError{Err: err}
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return &push.RetryError{Err: err, After: RetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	return err
}

// RetryAfter parses a Retry-After header: seconds or an HTTP date.
func RetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
