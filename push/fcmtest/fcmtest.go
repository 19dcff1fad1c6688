// Package fcmtest is a local stand-in for Firebase Cloud Messaging: the
// OAuth token exchange of a service account (a locally generated key) and
// the HTTP v1 messages:send surface, recording what it receives and
// failing on demand. Tests point push/fcm at it with its Endpoint and a
// credentials file from Credentials.
package fcmtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Project is the FCM project id the fake serves.
const Project = "earshot-test"

const accessToken = "fcmtest-access-token"

// Received is a message as FCM v1 received it.
type Received struct {
	// At is when the fake received it.
	At           time.Time         `json:"-"`
	Token        string            `json:"token"`
	Data         map[string]string `json:"data"`
	Notification struct {
		Title string `json:"title"`
		Body  string `json:"body"`
	} `json:"notification"`
	Android struct {
		CollapseKey  string `json:"collapse_key"`
		Priority     string `json:"priority"`
		TTL          string `json:"ttl"`
		Notification struct {
			Tag         string `json:"tag"`
			ClickAction string `json:"click_action"`
			ChannelID   string `json:"channel_id"`
		} `json:"notification"`
	} `json:"android"`
	APNS struct {
		Headers map[string]string `json:"headers"`
		Payload struct {
			Aps struct {
				Category string `json:"category"`
				ThreadID string `json:"thread-id"`
			} `json:"aps"`
		} `json:"payload"`
	} `json:"apns"`
}

// Server is the fake FCM.
type Server struct {
	srv *httptest.Server
	key *rsa.PrivateKey

	mu           sync.Mutex
	received     []Received
	tokens       int // OAuth token exchanges
	failures     []failure
	unregistered map[string]bool
	changed      chan struct{} // closed and replaced on every request
}

type failure struct {
	status     int
	retryAfter string
}

// New starts a fake FCM on loopback, stopped at the test's end.
func New(tb testing.TB) *Server {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{key: key, unregistered: map[string]bool{}, changed: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("POST /v1/projects/{project}/messages:send", s.send)
	s.srv = httptest.NewServer(mux)
	tb.Cleanup(s.srv.Close)
	return s
}

// Unreachable returns the URL of a loopback port nothing listens on: FCM
// down.
func Unreachable(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return "http://" + l.Addr().String()
}

// Endpoint is the base URL for fcm.WithEndpoint (it ends in /v1).
func (s *Server) Endpoint() string { return s.srv.URL + "/v1" }

// Credentials writes a service-account JSON file whose token_uri is this
// server, and returns its path.
func (s *Server) Credentials(tb testing.TB) string {
	tb.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(s.key)
	if err != nil {
		tb.Fatal(err)
	}
	b, _ := json.MarshalIndent(map[string]string{
		"type":           "service_account",
		"project_id":     Project,
		"private_key_id": "fcmtest-key",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   "earshot@" + Project + ".iam.gserviceaccount.com",
		"client_id":      "1",
		"token_uri":      s.srv.URL + "/token",
	}, "", "  ")
	path := filepath.Join(tb.TempDir(), "fcm-service-account.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// Fail makes the next n sends answer status (429, 500, 503...), with a
// Retry-After header when retryAfter is not empty.
func (s *Server) Fail(n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, failure{status, retryAfter})
	}
}

// Unregister makes FCM answer UNREGISTERED for token from now on.
func (s *Server) Unregister(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unregistered[token] = true
}

// Received returns the messages delivered so far.
func (s *Server) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.received...)
}

// Wait returns the delivered messages once done holds for them, or fails
// the test after d.
func (s *Server) Wait(tb testing.TB, d time.Duration, what string, done func([]Received) bool) []Received {
	tb.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		s.mu.Lock()
		got, changed := append([]Received(nil), s.received...), s.changed
		s.mu.Unlock()
		if done(got) {
			return got
		}
		select {
		case <-changed:
		case <-timer.C:
			tb.Fatalf("fcmtest: %s: not within %s; received %d messages: %s", what, d, len(got), Summary(got))
			return nil
		}
	}
}

// Summary lists messages as "type→token" for failure messages.
func Summary(msgs []Received) string {
	parts := make([]string, len(msgs))
	for i, m := range msgs {
		parts[i] = m.Data["type"] + "→" + m.Token
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// OfType filters messages by their data type.
func OfType(msgs []Received, typ string) []Received {
	var out []Received
	for _, m := range msgs {
		if m.Data["type"] == typ {
			out = append(out, m)
		}
	}
	return out
}

func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// token is the OAuth 2.0 JWT-bearer exchange (RFC 7523) Google's client
// libraries do with a service-account key: the assertion must be signed
// with the key Credentials wrote.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if r.FormValue("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
		return
	}
	_, err := jwt.Parse(r.FormValue("assertion"), func(*jwt.Token) (any, error) { return &s.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(s.srv.URL+"/token"))
	if err != nil {
		http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.tokens++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, accessToken)
}

func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+accessToken {
		fcmError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "", "Request had invalid authentication credentials.", "")
		return
	}
	if r.PathValue("project") != Project {
		fcmError(w, http.StatusForbidden, "PERMISSION_DENIED", "", "SenderId mismatch", "")
		return
	}
	var req struct {
		ValidateOnly bool     `json:"validate_only"`
		Message      Received `json:"message"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Message.Token == "" {
		fcmError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Invalid JSON payload received.", "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notify()
	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		status, code := "INTERNAL", "INTERNAL"
		switch f.status {
		case http.StatusTooManyRequests:
			status, code = "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"
		case http.StatusServiceUnavailable:
			status, code = "UNAVAILABLE", "UNAVAILABLE"
		}
		fcmError(w, f.status, status, code, "fcmtest: failing on demand", f.retryAfter)
		return
	}
	if s.unregistered[req.Message.Token] {
		fcmError(w, http.StatusNotFound, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found.", "")
		return
	}
	req.Message.At = time.Now()
	s.received = append(s.received, req.Message)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"name":"projects/%s/messages/%d"}`, Project, len(s.received))
}

// fcmError writes FCM v1's error body: a google.rpc.Status with an
// FcmError detail carrying the FCM error code.
func fcmError(w http.ResponseWriter, status int, grpcStatus, fcmCode, msg, retryAfter string) {
	body := map[string]any{"code": status, "message": msg, "status": grpcStatus}
	if fcmCode != "" {
		body["details"] = []map[string]string{{
			"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcmCode,
		}}
	}
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": body})
}
