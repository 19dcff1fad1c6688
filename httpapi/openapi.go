package httpapi

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
)

// auth is who may call an operation; each level implies the error answers
// its checks give.
type auth int

const (
	public        auth = iota
	signedIn           // any sign-in token: 401
	supervising        // a supervisor's token, the feature on (R1): 401, 403
	live               // as supervising, and Asterisk reachable now: also 503
	operatorTok        // the operator's admin token: 401, 429, and 404 without one configured
	operatorIfSet      // as operatorTok where the server is so configured (--metrics-auth), else public
)

// opDoc documents one operation. The list below is written apart from the
// route registrations on purpose: a test compares the two, so a route
// added without documentation (or the reverse) fails the build.
type opDoc struct {
	method, path string
	// id is the operationId: generated clients name their methods after
	// it (oapi-codegen's ListPools, openapi-typescript's operations key),
	// so it is a camelCase verb phrase, unique in the document.
	id, summary, tag string
	auth             auth
	body             string   // request schema; "" for none
	media            []string // request media types; nil for application/json
	status           int      // success status
	result           string   // response schema or media type; "" for no body
	// errors are the problem answers the handler itself gives; those
	// that auth, a body and path parameters imply are added.
	errors []int
	query  []map[string]any
}

var operations = []opDoc{
	{method: "GET", path: "/healthz", id: "getHealth", summary: "Liveness probe", tag: "operations", status: 200, result: "Health"},
	{method: "GET", path: "/readyz", id: "getReadiness", summary: "Readiness probe (ARI connected, store open); 503 with the same body names what is not ready", tag: "operations", status: 200, result: "Ready"},
	{method: "GET", path: "/", id: "getConsole", summary: "The supervisor web console", tag: "console", status: 200, result: "text/html"},
	{method: "GET", path: "/console/{file}", id: "getConsoleFile", summary: "The web console's scripts, styles, icons, web app manifest and service worker (sw.js, with Service-Worker-Allowed: /)", tag: "console", status: 200, result: "console file", errors: []int{404}},
	{method: "GET", path: "/metrics", id: "getMetrics", summary: "Prometheus metrics; the admin token is required where the server is configured so", tag: "operations", auth: operatorIfSet, status: 200, result: "text/plain"},
	{method: "GET", path: "/api/v1/openapi.json", id: "getOpenAPI", summary: "This document", tag: "meta", status: 200, result: "OpenAPI"},
	{method: "POST", path: "/api/v1/auth/login", id: "login", summary: "Sign in; the token carries the features enabled now (R1)", tag: "auth", body: "LoginRequest", status: 200, result: "LoginResult", errors: []int{401, 429, 503}},
	{method: "POST", path: "/api/v1/auth/logout", id: "logout", summary: "Sign out: the token in hand stops working at once, and event streams opened with it end", tag: "auth", auth: signedIn, status: 204},
	{method: "GET", path: "/api/v1/me", id: "getMe", summary: "The signed-in user, roles and usable features", tag: "auth", auth: signedIn, status: 200, result: "Me"},
	{method: "PUT", path: "/api/v1/devices/{token}", id: "registerDevice", summary: "Register a push token (again: fine); a token registered to another user is refused (409, type …/device-token-taken) until they forget it; an 11th device replaces the least recently registered", tag: "devices", auth: signedIn, body: "DeviceRequest", status: 204, errors: []int{409}},
	{method: "DELETE", path: "/api/v1/devices/{token}", id: "unregisterDevice", summary: "Forget a push token", tag: "devices", auth: signedIn, status: 204, errors: []int{422}},
	{method: "GET", path: "/api/v1/pools", id: "listPools", summary: "Service pools the caller may see", tag: "pools", auth: supervising, status: 200, result: "PoolList"},
	{method: "GET", path: "/api/v1/pools/{pool}/users", id: "listPoolUsers", summary: "Pool users view (R7, R8)", tag: "pools", auth: supervising, status: 200, result: "UserList", errors: []int{404}},
	{method: "GET", path: "/api/v1/users/{user}", id: "getUser", summary: "One user's view", tag: "users", auth: supervising, status: 200, result: "UserView", errors: []int{404}},
	{method: "POST", path: "/api/v1/users/{user}/listen", id: "createListenOffer", summary: "Ad hoc listen offer for the agent's call (R7)", tag: "users", auth: live, status: 201, result: "OfferResponse", errors: []int{404, 409, 422}},
	{method: "POST", path: "/api/v1/users/{user}/listen-here", id: "listenHere", summary: "Join the agent's call in listen mode with the browser's own audio (no offer, no phone; the token authorises it); connect the media WebSocket named in the answer within 10 s", tag: "users", auth: live, status: 201, result: "ListenHereResult", errors: []int{404, 409}},
	{method: "GET", path: "/api/v1/supervising/users", id: "listSupervisedUsers", summary: "The caller's supervised agents (R8)", tag: "supervising", auth: supervising, status: 200, result: "UserList"},
	{method: "PUT", path: "/api/v1/supervising/users/{user}", id: "superviseUser", summary: "Supervise an agent (idempotent)", tag: "supervising", auth: supervising, status: 204, errors: []int{404, 422}},
	{method: "DELETE", path: "/api/v1/supervising/users/{user}", id: "unsuperviseUser", summary: "Stop supervising an agent (idempotent)", tag: "supervising", auth: supervising, status: 204, errors: []int{404}},
	{method: "GET", path: "/api/v1/supervising/settings", id: "getSettings", summary: "Supervising settings (R9)", tag: "supervising", auth: supervising, status: 200, result: "Settings"},
	{method: "PUT", path: "/api/v1/supervising/settings", id: "setSettings", summary: "Set the phone number the supervisor calls from (R9); null clears", tag: "supervising", auth: supervising, body: "Settings", status: 200, result: "Settings", errors: []int{409}},
	{method: "GET", path: "/api/v1/supervising/sessions", id: "listSessions", summary: "The caller's live sessions", tag: "sessions", auth: supervising, status: 200, result: "SessionList"},
	{method: "PUT", path: "/api/v1/supervising/sessions/{id}/mode", id: "setSessionMode", summary: "Switch listen, whisper, barge (R5, R11)", tag: "sessions", auth: live, body: "ModeRequest", status: 200, result: "Session", errors: []int{404}},
	{method: "DELETE", path: "/api/v1/supervising/sessions/{id}", id: "hangUpSession", summary: "Hang up a session", tag: "sessions", auth: live, status: 204, errors: []int{404}},
	{method: "GET", path: "/api/v1/supervising/sessions/{id}/media", id: "connectSessionMedia", summary: "The audio of a browser session (Listen here), as a WebSocket: subprotocol earshot-media, the token as Authorization or as the subprotocol bearer.<token>; binary messages of one 20 ms frame of 16 kHz signed 16-bit little-endian mono (640 bytes) each way; one link per session (409, type …/media-attached); a message over 640 bytes closes it (1009), text or a short frame too (1003); the session ends when the token is signed out, revoked or expires, or the organization forbids browser supervising (1008)", tag: "sessions", auth: live, status: 101, errors: []int{404, 409, 429}},
	{method: "GET", path: "/api/v1/events", id: "streamEvents", summary: "Server-Sent Events of the caller's calls, offers and sessions", tag: "events", auth: supervising, status: 200, result: "text/event-stream", errors: []int{429}},
	{method: "PUT", path: "/api/v1/admin/orgs/{org}/features/supervising", id: "enableSupervising", summary: "Operator: enable supervising (R1)", tag: "admin", auth: operatorTok, status: 204},
	{method: "DELETE", path: "/api/v1/admin/orgs/{org}/features/supervising", id: "disableSupervising", summary: "Operator: disable supervising at once (R1)", tag: "admin", auth: operatorTok, status: 204},
	{method: "PUT", path: "/api/v1/admin/orgs/{org}/features/browser_supervising", id: "allowBrowserSupervising", summary: "Operator: allow supervising from the browser (Listen here) at once", tag: "admin", auth: operatorTok, status: 204},
	{method: "DELETE", path: "/api/v1/admin/orgs/{org}/features/browser_supervising", id: "forbidBrowserSupervising", summary: "Operator: forbid supervising from the browser; live browser sessions end at once (the supervising number only, R9)", tag: "admin", auth: operatorTok, status: 204},
	{method: "GET", path: "/api/v1/admin/audit", id: "listAuditEntries", summary: "Operator: audit trail, newest first", tag: "admin", auth: operatorTok, status: 200, result: "AuditPage", errors: []int{400}, query: []map[string]any{
		{"name": "org", "in": "query", "description": "only this organization", "schema": str()},
		{"name": "before", "in": "query", "description": "entries with a smaller seq (paging); 0 or absent for the newest", "schema": map[string]any{"type": "integer", "format": "int64", "minimum": 0}},
		{"name": "limit", "in": "query", "description": "page size", "schema": map[string]any{"type": "integer", "minimum": 1, "maximum": auditMaxLimit, "default": auditDefaultLimit}},
	}},
	{method: "GET", path: "/api/v1/admin/users", id: "listAdminUsers", summary: "Operator: an organization's users", tag: "admin", auth: operatorTok, status: 200, result: "AdminUserList", errors: []int{400}, query: orgQuery},
	{method: "PUT", path: "/api/v1/admin/users/{user}", id: "putAdminUser", summary: "Operator: create or replace a user; every problem with the body is a field error", tag: "admin", auth: operatorTok, body: "AdminUserRequest", status: 200, result: "AdminUser", errors: []int{409}},
	{method: "DELETE", path: "/api/v1/admin/users/{user}", id: "deleteAdminUser", summary: "Operator: delete a user with their pool memberships, supervised lists and devices", tag: "admin", auth: operatorTok, status: 204},
	{method: "GET", path: "/api/v1/admin/pools", id: "listAdminPools", summary: "Operator: an organization's service pools", tag: "admin", auth: operatorTok, status: 200, result: "AdminPoolList", errors: []int{400}, query: orgQuery},
	{method: "PUT", path: "/api/v1/admin/pools/{pool}", id: "putAdminPool", summary: "Operator: create or replace a service pool; members must be agents of its organization", tag: "admin", auth: operatorTok, body: "AdminPoolRequest", status: 200, result: "AdminPool"},
	{method: "DELETE", path: "/api/v1/admin/pools/{pool}", id: "deleteAdminPool", summary: "Operator: delete a service pool", tag: "admin", auth: operatorTok, status: 204},
	{method: "POST", path: "/api/v1/admin/directory", id: "importDirectory", summary: "Operator: import a directory file (YAML, at most 8 MiB) in one transaction; each problem in the file is a field error naming its entry and line", tag: "admin", auth: operatorTok, body: "DirectoryFile", media: yamlTypes, status: 200, result: "ImportResult", errors: []int{409}},
	{method: "GET", path: "/api/v1/admin/backup", id: "getBackup", summary: "Operator: a consistent copy of the database, taken while Earshot runs", tag: "admin", auth: operatorTok, status: 200, result: echo.MIMEOctetStream},
}

