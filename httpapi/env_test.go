package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/httpapi"
	"github.com/earshot/earshot/internal/feed"
	"github.com/earshot/earshot/push"
	"github.com/earshot/earshot/web"
)

const (
	adminToken        = "operator-secret"
	supervisingNumber = "+35891234599"
)

var t0 = time.Date(2025, 11, 24, 9, 0, 0, 0, time.UTC)

// env is a server on fakes holding two organizations: acme (sara and sam
// supervise, nora supervises without a phone number; alice, bob and carl
// are agents; alice is on a call in sales) and globex (gus supervises gina,
// who is on a call in gsales).
type env struct {
	t      testing.TB
	store  *fakeStore
	calls  *fakeCalls
	offers *fakeOffers
	super  *fakeSupervising
	clock  *clock
	srv    *httpapi.Server
	// notes and webPush are the notifications and Web Push store
	// (webpush_test.go).
	notes   *feed.Feed[push.Note]
	webPush *fakeWebPush

	// offContract skips the OpenAPI check of exchanges, for tests whose
	// fakes answer what the real server cannot (a store failing with any
	// error code on any route).
	offContract bool
}

func newEnv(t testing.TB, edits ...func(*httpapi.Config)) *env {
	t.Helper()
	user := func(id, org, phone string, roles ...string) earshot.User {
		return earshot.User{ID: id, Org: org, Name: strings.ToUpper(id[:1]) + id[1:], Roles: roles,
			PhoneNumber: phone, PasswordHash: passwordHash()}
	}
	sam := user("sam", "acme", "+358401234568", earshot.RoleSupervisor)
	sam.Pools = []string{"support"}
	agent := func(id, org, endpoint string) earshot.User {
		u := user(id, org, "", earshot.RoleAgent)
		u.Endpoint = endpoint
		return u
	}
	e := &env{
		t: t,
		store: &fakeStore{
			orgs: map[string]earshot.Organization{
				"acme":   {ID: "acme", Name: "Acme Oy", Features: []string{earshot.FeatureSupervising}},
				"globex": {ID: "globex", Name: "Globex", Features: []string{earshot.FeatureSupervising}},
			},
			users: map[string]earshot.User{
				"sara":  user("sara", "acme", "+358401234567", earshot.RoleSupervisor),
				"sam":   sam,
				"nora":  user("nora", "acme", "", earshot.RoleSupervisor),
				"alice": agent("alice", "acme", "PJSIP/1001"),
				"bob":   agent("bob", "acme", "PJSIP/1002"),
				"carl":  agent("carl", "acme", "PJSIP/1003"),
				"gus":   user("gus", "globex", "+358401234569", earshot.RoleSupervisor),
				"gina":  agent("gina", "globex", "PJSIP/2001"),
			},
			pools: map[string]earshot.Pool{
				"sales":   {ID: "sales", Org: "acme", Name: "Sales", Number: "+35891234500", Members: []string{"alice", "bob"}},
				"support": {ID: "support", Org: "acme", Name: "Support", Number: "+35891234501", Members: []string{"bob"}},
				"gsales":  {ID: "gsales", Org: "globex", Name: "G Sales", Number: "+35891234502", Members: []string{"gina"}},
			},
			supervised: map[string][]string{"sara": {"bob"}, "gus": {"gina"}},
			devices:    map[string][2]string{},
			audit: []httpapi.AuditRecord{
				{Seq: 1, AuditEntry: earshot.AuditEntry{Time: t0, Kind: earshot.AuditConnect, Org: "acme", Supervisor: "sara", Agent: "alice"}},
				{Seq: 2, AuditEntry: earshot.AuditEntry{Time: t0, Kind: earshot.AuditReject, Org: "globex", Reason: earshot.RejectUnknownNumber}},
				{Seq: 3, AuditEntry: earshot.AuditEntry{Time: t0, Kind: earshot.AuditMode, Org: "acme", Supervisor: "sara", Mode: earshot.ModeWhisper}},
				{Seq: 4, AuditEntry: earshot.AuditEntry{Time: t0, Kind: earshot.AuditEnd, Org: "acme", Supervisor: "sara"}},
			},
		},
		calls: &fakeCalls{calls: map[string]earshot.ServiceCall{
			"alice": {ID: "call-a", Agent: "alice", Pool: "sales", Since: t0},
			"gina":  {ID: "call-g", Agent: "gina", Pool: "gsales", Since: t0},
		}, feed: feed.New[earshot.CallEvent](16)},
		super: &fakeSupervising{sessions: map[string]earshot.Session{
			"ses-sara": {ID: "ses-sara", Supervisor: "sara", Agent: "alice", Pool: "sales", CallID: "call-a", Mode: earshot.ModeListen, StartedAt: t0},
			"ses-gus":  {ID: "ses-gus", Supervisor: "gus", Agent: "gina", Pool: "gsales", CallID: "call-g", Mode: earshot.ModeListen, StartedAt: t0},
		}, feed: feed.New[earshot.SessionEvent](16)},
		clock:   &clock{now: t0},
		notes:   feed.New[push.Note](16),
		webPush: newFakeWebPush(),
	}
	e.offers = &fakeOffers{OfferFunc: e.offer, feed: feed.New[earshot.OfferEvent](16)}
	cfg := httpapi.Config{
		Store: e.store, Calls: e.calls, Offers: e.offers, Supervising: e.super,
		SupervisingNumber: supervisingNumber, DefaultRegion: "FI",
		TokenKey: []byte("0123456789abcdef0123456789abcdef"), AdminToken: adminToken,
		PasswordCost: bcrypt.MinCost, Now: e.clock.Now,
		Metrics:       http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "earshot_up 1\n") }),
		Console:       web.FS,
		Notifications: e.notes, WebPush: e.webPush,
	}
	for _, edit := range edits {
		edit(&cfg)
	}
	srv, err := httpapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	return e
}

