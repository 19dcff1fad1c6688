package httpapi_test

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/httpapi"
	"github.com/earshot/earshot/push"
)

// fakeWebPush is the store's Web Push part.
type fakeWebPush struct {
	mu      sync.Mutex
	key     string
	created time.Time
	subs    map[string][4]string // id → user, endpoint, p256dh, auth
}

func newFakeWebPush() *fakeWebPush {
	return &fakeWebPush{key: "BKey1", created: t0, subs: map[string][4]string{}}
}

func (f *fakeWebPush) VAPIDKey(context.Context) (string, time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.key, f.created, nil
}

func (f *fakeWebPush) RotateVAPIDKey(context.Context) (string, time.Time, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.subs)
	f.subs = map[string][4]string{}
	f.key += "x"
	f.created = f.created.Add(time.Hour)
	return f.key, f.created, n, nil
}

func (f *fakeWebPush) PutWebPushSubscription(_ context.Context, user, endpoint, p256dh, auth string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := base64.RawURLEncoding.EncodeToString([]byte(endpoint))[:8]
	if old, ok := f.subs[id]; ok && old[0] != user {
		return "", earshot.Errorf(earshot.ECONFLICT, "taken")
	}
	f.subs[id] = [4]string{user, endpoint, p256dh, auth}
	return id, nil
}

func (f *fakeWebPush) DeleteWebPushSubscription(_ context.Context, user, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.subs[id]; !ok || s[0] != user {
		return earshot.Errorf(earshot.ENOTFOUND, "no subscription %q", id)
	}
	delete(f.subs, id)
	return nil
}

// statusMessage is a supervising status notification for sara, as the
// notifier makes it.
func statusMessage() push.Message {
	return push.Message{
		Type: push.TypeSupervisingStatus, Title: "Supervising Alice: listen", Body: "Listening. Neither the agent nor the customer hears you.",
		Key: push.Key("call-a"), Category: push.StatusCategory(earshot.ModeListen),
		Data: map[string]string{"type": push.TypeSupervisingStatus, "session_id": "ses-sara", "agent_id": "alice", "agent_name": "Alice",
			"pool_id": "sales", "pool_name": "Sales", "mode": "listen", "actions": "whisper,barge"},
	}
}

// browserKeys is a valid p256dh and auth, as a browser makes them.
func browserKeys(t *testing.T) (string, string) {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	return base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()), base64.RawURLEncoding.EncodeToString(auth)
}

func subscription(endpoint, p256dh, auth string) map[string]any {
	return map[string]any{"endpoint": endpoint, "expirationTime": nil, "keys": map[string]string{"p256dh": p256dh, "auth": auth}}
}

func TestWebPush_Key(t *testing.T) {
	e := newEnv(t)
	w := e.do("GET", "/api/v1/webpush/key", e.token("sara"), nil)
	wantStatus(t, w, http.StatusOK)
	if got := decodeAs[struct {
		PublicKey string `json:"public_key"`
	}](t, w).PublicKey; got != "BKey1" {
		t.Errorf("key %q", got)
	}
	// Agents and the signed-out get nothing.
	wantProblem(t, e.do("GET", "/api/v1/webpush/key", "", nil), http.StatusUnauthorized)
	wantProblem(t, e.do("GET", "/api/v1/webpush/key", e.token("alice"), nil), http.StatusForbidden)
}

func TestWebPush_Off(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) { c.WebPush = nil })
	tok := e.token("sara")
	p256dh, auth := browserKeys(t)
	wantProblem(t, e.do("GET", "/api/v1/webpush/key", tok, nil), http.StatusNotFound)
	wantProblem(t, e.do("POST", "/api/v1/webpush/subscriptions", tok, subscription("https://push.example.com/x", p256dh, auth)), http.StatusNotFound)
	wantProblem(t, e.do("DELETE", "/api/v1/webpush/subscriptions/abc", tok, nil), http.StatusNotFound)
	wantProblem(t, e.do("GET", "/api/v1/admin/webpush/vapid", adminToken, nil), http.StatusNotFound)
}

