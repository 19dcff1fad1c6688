package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/earshot/earshot/directory"
)

// maxBody caps every request body but those of bodyLimits; the largest
// real one (a sign-in) is a few hundred bytes.
const maxBody = 64 << 10

// maxDirectoryBody caps an uploaded directory file, as the file read at
// start is capped.
const maxDirectoryBody = directory.MaxFileSize

// bodyLimits are the routes ("METHOD /path" as registered) whose bodies may
// be larger than maxBody.
var bodyLimits = map[string]int64{
	"POST /api/v1/admin/directory": maxDirectoryBody,
}

func tooLarge(limit int64) *Problem {
	return newProblem(http.StatusRequestEntityTooLarge, "request body exceeds %d KiB", limit>>10)
}

// limitBody refuses a declared oversized body at once and caps an
// undeclared one (chunked) while it is read. Echo routes before it runs
// middleware, so c.Path() names the route and picks its limit.
//
// A request with a body must also deliver it within cfg.BodyTimeout: the
// connection's read deadline is set for the body alone (net/http's
// ReadTimeout would also cut long-lived answers such as the event stream)
// and cleared once the body has been read, so a slow handler or a long
// download is not cut either.
func (s *Server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		limit, ok := bodyLimits[req.Method+" "+c.Path()]
		if !ok {
			limit = maxBody
		}
		if req.ContentLength > limit {
			return tooLarge(limit)
		}
		hasBody := req.ContentLength != 0 && req.Body != nil && req.Body != http.NoBody
		req.Body = http.MaxBytesReader(c.Response().Writer, req.Body, limit)
		if hasBody {
			rc := http.NewResponseController(c.Response())
			// An error means a writer without deadlines (a test's
			// recorder); there is no connection to guard then.
			if rc.SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout)) == nil {
				req.Body = &deadlineBody{ReadCloser: req.Body, rc: rc, timeout: s.cfg.BodyTimeout}
			}
		}
		return next(c)
	}
}

// deadlineBody clears the connection's read deadline once the body is
// read to its end, and says what a read that timed out means.
type deadlineBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
	done    bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF) && !b.done:
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	case errors.As(err, &ne) && ne.Timeout():
		err = &bodyTimeoutError{timeout: b.timeout, err: err}
	}
	return n, err
}

// bodyTimeoutError is a body that did not arrive in time.
type bodyTimeoutError struct {
	timeout time.Duration
	err     error
}

func (e *bodyTimeoutError) Error() string {
	return fmt.Sprintf("the request body did not arrive within %s", e.timeout)
}
func (e *bodyTimeoutError) Unwrap() error { return e.err }

// decode reads the request body as one JSON object into dst, a pointer to
// a struct. It rejects other content types, unknown fields and trailing
// data, and its problems say where the body went wrong, because the
// client's developer reads them.
func decode(c echo.Context, dst any) error {
	req := c.Request()
	ct := req.Header.Get(echo.HeaderContentType)
	if mt, _, err := mime.ParseMediaType(ct); err != nil || !isJSON(mt) {
		return newProblem(http.StatusUnsupportedMediaType, "Content-Type must be application/json, not %q", ct)
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	switch {
	case len(trimmed) == 0:
		return newProblem(http.StatusBadRequest, "request body is empty; send a JSON object")
	case trimmed[0] != '{':
		return newProblem(http.StatusBadRequest, "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonProblem(body, dst, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		line, col := position(body, dec.InputOffset())
		return newProblem(http.StatusBadRequest, "request body has more after the JSON object (line %d, column %d)", line, col)
	}
	return nil
}

// readBody reads the whole request body, within its route's limit.
func readBody(c echo.Context) ([]byte, error) {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var (
			mbe *http.MaxBytesError
			bte *bodyTimeoutError
		)
		switch {
		case errors.As(err, &mbe):
			return nil, tooLarge(mbe.Limit)
		case errors.As(err, &bte):
			return nil, newProblem(http.StatusRequestTimeout, "%s; send it at once", bte.Error())
		}
		return nil, newProblem(http.StatusBadRequest, "reading the request body: %v", err)
	}
	return body, nil
}

func isJSON(mediaType string) bool {
	return mediaType == "application/json" ||
		(strings.HasPrefix(mediaType, "application/") && strings.HasSuffix(mediaType, "+json"))
}

// jsonProblem explains a decoding error in terms of the request.
func jsonProblem(body []byte, dst any, err error) *Problem {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn):
		// Offset counts the offending byte; point at it.
		line, col := position(body, syn.Offset-1)
		return newProblem(http.StatusBadRequest, "malformed JSON at line %d, column %d: %s", line, col, syn.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return newProblem(http.StatusBadRequest, "malformed JSON: the body ends before the JSON object does")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		detail := fmt.Sprintf("must be %s, not a JSON %s", describe(typ.Type), typ.Value)
		p := newProblem(http.StatusBadRequest, "field %q %s", field, detail)
		p.Errors = []FieldError{{Field: field, Detail: detail}}
		return p
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for this; its message is
		// stable (`json: unknown field "x"`).
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		p := newProblem(http.StatusBadRequest, "unknown field %q; this request takes only %s", name, strings.Join(fieldsOf(dst), ", "))
		p.Errors = []FieldError{{Field: name, Detail: "unknown field"}}
		return p
	}
	return newProblem(http.StatusBadRequest, "malformed JSON: %v", err)
}

// position turns a byte offset into a 1-based line and column.
func position(body []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(body)))
	before := body[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// describe names a Go type the way a JSON client thinks of it.
func describe(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Pointer:
		return describe(t.Elem())
	}
	return "an object"
}

// fieldsOf lists the JSON names of the fields dst accepts, for the
// unknown-field message.
func fieldsOf(dst any) []string {
	t := reflect.TypeOf(dst)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var names []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, fmt.Sprintf("%q", name))
		}
	}
	return names
}

// param returns a path parameter unescaped: Echo matches on the raw path
// and leaves escapes such as %3A in place.
func param(c echo.Context, name string) (string, error) {
	v, err := url.PathUnescape(c.Param(name))
	if err != nil || v == "" {
		return "", newProblem(http.StatusBadRequest, "path parameter %s is not valid", name)
	}
	return v, nil
}
