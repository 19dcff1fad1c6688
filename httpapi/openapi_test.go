package httpapi_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/httpapi"
	"github.com/earshot/earshot/push"
)

var operationIDRE = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

func TestOpenAPI_Get(t *testing.T) {
	e := newEnv(t)
	w := e.do("GET", "/api/v1/openapi.json", "", nil)
	wantStatus(t, w, http.StatusOK)
	var doc struct {
		OpenAPI    string                               `json:"openapi"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components map[string]map[string]any            `json:"components"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	// 3.0, not 3.1: what client generators read fully.
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}

	t.Run("RoutesDocumented", func(t *testing.T) {
		// Every route Echo serves is documented, and every documented
		// route is served.
		var documented []string
		for path, ops := range doc.Paths {
			for method := range ops {
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
		served := httpapi.Routes(e.srv)
		slices.Sort(documented)
		slices.Sort(served)
		for _, r := range served {
			if !slices.Contains(documented, r) {
				t.Errorf("served, not documented: %s", r)
			}
		}
		for _, r := range documented {
			if !slices.Contains(served, r) {
				t.Errorf("documented, not served: %s", r)
			}
		}
		if len(served) < 20 {
			t.Errorf("only %d routes served", len(served))
		}
	})
	t.Run("Operations", func(t *testing.T) {
		ids := map[string]string{}
		for path, ops := range doc.Paths {
			for method, op := range ops {
				// Generated clients name their methods after the ids.
				id, _ := op["operationId"].(string)
				if !operationIDRE.MatchString(id) {
					t.Errorf("%s %s: operationId %q is not a camelCase name", method, path, id)
				}
				if other, dup := ids[id]; dup {
					t.Errorf("%s %s: operationId %q is also %s's", method, path, id, other)
				}
				ids[id] = method + " " + path
				if tags, _ := op["tags"].([]any); len(tags) != 1 {
					t.Errorf("%s %s: tags %v", method, path, op["tags"])
				}
				if op["security"] == nil {
					t.Errorf("%s %s: no security", method, path)
				}
				responses, _ := op["responses"].(map[string]any)
				if responses["500"] == nil {
					t.Errorf("%s %s: no 500 problem", method, path)
				}
				secured := len(op["security"].([]any)) > 0
				if secured && responses["401"] == nil {
					t.Errorf("%s %s: secured without 401", method, path)
				}
			}
		}
	})
	t.Run("MediaTypes", func(t *testing.T) {
		// The directory is uploaded as YAML and the backup downloaded as a
		// file; everything else is JSON.
		at := func(v any, keys ...string) any {
			for _, k := range keys {
				m, _ := v.(map[string]any)
				v = m[k]
			}
			return v
		}
		dir := doc.Paths["/api/v1/admin/directory"]["post"]
		for _, m := range []string{"application/yaml", "text/yaml"} {
			if at(dir, "requestBody", "content", m) == nil {
				t.Errorf("directory import does not take %s", m)
			}
		}
		if at(dir, "requestBody", "content", "application/json") != nil {
			t.Error("directory import documented as JSON")
		}
		backup := doc.Paths["/api/v1/admin/backup"]["get"]
		if at(backup, "responses", "200", "content", "application/octet-stream") == nil ||
			at(backup, "responses", "200", "headers", "Content-Disposition") == nil {
			t.Errorf("backup response = %v", at(backup, "responses", "200"))
		}
	})
	t.Run("RefsResolve", func(t *testing.T) {
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				if ref, ok := v["$ref"].(string); ok {
					parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
					if len(parts) != 2 || doc.Components[parts[0]][parts[1]] == nil {
						t.Errorf("unresolved $ref %s", ref)
					}
				}
				for _, x := range v {
					walk(x)
				}
			case []any:
				for _, x := range v {
					walk(x)
				}
			}
		}
		var all any
		_ = json.Unmarshal(w.Body.Bytes(), &all)
		walk(all)
		for _, s := range []string{"bearerAuth", "adminToken"} {
			if doc.Components["securitySchemes"][s] == nil {
				t.Errorf("no security scheme %s", s)
			}
		}
	})
}

