package earshot

import (
	"errors"
	"fmt"
)

// Error codes shared by every layer; the HTTP API maps each to one status
// in one table.
const (
	ECONFLICT      = "conflict"      // the state does not allow it (e.g. agent not on a call)
	EFORBIDDEN     = "forbidden"     // authenticated but not allowed
	EINTERNAL      = "internal"      // a bug or an unexpected failure
	EINVALID       = "invalid"       // bad input
	ENOTFOUND      = "not_found"     // no such thing (or not visible to the caller)
	EUNAUTHORIZED  = "unauthorized"  // not signed in
	EUNAVAILABLE   = "unavailable"   // a dependency (Asterisk) is not reachable
	EUNPROCESSABLE = "unprocessable" // well-formed but cannot be acted on (e.g. no phone number set)
)

// Error is an application error with a code and a message for people.
type Error struct {
	Code    string
	Message string
}

// Error implements error.
func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Is makes errors.Is match two errors with the same code and message, so
// the sentinel errors below work after wrapping and copying.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == e.Message
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, or
// EINTERNAL for any other non-nil error.
func ErrorCode(err error) string {
	if err == nil {
		// Before e is declared: errors.As makes it escape, and the
		// API asks this of every successful read too.
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, or
// a generic message for internal errors (whose details are logged, not shown).
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	}
	return "internal error"
}

// Errors the services return.
var (
	ErrNotOnCall       = Errorf(ECONFLICT, "agent is not on a service call")
	ErrNoPhoneNumber   = Errorf(EUNPROCESSABLE, "set your phone number in supervising settings first")
	ErrSessionNotFound = Errorf(ENOTFOUND, "no such supervising session")
	ErrFeatureOff      = Errorf(EFORBIDDEN, "supervising is not enabled for this organization")
	ErrNotPermitted    = Errorf(EFORBIDDEN, "you may not supervise this agent")
	ErrBrowserOff      = Errorf(EFORBIDDEN, "supervising from the browser is not allowed for this organization")
	ErrMediaAttached   = Errorf(ECONFLICT, "the session's audio is already connected elsewhere")
	ErrUnavailable     = Errorf(EUNAVAILABLE, "the phone system is not reachable")
	ErrUserNotFound    = Errorf(ENOTFOUND, "no such user")
	ErrPoolNotFound    = Errorf(ENOTFOUND, "no such pool")
	ErrOrgNotFound     = Errorf(ENOTFOUND, "no such organization")
)
