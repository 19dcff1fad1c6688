// Package push tells supervisors' phones what happens (R7, R8, R11): a
// listen offer, the offer withdrawn, the live supervising status with the
// other modes as actions, and the session's end.
//
// The Notifier turns offer and session events into one Message per device
// and delivers them off the call path: events are read from feeds that
// never block their publishers, messages wait in a bounded queue, and a
// full queue drops (and counts) rather than waits. A Sender does the
// delivery: FCM (package push/fcm), or a log line.
//
// Messages of one agent call share a key, so each replaces the previous
// one on the phone (offer → status → status → ended), and the queue keeps
// them in order: one key always goes through the same worker.
package push

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Message types, the data payload's "type".
const (
	TypeListenOffer       = "listen_offer"
	TypeOfferWithdrawn    = "offer_withdrawn"
	TypeSupervisingStatus = "supervising_status"
	TypeSessionEnded      = "session_ended"
)

// Message is one notification for one device.
type Message struct {
	Token    string
	Platform string // "android" or "ios"
	User     string // whose device: for logs
	Type     string
	// Data is the payload the app reads; FCM data values are strings.
	Data  map[string]string
	Title string
	Body  string
	// Key groups the messages of one agent call: a newer message with the
	// same key replaces the older one on the phone (Android tag and
	// collapse key, APNs collapse id).
	Key string
	// Category names the actions the app shows (APNs category, Android
	// click action).
	Category string
	// TTL is how long the push service may hold the message for an
	// offline phone; Expires is the same moment on the wall clock, after
	// which delivering it is pointless.
	TTL     time.Duration
	Expires time.Time
}

// Sender delivers messages to a push service.
type Sender interface {
	// Send delivers each message; the answer holds message i's outcome at
	// index i: nil, ErrUnregistered, a *RetryError, or another error
	// (permanent).
	Send(ctx context.Context, msgs []Message) []error
}

// ErrUnregistered tells that the push service no longer knows the token
// (the app was removed or the token is invalid): the device is deleted.
var ErrUnregistered = errors.New("push token unregistered or invalid")

// RetryError is a failure worth retrying: rate limited (429), a server
// error (5xx), or the push service unreachable.
type RetryError struct {
	Err error
	// After is the push service's Retry-After; 0 when it gave none.
	After time.Duration
}

func (e *RetryError) Error() string {
	if e.After > 0 {
		return fmt.Sprintf("%v (retry after %s)", e.Err, e.After)
	}
	return e.Err.Error()
}

func (e *RetryError) Unwrap() error { return e.Err }

// Device is a phone a user receives notifications on.
type Device struct {
	Token    string
	Platform string
}

// Devices is what the notifier needs from the store.
type Devices interface {
	Devices(ctx context.Context, user string) ([]Device, error)
	// DeleteDevice removes a token the push service rejected for good.
	DeleteDevice(ctx context.Context, token string) error
}

// Stats counts what happened to messages since start.
type Stats struct {
	Queued  int64 // accepted into the queue
	Sent    int64 // accepted by the push service
	Failed  int64 // refused by the push service for good (incl. unregistered tokens)
	Dropped int64 // given up: queue full, expired, retries exhausted, or shutdown
	Retries int64 // attempts after the first
	Removed int64 // tokens deleted because the push service rejected them
}

var (
	errNoSender = errors.New("push: no sender for this platform")
	errNoAnswer = errors.New("push: sender gave no answer")
)
