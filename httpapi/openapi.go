package httpapi

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
)

// auth is who may call an operation.
type auth int

const (
	public      auth = iota
	signedIn         // any sign-in token
	supervising      // a supervisor's token, the feature on (R1)
	operatorTok      // the operator's admin token
)

// opDoc documents one operation. The list below is written apart from the
// route registrations on purpose: a test compares the two, so a route
// added without documentation (or the reverse) fails the build.
type opDoc struct {
	method, path, summary, tag string
	auth                       auth
	body                       string   // request schema; "" for none
	media                      []string // request media types; nil for application/json
	status                     int      // success status
	result                     string   // response schema; "" for no body
	errors                     []int    // besides those auth and body imply
	query                      []map[string]any
}

var operations = []opDoc{
	{method: "GET", path: "/healthz", summary: "Liveness probe", tag: "operations", status: 200, result: "Health"},
	{method: "GET", path: "/readyz", summary: "Readiness probe (ARI connected, store open)", tag: "operations", status: 200, result: "Ready", errors: []int{503}},
	{method: "GET", path: "/", summary: "The supervisor web console", tag: "console", status: 200, result: "text/html"},
	{method: "GET", path: "/console/{file}", summary: "The web console's scripts and styles", tag: "console", status: 200, result: "text/html", errors: []int{404}},
	{method: "GET", path: "/metrics", summary: "Prometheus metrics", tag: "operations", status: 200, result: "text/plain"},
	{method: "GET", path: "/api/v1/openapi.json", summary: "This document", tag: "meta", status: 200, result: "OpenAPI"},
	{method: "POST", path: "/api/v1/auth/login", summary: "Sign in; the token carries the features enabled now (R1)", tag: "auth", body: "LoginRequest", status: 200, result: "LoginResponse", errors: []int{401, 429}},
	{method: "GET", path: "/api/v1/me", summary: "The signed-in user, roles and usable features", tag: "auth", auth: signedIn, status: 200, result: "Me"},
	{method: "PUT", path: "/api/v1/devices/{token}", summary: "Register a push token", tag: "devices", auth: signedIn, body: "DeviceRequest", status: 204},
	{method: "DELETE", path: "/api/v1/devices/{token}", summary: "Forget a push token", tag: "devices", auth: signedIn, status: 204, errors: []int{400}},
	{method: "GET", path: "/api/v1/pools", summary: "Service pools the caller may see", tag: "pools", auth: supervising, status: 200, result: "PoolList"},
	{method: "GET", path: "/api/v1/pools/{pool}/users", summary: "Pool users view (R7, R8)", tag: "pools", auth: supervising, status: 200, result: "UserList", errors: []int{404}},
	{method: "GET", path: "/api/v1/users/{user}", summary: "One user's view", tag: "users", auth: supervising, status: 200, result: "UserView", errors: []int{404}},
	{method: "POST", path: "/api/v1/users/{user}/listen", summary: "Ad hoc listen offer for the agent's call (R7)", tag: "users", auth: supervising, status: 201, result: "OfferResponse", errors: []int{404, 409, 422, 503}},
	{method: "GET", path: "/api/v1/supervising/users", summary: "The caller's supervised agents (R8)", tag: "supervising", auth: supervising, status: 200, result: "UserList"},
	{method: "PUT", path: "/api/v1/supervising/users/{user}", summary: "Supervise an agent (idempotent)", tag: "supervising", auth: supervising, status: 204, errors: []int{404, 422}},
	{method: "DELETE", path: "/api/v1/supervising/users/{user}", summary: "Stop supervising an agent (idempotent)", tag: "supervising", auth: supervising, status: 204, errors: []int{404}},
	{method: "GET", path: "/api/v1/supervising/settings", summary: "Supervising settings (R9)", tag: "supervising", auth: supervising, status: 200, result: "Settings"},
	{method: "PUT", path: "/api/v1/supervising/settings", summary: "Set the phone number the supervisor calls from (R9); null clears", tag: "supervising", auth: supervising, body: "Settings", status: 200, result: "Settings", errors: []int{409}},
	{method: "GET", path: "/api/v1/supervising/sessions", summary: "The caller's live sessions", tag: "sessions", auth: supervising, status: 200, result: "SessionList"},
	{method: "PUT", path: "/api/v1/supervising/sessions/{id}/mode", summary: "Switch listen, whisper, barge (R5, R11)", tag: "sessions", auth: supervising, body: "ModeRequest", status: 200, result: "Session", errors: []int{404, 503}},
	{method: "DELETE", path: "/api/v1/supervising/sessions/{id}", summary: "Hang up a session", tag: "sessions", auth: supervising, status: 204, errors: []int{404, 503}},
	{method: "GET", path: "/api/v1/events", summary: "Server-Sent Events: call_started, call_ended, offer, offer_withdrawn, session_started, mode_changed, session_ended", tag: "events", auth: supervising, status: 200, result: "text/event-stream"},
	{method: "PUT", path: "/api/v1/admin/orgs/{org}/features/supervising", summary: "Operator: enable supervising (R1)", tag: "operator", auth: operatorTok, status: 204},
	{method: "DELETE", path: "/api/v1/admin/orgs/{org}/features/supervising", summary: "Operator: disable supervising at once (R1)", tag: "operator", auth: operatorTok, status: 204},
	{method: "GET", path: "/api/v1/admin/audit", summary: "Operator: audit trail, newest first", tag: "operator", auth: operatorTok, status: 200, result: "AuditPage", errors: []int{400}, query: []map[string]any{
		{"name": "org", "in": "query", "description": "only this organization", "schema": str()},
		{"name": "before", "in": "query", "description": "entries with a smaller seq (paging); 0 or absent for the newest", "schema": map[string]any{"type": "integer", "minimum": 0}},
		{"name": "limit", "in": "query", "description": "page size", "schema": map[string]any{"type": "integer", "minimum": 1, "maximum": auditMaxLimit, "default": auditDefaultLimit}},
	}},
	{method: "GET", path: "/api/v1/admin/users", summary: "Operator: an organization's users", tag: "operator", auth: operatorTok, status: 200, result: "AdminUserList", errors: []int{400}, query: orgQuery},
	{method: "PUT", path: "/api/v1/admin/users/{user}", summary: "Operator: create or replace a user; every problem with the body is a field error", tag: "operator", auth: operatorTok, body: "AdminUserRequest", status: 200, result: "AdminUser", errors: []int{409}},
	{method: "DELETE", path: "/api/v1/admin/users/{user}", summary: "Operator: delete a user with their pool memberships, supervised lists and devices", tag: "operator", auth: operatorTok, status: 204, errors: []int{404}},
	{method: "GET", path: "/api/v1/admin/pools", summary: "Operator: an organization's service pools", tag: "operator", auth: operatorTok, status: 200, result: "AdminPoolList", errors: []int{400}, query: orgQuery},
	{method: "PUT", path: "/api/v1/admin/pools/{pool}", summary: "Operator: create or replace a service pool; members must be agents of its organization", tag: "operator", auth: operatorTok, body: "AdminPoolRequest", status: 200, result: "AdminPool"},
	{method: "DELETE", path: "/api/v1/admin/pools/{pool}", summary: "Operator: delete a service pool", tag: "operator", auth: operatorTok, status: 204, errors: []int{404}},
	{method: "POST", path: "/api/v1/admin/directory", summary: "Operator: import a directory file (YAML, at most 1 MiB) in one transaction; each problem in the file is a field error naming its entry and line", tag: "operator", auth: operatorTok, body: "DirectoryFile", media: yamlTypes, status: 200, result: "ImportResult", errors: []int{409}},
	{method: "GET", path: "/api/v1/admin/backup", summary: "Operator: a consistent copy of the database, taken while Earshot runs", tag: "operator", auth: operatorTok, status: 200, result: echo.MIMEOctetStream},
}

