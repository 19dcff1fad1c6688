package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// contract is the OpenAPI document the server serves, loaded and checked
// by a standard OpenAPI library, with a router over its paths. env's
// request helper checks every request and response of the httpapi tests
// against it, so the document is the API's contract, not a description
// written beside it.
type contract struct {
	doc    *openapi3.T
	router routers.Router
}

var (
	contractOnce sync.Once
	theContract  *contract
	contractErr  error
)

func init() {
	// Media types the document uses that kin-openapi has no decoder for;
	// their bodies are text. text/yaml is YAML as application/yaml is.
	for _, ct := range []string{"text/html", "text/javascript", "text/css", "text/event-stream"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
	}
	openapi3filter.RegisterBodyDecoder("text/yaml", openapi3filter.YamlBodyDecoder)
}

// loadContract reads the document from a server (every server serves the
// same one) the first time it is called.
func loadContract(h http.Handler) (*contract, error) {
	contractOnce.Do(func() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/openapi.json", nil))
		if w.Code != http.StatusOK {
			contractErr = fmt.Errorf("GET /api/v1/openapi.json: %d", w.Code)
			return
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(w.Body.Bytes())
		if err != nil {
			contractErr = fmt.Errorf("load the OpenAPI document: %w", err)
			return
		}
		if err := doc.Validate(loader.Context); err != nil {
			contractErr = fmt.Errorf("the OpenAPI document is not valid: %w", err)
			return
		}
		// The one server is "/", the server itself: route on the paths.
		routable := *doc
		routable.Servers = nil
		router, err := gorillamux.NewRouter(&routable)
		if err != nil {
			contractErr = fmt.Errorf("route the OpenAPI document: %w", err)
			return
		}
		theContract = &contract{doc: doc, router: router}
	})
	return theContract, contractErr
}

// bearerPresent is the document's security as far as the document can
// say: a request without a bearer token does not satisfy it. Whether the
// token is good is the server's business (tested in auth_test.go).
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	scheme, tok, ok := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return errors.New("no bearer token")
	}
	return nil
}

// check holds one exchange to the document and fails the test for each
// way it breaks it.
func (c *contract) check(t testing.TB, method, target string, header http.Header, body string, bodyUnknown bool, w *httptest.ResponseRecorder) {
	t.Helper()
	for _, v := range c.violations(method, target, header, body, bodyUnknown, w) {
		t.Errorf("contract: %s", v)
	}
}

// violations says how an exchange breaks the document: a request the
// document accepts must get a documented answer; one it rejects must get
// a documented 4xx; a path or method the document lacks must get a 404 or
// 405 problem. bodyUnknown leaves the request body unchecked (the test
// streamed it).
func (c *contract) violations(method, target string, header http.Header, body string, bodyUnknown bool, w *httptest.ResponseRecorder) []string {
	var out []string
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header = header.Clone()
	name := method + " " + target
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		if w.Code != http.StatusNotFound && w.Code != http.StatusMethodNotAllowed {
			out = append(out, fmt.Sprintf("%s is not in the OpenAPI document (%v), yet answered %d", name, err, w.Code))
		}
		if w.Body.Len() > 0 { // HEAD has none
			if err := c.checkSchema("Problem", w.Body.Bytes()); err != nil {
				out = append(out, fmt.Sprintf("the answer %d to %s is not a Problem: %v", w.Code, name, err))
			}
		}
		return out
	}
	ctx := context.Background()
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: bearerPresent, MultiError: true, ExcludeRequestBody: bodyUnknown}}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	if reqErr != nil && (w.Code < 400 || w.Code > 499) {
		out = append(out, fmt.Sprintf("the OpenAPI document rejects %s (%v), yet it was answered %d", name, reqErr, w.Code))
	}
	res := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: w.Code, Header: w.Header(),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	if mt, _, _ := mime.ParseMediaType(w.Header().Get("Content-Type")); mt == "text/event-stream" || method == http.MethodHead {
		// An event stream's events are checked one by one against their
		// schemas (TestOpenAPI_Events).
		res.Options.ExcludeResponseBody = true
	}
	res.SetBodyBytes(w.Body.Bytes())
	if err := openapi3filter.ValidateResponse(ctx, res); err != nil {
		out = append(out, fmt.Sprintf("the answer %d to %s does not match the OpenAPI document: %v\nbody: %.400s", w.Code, name, err, w.Body))
	}
	for _, field := range undocumentedFields(route.Operation, w) {
		out = append(out, fmt.Sprintf("the answer %d to %s has %s, which the OpenAPI document does not name", w.Code, name, field))
	}
	return out
}

// undocumentedFields lists the fields of a JSON answer that its schema
// does not name. The schemas leave additionalProperties open, so that
// clients stay free to ignore fields added later; the server itself,
// though, sends only what the document describes.
func undocumentedFields(op *openapi3.Operation, w *httptest.ResponseRecorder) []string {
	resp := op.Responses.Status(w.Code)
	mt, _, _ := mime.ParseMediaType(w.Header().Get("Content-Type"))
	if resp == nil || resp.Value == nil || !strings.HasSuffix(mt, "json") {
		return nil
	}
	media := resp.Value.Content.Get(mt)
	var v any
	if media == nil || media.Schema == nil || json.Unmarshal(w.Body.Bytes(), &v) != nil {
		return nil
	}
	return extraFields(media.Schema, v, "")
}

// extraFields walks a value beside its schema, allOf, anyOf and oneOf
// parts taken together.
func extraFields(s *openapi3.SchemaRef, v any, at string) []string {
	parts := flatten(s)
	var out []string
	switch v := v.(type) {
	case map[string]any:
		props := map[string]*openapi3.SchemaRef{}
		for _, p := range parts {
			if p.AdditionalProperties.Schema != nil || (p.AdditionalProperties.Has != nil && *p.AdditionalProperties.Has) {
				return nil // a map, not a record
			}
			for k, ps := range p.Properties {
				props[k] = ps
			}
		}
		if len(props) == 0 {
			return nil // an object the document leaves open (the document itself)
		}
		for k, x := range v {
			ps, ok := props[k]
			if !ok {
				out = append(out, fmt.Sprintf("%q", strings.TrimPrefix(at+"."+k, ".")))
				continue
			}
			out = append(out, extraFields(ps, x, at+"."+k)...)
		}
	case []any:
		for _, p := range parts {
			if p.Items != nil {
				for i, x := range v {
					out = append(out, extraFields(p.Items, x, fmt.Sprintf("%s[%d]", at, i))...)
				}
				break
			}
		}
	}
	return out
}

func flatten(s *openapi3.SchemaRef) []*openapi3.Schema {
	if s == nil || s.Value == nil {
		return nil
	}
	out := []*openapi3.Schema{s.Value}
	for _, group := range []openapi3.SchemaRefs{s.Value.AllOf, s.Value.AnyOf, s.Value.OneOf} {
		for _, sub := range group {
			out = append(out, flatten(sub)...)
		}
	}
	return out
}

// checkSchema validates a JSON value against a named schema of the
// document.
func (c *contract) checkSchema(name string, data []byte) error {
	s := c.doc.Components.Schemas[name]
	if s == nil {
		return fmt.Errorf("no schema %s in the document", name)
	}
	var v any
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("not JSON: %w", err)
	}
	return s.Value.VisitJSON(v)
}

// mustContract returns the contract of e's server or fails the test.
func (e *env) mustContract() *contract {
	e.t.Helper()
	c, err := loadContract(e.srv.Handler())
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}