// tags group the operations; generators make one client or file per tag.
var tags = []map[string]any{
	{"name": "auth", "description": "Sign in and see who you are. Send the token as `Authorization: Bearer <token>`."},
	{"name": "devices", "description": "Push tokens of the app's installations; notifications go to every device of the user."},
	{"name": "pools", "description": "Service pools and the agents in them, with who is on a call now (R7)."},
	{"name": "users", "description": "One user's view and ad hoc listen offers: the app shows the number to call (R7)."},
	{"name": "supervising", "description": "The supervisor's list of agents (R8) and the phone number they call from (R9)."},
	{"name": "sessions", "description": "Live supervising sessions: switch listen, whisper and barge, or hang up (R5, R11)."},
	{"name": "events", "description": "Server-Sent Events: what changes, as it changes, instead of polling."},
	{"name": "admin", "description": "The operator's routes (admin token): features per organization, audit trail, users, pools, directory import, backup."},
	{"name": "operations", "description": "Probes and metrics for the people who run Earshot."},
	{"name": "console", "description": "The web console's page and files."},
	{"name": "meta", "description": "This document."},
}

// eventSchemas names the payload schema of each event on /api/v1/events.
var eventSchemas = []struct{ name, schema, when string }{
	{evCallStarted, "CallEvent", "an agent in a pool you see answered a service call"},
	{evCallEnded, "CallEvent", "that call ended"},
	{evOffer, "OfferEvent", "a listen offer for you: ad hoc (you asked) or supervised (an agent on your list took a call)"},
	{evOfferWithdrawn, "OfferWithdrawn", "an offer is no longer valid (the call ended, or you dialled in)"},
	{evSessionStarted, "SessionEvent", "you are connected to the agent's call"},
	{evModeChanged, "SessionEvent", "the session's mode changed (from the app, the console or DTMF)"},
	{evSessionEnded, "SessionEvent", "the session ended; reason says why"},
	{evNotification, "Notification", "a notification for you, as the push services get it (offer, withdrawn, status, ended): show it"},
}