// orgQuery is the organization the operator's lists are of.
var orgQuery = []map[string]any{{"name": "org", "in": "query", "required": true, "description": "organization id", "schema": str()}}

var pathParams = map[string]string{
	"token": "push token of the device",
	"pool":  "pool id",
	"user":  "user id",
	"id":    "session id",
	"org":   "organization id",
}

// problemResponses names the shared problem responses by status.
var problemResponses = map[int]string{
	400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
	413: "PayloadTooLarge", 415: "UnsupportedMediaType", 422: "Unprocessable", 429: "TooManyRequests",
	500: "InternalError", 503: "Unavailable",
}

var paramRE = regexp.MustCompile(`\{(\w+)\}`)

// openAPIDoc is the document, built and encoded once.
var openAPIDoc = sync.OnceValue(func() []byte {
	b, err := json.Marshal(buildOpenAPI())
	if err != nil {
		panic(err) // a programming error in the document literal
	}
	return b
})

func (s *Server) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDoc())
}

func buildOpenAPI() map[string]any {
	paths := map[string]map[string]any{}
	for _, op := range operations {
		if paths[op.path] == nil {
			paths[op.path] = map[string]any{}
		}
		paths[op.path][strings.ToLower(op.method)] = operation(op)
	}
	responses := map[string]any{}
	for status, name := range problemResponses {
		responses[name] = map[string]any{
			"description": http.StatusText(status),
			"content":     map[string]any{"application/problem+json": map[string]any{"schema": ref("Problem")}},
		}
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "Earshot mobile app API",
			"version": "1.0.0",
			"description": "Supervisors listen to, whisper to or barge into agents' live service calls. " +
				"Errors are RFC 9457 problem details (application/problem+json).",
		},
		"paths": paths,
		"components": map[string]any{
			"schemas":   schemas(),
			"responses": responses,
			"securitySchemes": map[string]any{
				"bearerAuth": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
					"description": "token from POST /api/v1/auth/login"},
				"adminToken": map[string]any{"type": "http", "scheme": "bearer",
					"description": "the operator's admin token (--admin-token); the operator routes answer 404 without one"},
			},
		},
	}
}

