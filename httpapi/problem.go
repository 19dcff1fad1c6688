package httpapi

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/earshot/earshot"
)

// problemBase prefixes the type URIs of Earshot's own problem types.
const problemBase = "https://earshot.dev/problems/"

// Problem is an RFC 9457 problem details object, the body of every error
// response. Handlers return it as an error.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// RequestID matches the X-Request-Id header and the server's logs.
	RequestID string `json:"request_id,omitempty"`
	// Errors lists what is wrong with each field of a request body.
	Errors []FieldError `json:"errors,omitempty"`

	header http.Header // extra response headers (Retry-After, WWW-Authenticate)
}

// FieldError says what is wrong with one field of a request.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// Error implements error.
func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail) }

// statusOf maps every earshot error code to its HTTP status: the one table.
var statusOf = map[string]int{
	earshot.EINVALID:       http.StatusBadRequest,
	earshot.EUNPROCESSABLE: http.StatusUnprocessableEntity,
	earshot.ENOTFOUND:      http.StatusNotFound,
	earshot.ECONFLICT:      http.StatusConflict,
	earshot.EFORBIDDEN:     http.StatusForbidden,
	earshot.EUNAUTHORIZED:  http.StatusUnauthorized,
	earshot.EUNAVAILABLE:   http.StatusServiceUnavailable,
	earshot.EINTERNAL:      http.StatusInternalServerError,
}

// problemTypes names the domain errors a client acts on differently (a
// "not on call" 409 versus any other conflict), so they get their own
// type URI; other errors are "about:blank" with their status.
var problemTypes = []struct {
	err   error
	slug  string
	title string
}{
	{earshot.ErrNotOnCall, "not-on-call", "Agent not on a service call"},
	{earshot.ErrNoPhoneNumber, "no-phone-number", "No phone number set"},
	{earshot.ErrFeatureOff, "feature-off", "Supervising not enabled"},
	{earshot.ErrNotPermitted, "not-permitted", "Not permitted"},
	{earshot.ErrUnavailable, "unavailable", "Phone system unavailable"},
	{earshot.ErrBrowserOff, "browser-off", "Supervising from the browser not allowed"},
	{earshot.ErrMediaAttached, "media-attached", "Audio already connected"},
}

// newProblem returns an "about:blank" problem, titled by its status.
func newProblem(status int, format string, args ...any) *Problem {
	return &Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: fmt.Sprintf(format, args...)}
}

// typedProblem returns a problem of one of Earshot's own types.
func typedProblem(status int, slug, title, detail string) *Problem {
	return &Problem{Type: problemBase + slug, Title: title, Status: status, Detail: detail}
}

// invalid is the 422 for request fields whose values cannot be used.
func invalid(errs ...FieldError) *Problem {
	details := make([]string, len(errs))
	for i, e := range errs {
		details[i] = e.Field + ": " + e.Detail
	}
	p := typedProblem(http.StatusUnprocessableEntity, "validation", "Invalid request", strings.Join(details, "; "))
	p.Errors = errs
	return p
}

// unauthorized is the 401 with the challenge RFC 9110 requires of it.
func unauthorized(challenge, detail string) *Problem {
	p := newProblem(http.StatusUnauthorized, "%s", detail)
	p.header = http.Header{"Www-Authenticate": {challenge}}
	return p
}

