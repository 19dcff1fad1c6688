package earshot

import (
	"context"
	"time"
)

// Audit entry kinds.
const (
	AuditConnect = "connect"
	AuditMode    = "mode"
	AuditEnd     = "end"
	AuditReject  = "reject"
)

// Reasons a supervisor's call is rejected.
const (
	RejectUnknownNumber = "unknown_number"
	RejectFeatureOff    = "feature_off"
	RejectNoOffer       = "no_offer"
	RejectOfferExpired  = "offer_expired"
	RejectCallEnded     = "call_ended"
	RejectNotPermitted  = "not_permitted"
	RejectBadCode       = "bad_code"
	RejectRateLimited   = "rate_limited"
	RejectInternal      = "internal"
)

// RejectReasons lists every reject reason (for metrics).
var RejectReasons = []string{
	RejectUnknownNumber, RejectFeatureOff, RejectNoOffer, RejectOfferExpired, RejectCallEnded,
	RejectNotPermitted, RejectBadCode, RejectRateLimited, RejectInternal,
}

// AuditEntry records one connect, mode change, end or rejected attempt.
type AuditEntry struct {
	Time       time.Time `json:"time"`
	Kind       string    `json:"kind"`
	Org        string    `json:"org,omitempty"`
	Session    string    `json:"session,omitempty"`
	Supervisor string    `json:"supervisor,omitempty"`
	Agent      string    `json:"agent,omitempty"`
	Pool       string    `json:"pool,omitempty"`
	CallID     string    `json:"call_id,omitempty"`
	Node       string    `json:"node,omitempty"`   // the Asterisk node that took the supervising call
	Caller     string    `json:"caller,omitempty"` // the number that called the supervising number
	Leg        string    `json:"leg,omitempty"`    // LegPhone or LegBrowser, for connects, modes and ends
	Mode       Mode      `json:"mode,omitempty"`
	Reason     string    `json:"reason,omitempty"`
}

// AuditLog keeps the audit trail. Record must not block for long: it is
// called on the call path.
type AuditLog interface {
	Record(ctx context.Context, e AuditEntry) error
}