func operation(op opDoc) map[string]any {
	out := map[string]any{"summary": op.summary, "tags": []string{op.tag}, "operationId": strings.ToLower(op.method) + op.path}
	var params []map[string]any
	for _, m := range paramRE.FindAllStringSubmatch(op.path, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true,
			"description": pathParams[m[1]], "schema": str()})
	}
	params = append(params, op.query...)
	if params != nil {
		out["parameters"] = params
	}
	errs := append([]int{500}, op.errors...)
	switch op.auth {
	case public:
		out["security"] = []any{}
	case signedIn:
		out["security"] = []any{map[string]any{"bearerAuth": []string{}}}
		errs = append(errs, 401)
	case supervising:
		out["security"] = []any{map[string]any{"bearerAuth": []string{}}}
		errs = append(errs, 401, 403)
	case operatorTok:
		out["security"] = []any{map[string]any{"adminToken": []string{}}}
		errs = append(errs, 401, 404)
	}
	if op.body != "" {
		media := op.media
		if media == nil {
			media = []string{echo.MIMEApplicationJSON}
		}
		content := map[string]any{}
		for _, m := range media {
			content[m] = map[string]any{"schema": ref(op.body)}
		}
		out["requestBody"] = map[string]any{"required": true, "content": content}
		errs = append(errs, 400, 413, 415, 422)
	}
	if len(params) > 0 && op.body == "" {
		errs = append(errs, 400)
	}
	responses := map[string]any{}
	ok := map[string]any{"description": http.StatusText(op.status)}
	switch op.result {
	case "":
	case "text/event-stream":
		ok["content"] = map[string]any{"text/event-stream": map[string]any{"schema": map[string]any{"type": "string",
			"description": "each event's data is JSON: CallEvent, OfferEvent, OfferWithdrawn or SessionEvent; comment heartbeats every 15 s"}}}
	case "text/html":
		ok["content"] = map[string]any{"text/html": map[string]any{"schema": map[string]any{"type": "string"}}}
	case "text/plain":
		ok["content"] = map[string]any{"text/plain": map[string]any{"schema": map[string]any{"type": "string",
			"description": "Prometheus text exposition format"}}}
	case echo.MIMEOctetStream:
		ok["content"] = map[string]any{echo.MIMEOctetStream: map[string]any{"schema": map[string]any{"type": "string",
			"contentMediaType": echo.MIMEOctetStream, "description": "a bbolt database file, as --db opens it"}}}
		ok["headers"] = map[string]any{"Content-Disposition": map[string]any{"schema": str(),
			"description": `attachment; filename="earshot-<UTC time, 20060102T150405Z>.db"`}}
	default:
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": ref(op.result)}}
	}
	responses[strconv.Itoa(op.status)] = ok
	for _, st := range errs {
		responses[strconv.Itoa(st)] = map[string]any{"$ref": "#/components/responses/" + problemResponses[st]}
	}
	out["responses"] = responses
	return out
}
