package earshot

import (
	"context"
	"time"
)

// ServiceCall is an agent's live service call: a call to a service pool
// answered by the agent (R6).
type ServiceCall struct {
	// ID identifies the call; it is the id of the agent leg, the channel
	// bound to the agent's endpoint that a supervisor's snoop attaches to.
	ID string `json:"call_id"`
	// Node is the id of the Asterisk node the call is on (several nodes
	// under one Earshot); a call that moves to another node (a transfer)
	// is a new call.
	Node     string    `json:"node,omitempty"`
	Agent    string    `json:"agent"`
	Pool     string    `json:"pool"`
	Customer string    `json:"customer,omitempty"`
	Since    time.Time `json:"since"`
}

// CallEvent tells that a service call started or ended.
type CallEvent struct {
	Call  ServiceCall
	Ended bool
}

// Calls is the live view of who is on a service call.
type Calls interface {
	// CallOf returns the agent's current service call, or ErrNotOnCall.
	CallOf(agent string) (ServiceCall, error)
	// Call returns a live call by id, or ErrNotOnCall.
	Call(id string) (ServiceCall, error)
	// List returns every live service call.
	List() []ServiceCall
	// Subscribe delivers call events until ctx ends. Slow subscribers lose
	// events rather than slow the tracker; the snapshot stays authoritative.
	Subscribe(ctx context.Context) <-chan CallEvent
}