// orgQuery is the organization the operator's lists are of.
var orgQuery = []map[string]any{{"name": "org", "in": "query", "required": true, "description": "organization id", "schema": str()}}

var pathParams = map[string]string{
	"token":        "push token of the device",
	"pool":         "pool id",
	"user":         "user id",
	"id":           "session id",
	"subscription": "Web Push subscription id (createWebPushSubscription's answer)",
	"org":          "organization id",
	"file":         "file name under the console's directory",
}

// problemResponses names the shared problem responses by status, with
// what each means in this API.
var problemResponses = map[int]struct{ name, description string }{
	400: {"BadRequest", "The request is malformed: JSON that does not parse, a field of the wrong type, an unknown field, a bad path or query parameter."},
	401: {"Unauthorized", "No token, or one that is invalid or expired: sign in again."},
	403: {"Forbidden", "Signed in, but not allowed: supervising is off for the organization or was enabled after sign-in (type …/feature-off), not a supervisor (…/not-supervisor), not this agent (…/not-permitted), or supervising from the browser not allowed for the organization (…/browser-off)."},
	404: {"NotFound", "No such thing, or not one the caller may see (another organization's ids answer the same); the operator routes answer 404 when no admin token is configured."},
	408: {"RequestTimeout", "The request body did not arrive in time; send it at once."},
	409: {"Conflict", "The state does not allow it: the agent is not on a call (type …/not-on-call), the phone number or endpoint belongs to another user, the push token is another user's (…/device-token-taken), or a browser session's audio is already connected elsewhere (…/media-attached)."},
	413: {"PayloadTooLarge", "The request body exceeds the route's limit."},
	415: {"UnsupportedMediaType", "The request body's Content-Type is not one the operation takes."},
	422: {"Unprocessable", "The request is well-formed but a value cannot be used; errors names each field (type …/validation), or a state of the caller blocks it (…/no-phone-number, …/not-an-agent)."},
	429: {"TooManyRequests", "Too many failed sign-ins, too many event streams open for the user, or too many wrong admin tokens from the address; Retry-After says how many seconds to wait."},
	500: {"InternalError", "An unexpected failure, logged with the request id."},
	503: {"Unavailable", "The phone system (Asterisk) is not reachable now; try again when it is back (type …/unavailable). " +
		"On login: too many sign-ins at once; Retry-After says when to try again."},
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

// OpenAPI returns the OpenAPI document the server serves at
// /api/v1/openapi.json (JSON), for tools that generate from it.
func OpenAPI() []byte { return openAPIDoc() }

func (s *Server) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDoc())
}