func TestWebPush_Subscribe(t *testing.T) {
	p256dh, auth := browserKeys(t)
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token("sara")
		w := e.do("POST", "/api/v1/webpush/subscriptions", tok, subscription("https://fcm.googleapis.com/fcm/send/abc:def", p256dh, auth))
		wantStatus(t, w, http.StatusCreated)
		id := decodeAs[struct{ ID string }](t, w).ID
		if got := e.webPush.subs[id]; got != [4]string{"sara", "https://fcm.googleapis.com/fcm/send/abc:def", p256dh, auth} {
			t.Fatalf("stored %v", got)
		}
		// Again: the same id. Padded base64 is accepted too.
		w = e.do("POST", "/api/v1/webpush/subscriptions", tok, subscription("https://fcm.googleapis.com/fcm/send/abc:def", p256dh+"=", auth+"=="))
		wantStatus(t, w, http.StatusCreated)
		if again := decodeAs[struct{ ID string }](t, w).ID; again != id {
			t.Errorf("id %q then %q", id, again)
		}
		// Another user cannot take it, nor remove it.
		wantProblem(t, e.do("POST", "/api/v1/webpush/subscriptions", e.token("sam"), subscription("https://fcm.googleapis.com/fcm/send/abc:def", p256dh, auth)), http.StatusConflict)
		wantProblem(t, e.do("DELETE", "/api/v1/webpush/subscriptions/"+id, e.token("sam"), nil), http.StatusNotFound)
		wantStatus(t, e.do("DELETE", "/api/v1/webpush/subscriptions/"+id, tok, nil), http.StatusNoContent)
		wantProblem(t, e.do("DELETE", "/api/v1/webpush/subscriptions/"+id, tok, nil), http.StatusNotFound)
	})
	t.Run("Invalid", func(t *testing.T) {
		for _, tc := range []struct {
			name, endpoint, p256dh, auth, field string
		}{
			{"http", "http://push.example.com/x", p256dh, auth, "endpoint"},
			{"empty endpoint", "", p256dh, auth, "endpoint"},
			{"huge endpoint", "https://push.example.com/" + strings.Repeat("x", 3000), p256dh, auth, "endpoint"},
			{"loopback", "https://127.0.0.1/x", p256dh, auth, "endpoint"},
			{"ipv6", "https://[::1]:8443/x", p256dh, auth, "endpoint"},
			{"localhost", "https://localhost/x", p256dh, auth, "endpoint"},
			{"local name", "https://intranet/x", p256dh, auth, "endpoint"},
			{"credentials", "https://u:p@push.example.com/x", p256dh, auth, "endpoint"},
			{"not a url", "https://%zz", p256dh, auth, "endpoint"},
			{"p256dh not base64", "https://push.example.com/x", "!!!", auth, "keys.p256dh"},
			{"p256dh not a point", "https://push.example.com/x", base64.RawURLEncoding.EncodeToString(make([]byte, 65)), auth, "keys.p256dh"},
			{"p256dh empty", "https://push.example.com/x", "", auth, "keys.p256dh"},
			{"auth short", "https://push.example.com/x", p256dh, "AAAA", "keys.auth"},
			{"auth empty", "https://push.example.com/x", p256dh, "", "keys.auth"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t)
				p := wantProblem(t, e.do("POST", "/api/v1/webpush/subscriptions", e.token("sara"), subscription(tc.endpoint, tc.p256dh, tc.auth)), http.StatusUnprocessableEntity)
				if len(p.Errors) != 1 || p.Errors[0].Field != tc.field {
					t.Errorf("errors %+v, want one for %s", p.Errors, tc.field)
				}
				if len(e.webPush.subs) != 0 {
					t.Error("stored")
				}
			})
		}
	})
	t.Run("UnknownField", func(t *testing.T) {
		e := newEnv(t)
		body := `{"endpoint":"https://push.example.com/x","keys":{"p256dh":"` + p256dh + `","auth":"` + auth + `"},"evil":1}`
		wantProblem(t, e.do("POST", "/api/v1/webpush/subscriptions", e.token("sara"), body), http.StatusBadRequest)
	})
}

