// Package earshot holds the domain of call supervising: organizations,
// users (agents and supervisors), service pools, the live service calls
// agents are on, listen offers, supervising sessions and their modes, and
// the error codes every layer shares.
//
// A supervisor listens to an agent's live service call, whispers to the
// agent (the customer does not hear), or barges in (both hear). Supervising
// always starts as listening (R5); the supervisor connects by calling the
// supervising number from their registered phone number (R9) after an offer
// bound them to the agent's current call (R7, R8).
//
// This package imports no infrastructure: the ARI application (ariapp),
// the HTTP API (httpapi), the store (store) and push notifications (push)
// depend on it, never the other way round.
package earshot