// The contract check finds what it is for: answers and requests that
// differ from the document.
func TestContract_Violations(t *testing.T) {
	e := newEnv(t)
	c := e.mustContract()
	bearer := http.Header{"Authorization": {"Bearer x"}}
	problem := `{"type":"about:blank","title":"Conflict","status":409,"detail":"d"}`
	cases := []struct {
		name, method, target string
		header               http.Header
		body                 string
		status               int
		ctype, answer        string
		violates             bool
	}{
		{"Conforms", "GET", "/api/v1/pools", bearer, "", 200, "application/json", `{"pools":[]}`, false},
		{"ErrWrongField", "GET", "/api/v1/pools", bearer, "", 200, "application/json", `{"pools":[{"id":1}]}`, true},
		{"ErrMissingField", "GET", "/api/v1/pools", bearer, "", 200, "application/json", `{}`, true},
		{"ErrUndocumentedField", "GET", "/api/v1/pools", bearer, "", 200, "application/json",
			`{"pools":[{"id":"p","name":"P","number":"+35891234500","agents":1,"agents_on_call":0,"secret":"x"}]}`, true},
		{"ErrUndocumentedTopField", "GET", "/api/v1/me", bearer, "", 200, "application/json",
			`{"user":{"id":"u","org":"o","name":"U","roles":[],"phone_number":null},"features":[],"expires_at":"2025-11-24T09:00:00Z","token":"t"}`, true},
		{"NestedConforms", "GET", "/api/v1/pools", bearer, "", 200, "application/json",
			`{"pools":[{"id":"p","name":"P","number":"+35891234500","agents":1,"agents_on_call":0}]}`, false},
		{"ErrUndocumentedStatus", "GET", "/api/v1/pools", bearer, "", 409, "application/problem+json", problem, true},
		{"ErrNotAProblem", "GET", "/api/v1/pools", bearer, "", 403, "application/json", `{"error":"no"}`, true},
		{"ErrRejectedRequestAnswered", "GET", "/api/v1/pools", http.Header{}, "", 200, "application/json", `{"pools":[]}`, true},
		{"RejectedRequestRefused", "PUT", "/api/v1/supervising/sessions/s/mode",
			http.Header{"Authorization": {"Bearer x"}, "Content-Type": {"application/json"}}, `{"mode":"shout"}`,
			422, "application/problem+json", strings.Replace(problem, "409", "422", 1), false},
		{"ErrUndocumentedRoute", "GET", "/api/v1/nope", bearer, "", 200, "application/json", `{}`, true},
		{"NoRoute", "GET", "/api/v1/nope", bearer, "", 404, "application/problem+json", strings.Replace(problem, "409", "404", 1), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			w.Header().Set("Content-Type", tc.ctype)
			w.WriteHeader(tc.status)
			w.WriteString(tc.answer)
			v := c.violations(tc.method, tc.target, tc.header, tc.body, false, w)
			if (len(v) > 0) != tc.violates {
				t.Errorf("violations %q, want some: %v", v, tc.violates)
			}
		})
	}
}

