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
	Mode       Mode      `json:"mode"`
	StartedAt  time.Time `json:"started_at"`
}

// SessionEvent tells that a session started, changed mode or ended.
type SessionEvent struct {
	Session Session
	Kind    string // "started", "mode_changed", "ended"
	Reason  string // why it ended, for "ended"
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
	// Subscribe delivers session events until ctx ends.
	Subscribe(ctx context.Context) <-chan SessionEvent
}