// problemFor turns any error a handler returns into the problem to send;
// internal reports whether it hides an unexpected failure that must be
// logged.
func problemFor(err error) (p *Problem, internal bool) {
	var (
		prob *Problem
		he   *echo.HTTPError
		mbe  *http.MaxBytesError
		ee   *earshot.Error
	)
	switch {
	case errors.As(err, &prob):
		cp := *prob // handlers may share problem values; never mutate them
		return &cp, false
	case errors.As(err, &mbe):
		return tooLarge(mbe.Limit), false
	case errors.As(err, &he):
		if inner, ok := he.Internal.(*echo.HTTPError); ok {
			he = inner
		}
		if he.Code == http.StatusRequestEntityTooLarge {
			return tooLarge(maxBody), false
		}
		if he.Code >= 500 {
			return newProblem(http.StatusInternalServerError, "internal error"), true
		}
		detail, _ := he.Message.(string)
		return newProblem(he.Code, "%s", detail), false
	case errors.As(err, &ee):
		status, ok := statusOf[ee.Code]
		if !ok || status == http.StatusInternalServerError {
			return newProblem(http.StatusInternalServerError, "internal error"), true
		}
		for _, t := range problemTypes {
			if errors.Is(err, t.err) {
				return typedProblem(status, t.slug, t.title, ee.Message), false
			}
		}
		if ee.Code == earshot.EUNAVAILABLE {
			// Every "the phone system cannot do it now" is one type to a
			// client (try again later), whatever its words.
			return typedProblem(status, "unavailable", "Phone system unavailable", ee.Message), false
		}
		return newProblem(status, "%s", ee.Message), false
	}
	return newProblem(http.StatusInternalServerError, "internal error"), true
}

// handleError is Echo's error handler: every error, Echo's own 404 and 405
// included, leaves as application/problem+json.
func (s *Server) handleError(err error, c echo.Context) {
	req := c.Request()
	if c.Response().Committed {
		// An event stream already sent its headers; nothing to tell.
		s.log.Debug("error after response started", "request_id", requestID(c), "path", logPath(req), "error", err)
		return
	}
	p, internal := problemFor(err)
	if internal {
		s.log.Error("request failed", "request_id", requestID(c), "method", req.Method, "path", logPath(req), "error", err)
	}
	switch p.Status {
	case http.StatusNotFound:
		if errors.Is(err, echo.ErrNotFound) {
			p.Detail = fmt.Sprintf("no route for %s %s", req.Method, req.URL.Path)
		}
	case http.StatusMethodNotAllowed:
		allow := c.Response().Header().Get(echo.HeaderAllow)
		p.Detail = fmt.Sprintf("%s is not allowed on %s; allowed: %s", req.Method, req.URL.Path, allow)
	}
	if p.Detail == "" {
		p.Detail = p.Title
	}
	p.Instance = req.URL.Path
	p.RequestID = requestID(c)
	for k, vs := range p.header {
		for _, v := range vs {
			c.Response().Header().Add(k, v)
		}
	}
	if req.Method == http.MethodHead {
		_ = c.NoContent(p.Status)
		return
	}
	body, merr := json.Marshal(p)
	if merr != nil { // cannot happen: Problem has only plain fields
		s.log.Error("encode problem", "error", merr)
		return
	}
	if werr := c.Blob(p.Status, "application/problem+json", body); werr != nil {
		s.log.Debug("write problem", "request_id", requestID(c), "error", werr)
	}
}

// recoverPanic answers a panicking handler with a generic 500 and logs the
// panic and stack with the request id, so the server keeps serving and the
// client learns nothing of the internals.
func (s *Server) recoverPanic(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			r := recover()
			if r == nil {
				return
			}
			if r == http.ErrAbortHandler { //nolint:errorlint // sentinel by identity, as net/http compares it
				panic(r)
			}
			s.log.Error("panic in handler", "request_id", requestID(c), "method", c.Request().Method,
				"path", logPath(c.Request()), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = newProblem(http.StatusInternalServerError, "internal error")
		}()
		return next(c)
	}
}

// requestIDRE is what an incoming X-Request-Id may look like to be kept
// (a proxy's id ties its log to ours); anything else is replaced.
var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// withRequestID gives every request an id, echoed in X-Request-Id, in
// problems and in logs.
func withRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !requestIDRE.MatchString(id) {
			id = rand.Text()
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

// requestID returns the id withRequestID gave the request.
func requestID(c echo.Context) string { return c.Response().Header().Get(echo.HeaderXRequestID) }