// buildOpenAPI writes the document as OpenAPI 3.0.3, not 3.1: the
// generators app developers use (oapi-codegen, openapi-generator, Swift's
// and Kotlin's) read 3.0 fully and 3.1 partly or not at all.
func buildOpenAPI() map[string]any {
	paths := map[string]map[string]any{}
	for _, op := range append(operations, webPushOperations...) {
		if paths[op.path] == nil {
			paths[op.path] = map[string]any{}
		}
		paths[op.path][strings.ToLower(op.method)] = operation(op)
	}
	responses := map[string]any{}
	for _, p := range problemResponses {
		responses[p.name] = map[string]any{
			"description": p.description,
			"content":     map[string]any{"application/problem+json": map[string]any{"schema": ref("Problem")}},
		}
	}
	// Headers a client acts on; every answer also has X-Request-Id (in
	// info.description rather than on each response: generated clients
	// would get a type per response for it).
	responses["Unauthorized"].(map[string]any)["headers"] = map[string]any{"WWW-Authenticate": map[string]any{
		"description": `the challenge: Bearer realm="earshot" (error="invalid_token" for a bad token), or realm="earshot-operator"`,
		"schema":      str(),
	}}
	for _, name := range []string{"TooManyRequests", "Unavailable"} {
		responses[name].(map[string]any)["headers"] = map[string]any{"Retry-After": map[string]any{
			"description": "seconds until the request may be tried again (where the server knows)",
			"schema":      map[string]any{"type": "integer", "minimum": 1},
		}}
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":   "Earshot API",
			"version": "1.0.0",
			"description": "Supervisors listen to, whisper to or barge into agents' live service calls; " +
				"this is the API of the mobile app and the web console, and the operator's.\n\n" +
				"Sign in with `login` and send the token as `Authorization: Bearer <token>`. " +
				"Errors are RFC 9457 problem details (`application/problem+json`) with a `request_id` " +
				"that matches the `X-Request-Id` header every answer has and the server's log; a problem's `type` names " +
				"the cases a client handles differently (such as `https://earshot.dev/problems/not-on-call`).\n\n" +
				"Live changes arrive on `streamEvents` (Server-Sent Events).",
			"license": map[string]any{"name": "Proprietary"},
			"contact": map[string]any{"name": "Earshot maintainers"},
		},
		"servers": []any{map[string]any{"url": "/", "description": "the Earshot server this document is served from " +
			"(for example http://127.0.0.1:8080, the default --http-addr); generated clients take the server's URL as their base"}},
		"tags":  tags,
		"paths": paths,
		"components": map[string]any{
			"schemas":   withWebPushSchemas(schemas()),
			"responses": responses,
			"securitySchemes": map[string]any{
				"bearerAuth": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
					"description": "token from login (POST /api/v1/auth/login)"},
				"adminToken": map[string]any{"type": "http", "scheme": "bearer",
					"description": "the operator's admin token (--admin-token); the operator routes answer 404 without one"},
			},
		},
	}
}

