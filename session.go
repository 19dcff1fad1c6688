package earshot

import (
	"context"
	"time"
)

// Session is a supervisor connected to an agent's service call.
type Session struct {
	ID         string    `json:"id"`
	Org        string    `json:"-"`
	Supervisor string    `json:"supervisor"`
	Agent      string    `json:"agent"`
	Pool       string    `json:"pool"`
	CallID     string    `json:"call_id"`
	Node       string    `json:"node,omitempty"` // the Asterisk node of the call and of the session
	Mode       Mode      `json:"mode"`
	StartedAt  time.Time `json:"started_at"`
	// Leg is how the supervisor is connected: LegPhone (a call to the
	// supervising number) or LegBrowser (the console's own audio).
	Leg string `json:"leg"`
}

// Supervisor legs.
const (
	LegPhone   = "phone"
	LegBrowser = "browser"
)

// SessionEvent tells that a session started, changed mode or ended.
type SessionEvent struct {
	Session Session
	Kind    string    // "started", "mode_changed", "ended"
	Reason  EndReason // why it ended, for "ended"
}

// EndReason says who or what ended a session. The values travel into push
// messages (the "reason" field), the event stream and the audit log, so
// they are stable codes; Text gives the words a person reads.
type EndReason string

// Why a session ended.
const (
	// EndSupervisorHungUp: the supervisor's own phone hung up.
	EndSupervisorHungUp EndReason = "supervisor_hung_up"
	// EndHungUp: the supervisor hung up through the API or the console.
	EndHungUp EndReason = "hung_up"
	// EndCallEnded: the agent's service call ended (customer or agent hung up).
	EndCallEnded EndReason = "call_ended"
	// EndFeatureOff: an administrator turned supervising off for the
	// organization (R1).
	EndFeatureOff EndReason = "feature_off"
	// EndAccessRevoked: the supervisor may no longer supervise this call:
	// the account was deleted, the role or the pool taken away, or the
	// password changed.
	EndAccessRevoked EndReason = "access_revoked"
	// EndShutdown: Earshot is stopping.
	EndShutdown EndReason = "shutdown"
	// EndFailed: Asterisk refused or lost part of the session.
	EndFailed EndReason = "failed"
)

var endText = map[EndReason]string{
	EndSupervisorHungUp: "you hung up",
	EndHungUp:           "you hung up",
	EndCallEnded:        "the call ended",
	EndFeatureOff:       "an administrator turned supervising off",
	EndAccessRevoked:    "your access to this call was withdrawn",
	EndShutdown:         "Earshot restarted",
	EndFailed:           "the connection to the call failed",
}

// Text says in a person's words who or what ended the session.
func (r EndReason) Text() string {
	if t, ok := endText[r]; ok {
		return t
	}
	return string(r)
}

// Session event kinds.
const (
	SessionStarted     = "started"
	SessionModeChanged = "mode_changed"
	SessionEnded       = "ended"
)

// Supervising is what the API layer may do with live sessions.
type Supervising interface {
	// Sessions lists live sessions; supervisor "" lists all.
	Sessions(supervisor string) []Session
	// SetMode switches a session's mode. Returns ErrSessionNotFound,
	// EINVALID for a bad mode, ErrUnavailable when Asterisk is unreachable.
	SetMode(ctx context.Context, sessionID string, m Mode) error
	// Hangup ends a session and hangs up the supervisor's call. Returns
	// ErrSessionNotFound.
	Hangup(ctx context.Context, sessionID string) error
	// EndWhere ends every connected session for which match is true, for
	// reason, each as if hung up through the API (the supervisor's call
	// hears the end and is hung up), and returns how many it ended.
	EndWhere(ctx context.Context, match func(Session) bool, reason EndReason) int
	// Subscribe delivers session events until ctx ends.
	Subscribe(ctx context.Context) <-chan SessionEvent
}

// Browsing is what the API needs to supervise from the browser: a
// session whose supervisor leg is audio the caller carries over its own
// connection, one more kind of supervisor leg beside the phone's.
type Browsing interface {
	// Browse connects supervisor to agent's current service call in
	// listen mode (R5) and returns the session once connected. Returns
	// ErrNotOnCall, ErrFeatureOff, ErrBrowserOff, ErrNotPermitted,
	// ErrUnavailable.
	Browse(ctx context.Context, supervisor, agent string) (Session, error)
	// Media attaches the one media link of a browser session. Returns
	// ErrSessionNotFound, or ErrMediaAttached while another link is
	// attached. A session left without a link for a grace period ends.
	Media(sessionID string) (MediaLink, error)
}

// MediaLink carries a browser session's audio: 20 ms frames of 16 kHz
// signed 16-bit little-endian mono (slin16, MediaFrameBytes each).
type MediaLink interface {
	// Frames delivers what the supervisor hears. Frames the link cannot
	// take in time are dropped, never queued without bound.
	Frames() <-chan []byte
	// Send sends the supervisor's microphone; where it goes is the mode's
	// business (nowhere while listening).
	Send(ctx context.Context, frame []byte) error
	// Done is closed when the session has ended.
	Done() <-chan struct{}
	// Close detaches the link; the session goes on for a grace period
	// and a new link may attach.
	Close()
}

// MediaFrameBytes is one 20 ms frame of slin16.
const MediaFrameBytes = 640