// Every event the stream sends is documented: its name in the event
// stream's x-events, its data valid against the schema named there.
func TestOpenAPI_Events(t *testing.T) {
	e := newEnv(t)
	c := e.mustContract()
	media := c.doc.Paths.Value("/api/v1/events").Get.Responses.Status(200).Value.Content.Get("text/event-stream")
	names, _ := media.Extensions["x-events"].(map[string]any)
	if len(names) == 0 {
		t.Fatalf("x-events = %v", media.Extensions["x-events"])
	}
	ts := newStreamServer(t, e)
	sara := e.token("sara")
	events := openStream(t, ts, sara)

	call := earshot.ServiceCall{ID: "call-b", Agent: "bob", Pool: "sales", Since: t0}
	e.calls.start(call)
	e.calls.feed.Publish(earshot.CallEvent{Call: call, Ended: true})
	wantStatus(t, e.do("POST", "/api/v1/users/alice/listen", sara, nil), http.StatusCreated)
	offer := earshot.Offer{ID: "offer-alice", Supervisor: "sara", Agent: "alice", Pool: "sales", ExpiresAt: t0}
	e.offers.feed.Publish(earshot.OfferEvent{Offer: offer, Withdrawn: true})
	ses := earshot.Session{ID: "ses-2", Supervisor: "sara", Agent: "alice", Pool: "sales", Mode: earshot.ModeListen, StartedAt: t0}
	e.super.feed.Publish(earshot.SessionEvent{Session: ses, Kind: earshot.SessionStarted})
	ses.Mode = earshot.ModeBarge
	e.super.feed.Publish(earshot.SessionEvent{Session: ses, Kind: earshot.SessionModeChanged})
	e.super.feed.Publish(earshot.SessionEvent{Session: ses, Kind: earshot.SessionEnded, Reason: "hangup"})
	e.notes.Publish(push.Note{User: "sara", Message: statusMessage()})

	// Read until every documented event has come (or none comes for a
	// while): one action may send more than one event.
	seen := map[string]bool{}
	for len(seen) < len(names) {
		var ev sseEvent
		select {
		case ev = <-events:
		case <-time.After(2 * time.Second):
		}
		if ev.name == "" {
			break
		}
		if strings.HasPrefix(ev.name, ":") {
			continue
		}
		seen[ev.name] = true
		schema, ok := names[ev.name].(string)
		if !ok {
			t.Errorf("event %q is not in the document's x-events", ev.name)
			continue
		}
		if err := c.checkSchema(schema, []byte(ev.data)); err != nil {
			t.Errorf("event %s: data is not a %s: %v\n%s", ev.name, schema, err, ev.data)
		}
		var data any
		_ = json.Unmarshal([]byte(ev.data), &data)
		if extra := extraFields(c.doc.Components.Schemas[schema], data, ""); len(extra) > 0 {
			t.Errorf("event %s: %v not in %s", ev.name, extra, schema)
		}
		if err := c.checkSchema("Event", []byte(ev.data)); err != nil {
			t.Errorf("event %s: data is not an Event: %v", ev.name, err)
		}
	}
	for name := range names {
		if !seen[name] {
			t.Errorf("documented event %s was not sent", name)
		}
	}
	// And the checks can fail: a call's data is no session.
	if err := c.checkSchema("SessionEvent", []byte(`{"agent":"bob","pool":"sales","call_id":"c","since":"2025-11-24T09:00:00Z"}`)); err == nil {
		t.Error("a call event passed as a SessionEvent")
	}
}

// The served document passes Redocly's linter with its recommended rules
// (the engine of `redocly lint`, @redocly/openapi-core, pinned in
// testdata/redocly/package-lock.json): errors fail, warnings are logged.
// It needs Node and `npm ci` in testdata/redocly: scripts/lint.sh
// provides both and sets EARSHOT_LINT_REQUIRED, so there it cannot skip;
// the suite (scripts/test.sh) needs no Node and skips it.
func TestOpenAPI_Lint(t *testing.T) {
	node, err := exec.LookPath("node")
	_, modErr := os.Stat("testdata/redocly/node_modules/@redocly/openapi-core")
	if err != nil || modErr != nil {
		if os.Getenv("EARSHOT_LINT_REQUIRED") != "" {
			t.Fatalf("the linter is missing (node: %v; %v); run npm ci in httpapi/testdata/redocly", err, modErr)
		}
		t.Skip("no linter here: scripts/lint.sh runs it (Node and npm ci in httpapi/testdata/redocly)")
	}
	doc := filepath.Join(t.TempDir(), "openapi.json")
	if err := os.WriteFile(doc, httpapi.OpenAPI(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, "testdata/redocly/lint.mjs", doc).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("lint: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var errs int
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		var p struct{ Severity, Rule, Message, Where string }
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatalf("lint output %q: %v", line, err)
		}
		if p.Severity == "error" {
			errs++
			t.Errorf("lint error %s at %s: %s", p.Rule, p.Where, p.Message)
			continue
		}
		t.Logf("lint %s %s at %s: %s", p.Severity, p.Rule, p.Where, p.Message)
	}
	if errs > 0 {
		t.Errorf("%d lint errors", errs)
	}
}