// offer is the fake offer service: the real rules, in a few lines.
func (e *env) offer(ctx context.Context, supID, agentID, _ string) (earshot.Offer, error) {
	sup, err := e.store.User(ctx, supID)
	if err != nil {
		return earshot.Offer{}, err
	}
	agent, err := e.store.User(ctx, agentID)
	if err != nil {
		return earshot.Offer{}, err
	}
	org, _ := e.store.Org(ctx, sup.Org)
	call, err := e.calls.CallOf(agentID)
	if err != nil {
		return earshot.Offer{}, err
	}
	pool, _ := e.store.Pool(ctx, call.Pool)
	if err := earshot.MaySupervise(org, sup, agent, pool); err != nil {
		return earshot.Offer{}, err
	}
	if sup.PhoneNumber == "" {
		return earshot.Offer{}, earshot.ErrNoPhoneNumber
	}
	now := e.clock.Now()
	return earshot.Offer{ID: "offer-" + agentID, Org: org.ID, Supervisor: supID, Agent: agentID, Pool: pool.ID,
		CallID: call.ID, Code: "0427", CreatedAt: now, ExpiresAt: now.Add(2 * time.Minute)}, nil
}

// yamlBody is a request body sent as application/yaml.
type yamlBody string

// do sends a request: body nil sends none, a yamlBody is sent as YAML, a
// string as it is and anything else as JSON; the last two with
// Content-Type application/json.
func (e *env) do(method, path, token string, body any) *httptest.ResponseRecorder {
	e.t.Helper()
	var raw, ctype string
	switch b := body.(type) {
	case nil:
	case yamlBody:
		raw, ctype = string(b), "application/yaml"
	case string:
		raw, ctype = b, "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		raw, ctype = string(j), "application/json"
	}
	return e.raw(method, path, token, ctype, raw)
}

// raw sends a request exactly as given.
func (e *env) raw(method, path, token, ctype, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, path, nil)
	} else {
		r = httptest.NewRequest(method, path, strings.NewReader(body))
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return e.serve(r)
}

// serve serves a request made by hand and holds the exchange to the
// OpenAPI document (contract_test.go), as every request through do and
// raw is. A body of unknown length (chunked, slow) is passed on as it is,
// and then only the answer is checked.
func (e *env) serve(r *http.Request) *httptest.ResponseRecorder {
	e.t.Helper()
	header := r.Header.Clone()
	var body []byte
	known := r.Body == nil || r.Body == http.NoBody || r.ContentLength >= 0
	if known && r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			e.t.Fatal(err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	w := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(w, r)
	if !e.offContract {
		e.mustContract().check(e.t, r.Method, r.URL.RequestURI(), header, string(body), !known, w)
	}
	return w
}

// token signs a user in (password "secret") and returns the token.
func (e *env) token(user string) string {
	e.t.Helper()
	w := e.do("POST", "/api/v1/auth/login", "", map[string]string{"username": user, "password": "secret"})
	if w.Code != http.StatusOK {
		e.t.Fatalf("sign in %s: %d %s", user, w.Code, w.Body)
	}
	return decodeAs[struct{ Token string }](e.t, w).Token
}

func decodeAs[T any](t testing.TB, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v", w.Body, err)
	}
	return v
}

// wantStatus fails unless the response has the status.
func wantStatus(t testing.TB, w *httptest.ResponseRecorder, status int) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d; body %s", w.Code, status, w.Body)
	}
}

// wantProblem checks that the response is an RFC 9457 problem with the
// status and a detail, and returns it.
func wantProblem(t testing.TB, w *httptest.ResponseRecorder, status int) httpapi.Problem {
	t.Helper()
	wantStatus(t, w, status)
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json; body %s", ct, w.Body)
	}
	p := decodeAs[httpapi.Problem](t, w)
	if p.Status != status || p.Title == "" || p.Detail == "" || p.Type == "" || p.Instance == "" || p.RequestID == "" {
		t.Fatalf("incomplete problem %s", w.Body)
	}
	return p
}

// wantJSON compares a JSON response with the expected JSON, ignoring
// formatting.
func wantJSON(t testing.TB, w *httptest.ResponseRecorder, want string) {
	t.Helper()
	var got, exp any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("response is not JSON: %s", w.Body)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("bad expectation %s: %v", want, err)
	}
	g, _ := json.Marshal(got)
	x, _ := json.Marshal(exp)
	if !bytes.Equal(g, x) {
		t.Fatalf("body\n got %s\nwant %s", g, x)
	}
}