func operation(op opDoc) map[string]any {
	out := map[string]any{"operationId": op.id, "summary": op.summary, "tags": []string{op.tag}}
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
	case live:
		out["security"] = []any{map[string]any{"bearerAuth": []string{}}}
		errs = append(errs, 401, 403, 503)
	case operatorTok:
		out["security"] = []any{map[string]any{"adminToken": []string{}}}
		errs = append(errs, 401, 404, 429) // 429: wrong tokens from the address
	case operatorIfSet:
		// An empty requirement: no credentials is one alternative.
		out["security"] = []any{map[string]any{}, map[string]any{"adminToken": []string{}}}
		errs = append(errs, 401, 404, 429)
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
		errs = append(errs, 400, 408, 413, 415, 422)
	}
	if strings.Contains(op.path, "/api/") && len(params) > 0 {
		errs = append(errs, 400) // a path parameter that does not unescape
	}
	responses := map[string]any{}
	ok := map[string]any{"description": http.StatusText(op.status)}
	switch op.result {
	case "":
	case "text/event-stream":
		ok = eventStream()
	case "text/html":
		ok["content"] = map[string]any{"text/html": map[string]any{"schema": str()}}
	case "console file":
		ok["content"] = map[string]any{}
		for _, m := range []string{"text/html", "text/javascript", "text/css", "image/svg+xml", "application/manifest+json"} {
			ok["content"].(map[string]any)[m] = map[string]any{"schema": str()}
		}
		ok["content"].(map[string]any)["image/png"] = map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}
	case "text/plain":
		ok["content"] = map[string]any{"text/plain": map[string]any{"schema": describeSchema(str(),
			"Prometheus text exposition format")}}
	case echo.MIMEOctetStream:
		ok["content"] = map[string]any{echo.MIMEOctetStream: map[string]any{"schema": describeSchema(
			map[string]any{"type": "string", "format": "binary"}, "a bbolt database file, as --db opens it")}}
		ok["headers"] = map[string]any{"Content-Disposition": map[string]any{"schema": str(),
			"description": `attachment; filename="earshot-<UTC time, 20060102T150405Z>.db"`}}
	default:
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": ref(op.result)}}
	}
	responses[strconv.Itoa(op.status)] = ok
	if op.id == "getReadiness" {
		responses["503"] = map[string]any{"description": "Not ready; checks names why",
			"content": map[string]any{"application/json": map[string]any{"schema": ref("Ready")}}}
	}
	slices.Sort(errs)
	for _, st := range slices.Compact(errs) {
		if _, done := responses[strconv.Itoa(st)]; !done {
			responses[strconv.Itoa(st)] = map[string]any{"$ref": "#/components/responses/" + problemResponses[st].name}
		}
	}
	out["responses"] = responses
	return out
}

// eventStream is the 200 of /api/v1/events: what each event name means
// and its payload, and the payloads as one schema so generators make
// their types.
func eventStream() map[string]any {
	var b strings.Builder
	b.WriteString("A text/event-stream. Each event is `event: <name>` and `data: <JSON>`; " +
		"the payload's schema follows from the name:\n\n| event | data | when |\n| --- | --- | --- |\n")
	names := map[string]string{}
	for _, e := range eventSchemas {
		b.WriteString("| `" + e.name + "` | " + e.schema + " | " + e.when + " |\n")
		names[e.name] = e.schema
	}
	b.WriteString("\nThe stream starts with `retry: 3000` and a `: connected` comment, sends a `: heartbeat` comment " +
		"every 15 s, and ends when the caller loses access (signed out, token revoked, user deleted, the supervisor " +
		"role or the organization's feature taken away: R1) or the server stops; reconnect and read the current " +
		"state again (the lists are the truth, events are news). A user may have " + strconv.Itoa(maxStreamsPerUser) +
		" streams open; another is answered 429.")
	return map[string]any{
		"description": b.String(),
		"headers":     map[string]any{"Cache-Control": map[string]any{"description": "no-cache", "schema": str()}},
		"content": map[string]any{"text/event-stream": map[string]any{
			"schema": ref("Event"),
			// x-events maps each event name to its payload schema, for
			// tools (and the test that checks every event sent).
			"x-events": names,
		}},
	}
}