func TestWebPush_AdminVAPID(t *testing.T) {
	e := newEnv(t)
	p256dh, auth := browserKeys(t)
	wantStatus(t, e.do("POST", "/api/v1/webpush/subscriptions", e.token("sara"), subscription("https://push.example.com/a", p256dh, auth)), http.StatusCreated)
	wantProblem(t, e.do("GET", "/api/v1/admin/webpush/vapid", "wrong", nil), http.StatusUnauthorized)
	wantProblem(t, e.do("POST", "/api/v1/admin/webpush/vapid/rotate", e.token("sara"), nil), http.StatusUnauthorized)
	w := e.do("GET", "/api/v1/admin/webpush/vapid", adminToken, nil)
	wantStatus(t, w, http.StatusOK)
	var v struct {
		PublicKey string    `json:"public_key"`
		CreatedAt time.Time `json:"created_at"`
		Removed   *int      `json:"subscriptions_removed"`
	}
	json.Unmarshal(w.Body.Bytes(), &v)
	if v.PublicKey != "BKey1" || !v.CreatedAt.Equal(t0) || v.Removed != nil {
		t.Errorf("vapid %+v", v)
	}
	w = e.do("POST", "/api/v1/admin/webpush/vapid/rotate", adminToken, nil)
	wantStatus(t, w, http.StatusOK)
	json.Unmarshal(w.Body.Bytes(), &v)
	if v.PublicKey == "BKey1" || v.Removed == nil || *v.Removed != 1 || len(e.webPush.subs) != 0 {
		t.Errorf("after rotate %+v, subs %v", v, e.webPush.subs)
	}
}

// A notification reaches its own user's streams, in the notifier's words
// and with its actions, and nobody else's.
func TestEvents_Notification(t *testing.T) {
	e := newEnv(t)
	ts := newStreamServer(t, e)
	sara := openStream(t, ts, e.token("sara"))
	sam := openStream(t, ts, e.token("sam"))
	m := statusMessage()
	e.notes.Publish(push.Note{User: "sam", Message: m})
	e.notes.Publish(push.Note{User: "sara", Message: m})
	ev := nextEvent(t, sara, "notification")
	var p push.Payload
	if err := json.Unmarshal([]byte(ev.data), &p); err != nil {
		t.Fatal(err)
	}
	if p.Title != m.Title || p.Body != m.Body || p.Tag != m.Key || p.Data["session_id"] != "ses-sara" ||
		len(p.Actions) != 2 || p.Actions[0] != (push.Action{ID: "whisper", Title: "Whisper"}) {
		t.Errorf("payload %+v", p)
	}
	// sam got his own, once.
	nextEvent(t, sam, "notification")
	select {
	case ev := <-sam:
		if ev.name == "notification" {
			t.Errorf("sam got sara's notification too")
		}
	case <-time.After(100 * time.Millisecond):
	}
}

// nextEvent returns the next event named name, skipping comments.
func nextEvent(t *testing.T, events <-chan sseEvent, name string) sseEvent {
	t.Helper()
	deadline := time.After(3 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("stream ended before %s", name)
			}
			if ev.name == name {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event", name)
		}
	}
}

// The validator reads these console files as opaque bytes, as it does
// JavaScript and CSS.
func init() {
	for _, ctype := range []string{"image/svg+xml", "image/png", "application/manifest+json"} {
		openapi3filter.RegisterBodyDecoder(ctype, openapi3filter.FileBodyDecoder)
	}
}

// The console is installable: the service worker may control / (it lives
// under /console/), and the manifest and icons have their types.
func TestConsole_Installable(t *testing.T) {
	e := newEnv(t)
	w := e.do("GET", "/console/sw.js", "", nil)
	wantStatus(t, w, http.StatusOK)
	if got := w.Header().Get("Service-Worker-Allowed"); got != "/" {
		t.Errorf("Service-Worker-Allowed %q", got)
	}
	for file, ctype := range map[string]string{
		"manifest.webmanifest": "application/manifest+json", "icon-192.png": "image/png",
		"icon-512.png": "image/png", "icon.svg": "image/svg+xml", "notify.mjs": "text/javascript; charset=utf-8",
	} {
		w := e.do("GET", "/console/"+file, "", nil)
		wantStatus(t, w, http.StatusOK)
		if got := w.Header().Get("Content-Type"); got != ctype {
			t.Errorf("%s: Content-Type %q, want %q", file, got, ctype)
		}
		if w.Header().Get("Service-Worker-Allowed") != "" {
			t.Errorf("%s may control /", file)
		}
	}
	var m struct {
		StartURL string `json:"start_url"`
		Display  string `json:"display"`
		Icons    []struct{ Src, Sizes string }
	}
	if err := json.Unmarshal(e.do("GET", "/console/manifest.webmanifest", "", nil).Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m.StartURL != "/" || m.Display != "standalone" || len(m.Icons) < 3 {
		t.Errorf("manifest %+v", m)
	}
	for _, icon := range m.Icons {
		wantStatus(t, e.do("GET", icon.Src, "", nil), http.StatusOK)
	}
}
