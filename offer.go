package earshot

import (
	"context"
	"time"
)

// Offer binds a supervisor to an agent's current service call for a
// limited time (R7, R8): a call from the supervisor's number to the
// supervising number within that time connects to that call.
type Offer struct {
	ID         string `json:"id"`
	Org        string `json:"org"`
	Supervisor string `json:"supervisor"`
	Agent      string `json:"agent"`
	Pool       string `json:"pool"`
	CallID     string `json:"call_id"`
	// Node is the Asterisk node holding the call, and SupervisingNumber
	// that node's supervising number: the one this offer must be called
	// on (each node has its own). Empty in offers kept by an Earshot of
	// one node before nodes existed: the configured number then applies.
	Node              string `json:"node,omitempty"`
	SupervisingNumber string `json:"supervising_number,omitempty"`
	// Code is the optional one-time code the supervising leg must send by
	// DTMF; empty when codes are off.
	Code      string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Offer sources.
const (
	OfferAdHoc      = "ad_hoc"     // the supervisor pressed Listen (R7)
	OfferSupervised = "supervised" // a supervised agent started a call (R8)
)

// OfferEvent tells that an offer was made or withdrawn.
type OfferEvent struct {
	Offer     Offer
	Withdrawn bool
	Source    string
}

// Offers makes and finds listen offers.
type Offers interface {
	// Offer binds sup to agent's current call. Returns ErrNotOnCall,
	// ErrNotPermitted, ErrFeatureOff.
	Offer(ctx context.Context, supervisor, agent, source string) (Offer, error)
	// Subscribe delivers offer events until ctx ends.
	Subscribe(ctx context.Context) <-chan OfferEvent
}

// DialURI is the tel: URI a listen offer opens in the phone's dialer: the
// supervising number, and the one-time code as post-dial digits (the
// phone waits, then sends them by DTMF) when the offer has one.
func DialURI(supervisingNumber, code string) string {
	if code == "" {
		return "tel:" + supervisingNumber
	}
	return "tel:" + supervisingNumber + "," + code + "#"
}
