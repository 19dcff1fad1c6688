package webpush_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/directory"
	"github.com/earshot/earshot/internal/memdir"
	"github.com/earshot/earshot/push"
	"github.com/earshot/earshot/push/fcm"
	"github.com/earshot/earshot/push/fcmtest"
	"github.com/earshot/earshot/push/webpush"
)

// browser is a subscription's private side, as a browser keeps it: its
// P-256 key pair and auth secret (RFC 8291), made by the test.
type browser struct {
	key  *ecdh.PrivateKey
	auth []byte
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	return &browser{key: key, auth: auth}
}

func (b *browser) subscription(endpoint string) webpush.Subscription {
	return webpush.Subscription{
		Endpoint: endpoint,
		P256dh:   base64.RawURLEncoding.EncodeToString(b.key.PublicKey().Bytes()),
		Auth:     base64.RawURLEncoding.EncodeToString(b.auth),
	}
}

// decrypt opens an aes128gcm message (RFC 8188) encrypted for b (RFC 8291)
// the way a browser does, and returns the plain text.
func (b *browser) decrypt(body []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("body shorter than the aes128gcm header")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if len(body) < 21+idlen || idlen != 65 {
		return nil, fmt.Errorf("keyid of %d bytes, want the server's 65-byte public key", idlen)
	}
	asPublic, ciphertext := body[21:21+idlen], body[21+idlen:]
	if uint32(len(ciphertext)) > rs {
		return nil, fmt.Errorf("%d bytes of ciphertext in one record of %d", len(ciphertext), rs)
	}
	as, err := ecdh.P256().NewPublicKey(asPublic)
	if err != nil {
		return nil, err
	}
	secret, err := b.key.ECDH(as)
	if err != nil {
		return nil, err
	}
	// RFC 8291 §3.4: IKM from the ECDH secret and the auth secret.
	prkKey, err := hkdf.Extract(sha256.New, secret, b.auth)
	if err != nil {
		return nil, err
	}
	info := append(append([]byte("WebPush: info\x00"), b.key.PublicKey().Bytes()...), asPublic...)
	ikm, err := hkdf.Expand(sha256.New, prkKey, string(info), 32)
	if err != nil {
		return nil, err
	}
	// RFC 8188 §2.2, 2.3: the content encryption key and nonce.
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, ciphertext, nil)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	// The last record: data, the delimiter 2, then zero padding.
	end := bytes.LastIndexFunc(plain, func(r rune) bool { return r != 0 })
	if end < 0 || plain[end] != 2 {
		return nil, errors.New("no last-record delimiter")
	}
	return plain[:end], nil
}

// endpoint is a push service on loopback: it checks each request's VAPID
// signature (RFC 8292) against the server's public key, decrypts the
// message for the subscription it was sent to, and answers with the
// status set for that subscription (201 unless told otherwise).
type endpoint struct {
	t        *testing.T
	srv      *httptest.Server
	vapid    string // the server's public key, base64url
	browsers map[string]*browser

	mu       sync.Mutex
	status   map[string][]int // per path: the answers to give, in turn
	received []delivery
}

type delivery struct {
	path    string
	topic   string
	ttl     string
	payload push.Payload
}

func newEndpoint(t *testing.T, vapid string) *endpoint {
	e := &endpoint{t: t, vapid: vapid, browsers: map[string]*browser{}, status: map[string][]int{}}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *endpoint) serve(w http.ResponseWriter, r *http.Request) {
	if err := e.checkVAPID(r); err != nil {
		e.t.Errorf("VAPID: %v", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if r.Header.Get("Content-Encoding") != "aes128gcm" {
		e.t.Errorf("Content-Encoding %q", r.Header.Get("Content-Encoding"))
	}
	body, _ := io.ReadAll(r.Body)
	e.mu.Lock()
	defer e.mu.Unlock()
	if st := e.status[r.URL.Path]; len(st) > 0 {
		e.status[r.URL.Path] = st[1:]
		if st[0] == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "0")
		}
		w.WriteHeader(st[0])
		return
	}
	b := e.browsers[r.URL.Path]
	if b == nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	plain, err := b.decrypt(body)
	if err != nil {
		e.t.Errorf("decrypt %s: %v", r.URL.Path, err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var p push.Payload
	if err := json.Unmarshal(plain, &p); err != nil {
		e.t.Errorf("payload %q: %v", plain, err)
	}
	e.received = append(e.received, delivery{path: r.URL.Path, topic: r.Header.Get("Topic"), ttl: r.Header.Get("TTL"), payload: p})
	w.WriteHeader(http.StatusCreated)
}

// checkVAPID verifies "Authorization: vapid t=<JWT>, k=<key>": the key is
// the server's, the JWT is ES256-signed by it, for this origin, not expired.
func (e *endpoint) checkVAPID(r *http.Request) error {
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "vapid ")
	if !ok {
		return fmt.Errorf("authorization %q", r.Header.Get("Authorization"))
	}
	var tok, k string
	for part := range strings.SplitSeq(auth, ",") {
		part = strings.TrimSpace(part)
		if v, ok := strings.CutPrefix(part, "t="); ok {
			tok = v
		} else if v, ok := strings.CutPrefix(part, "k="); ok {
			k = v
		}
	}
	if k != e.vapid {
		return fmt.Errorf("k=%s, want the server's key %s", k, e.vapid)
	}
	raw, err := base64.RawURLEncoding.DecodeString(k)
	if err != nil || len(raw) != 65 {
		return fmt.Errorf("key %q", k)
	}
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(raw[1:33]), Y: new(big.Int).SetBytes(raw[33:])}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithAudience(e.srv.URL), jwt.WithExpirationRequired()); err != nil {
		return err
	}
	if sub, _ := claims["sub"].(string); !strings.HasPrefix(sub, "mailto:") && !strings.HasPrefix(sub, "https:") {
		return fmt.Errorf("sub %q", sub)
	}
	return nil
}

func (e *endpoint) deliveries() []delivery {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.received)
}

// fakeStore is the store's part: VAPID keys, subscriptions, and the
// notifier's device list (FCM tokens and Web Push endpoints).
type fakeStore struct {
	keys webpush.Keys
	mu   sync.Mutex
	subs map[string]webpush.Subscription
	devs map[string][]push.Device
}

func (s *fakeStore) VAPIDKeys(context.Context) (webpush.Keys, error) { return s.keys, nil }

func (s *fakeStore) WebPushSubscription(_ context.Context, endpoint string) (webpush.Subscription, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subs[endpoint]
	return sub, ok, nil
}

func (s *fakeStore) Devices(_ context.Context, user string) ([]push.Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.devs[user]), nil
}

func (s *fakeStore) DeleteDevice(_ context.Context, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.subs, token)
	for u, ds := range s.devs {
		s.devs[u] = slices.DeleteFunc(ds, func(d push.Device) bool { return d.Token == token })
	}
	return nil
}

func (s *fakeStore) add(user string, d push.Device, sub *webpush.Subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.devs[user] = append(s.devs[user], d)
	if sub != nil {
		s.subs[sub.Endpoint] = *sub
	}
}

func vapidKeys(t *testing.T) webpush.Keys {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return webpush.Keys{
		Public:  base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()),
		Private: base64.RawURLEncoding.EncodeToString(k.Bytes()),
	}
}

type harness struct {
	store    *fakeStore
	endpoint *endpoint
	fcm      *fcmtest.Server
	n        *push.Notifier
	offers   chan earshot.OfferEvent
	sessions chan earshot.SessionEvent
}

// start runs a notifier that sends to FCM (the fake) and Web Push (the
// local endpoint) beside each other, as earshot does.
func start(t *testing.T) *harness {
	t.Helper()
	f, err := directory.Load("../testdata/directory.yaml", "FI")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{
		store:    &fakeStore{keys: vapidKeys(t), subs: map[string]webpush.Subscription{}, devs: map[string][]push.Device{}},
		fcm:      fcmtest.New(t),
		offers:   make(chan earshot.OfferEvent, 16),
		sessions: make(chan earshot.SessionEvent, 16),
	}
	h.endpoint = newEndpoint(t, h.store.keys.Public)
	fcmSender, err := fcm.New(context.Background(), fcm.Config{
		CredentialsFile: h.fcm.Credentials(t), ProjectID: fcmtest.Project, Endpoint: h.fcm.Endpoint(),
	})
	if err != nil {
		t.Fatal(err)
	}
	web, err := webpush.New(webpush.Config{Store: h.store, Subject: "mailto:ops@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	h.n, err = push.New(push.Config{
		Sender:  push.PlatformSenders{"": fcmSender, push.PlatformWeb: web},
		Devices: h.store, Directory: memdir.New(f), SupervisingNumber: "+35891234599",
		BaseDelay: 10 * time.Millisecond, MaxDelay: time.Second, Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.n.Run(ctx, h.offers, h.sessions); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

// subscribe gives user a browser subscribed at path of the endpoint.
func (h *harness) subscribe(t *testing.T, user, path string) string {
	b := newBrowser(t)
	url := h.endpoint.srv.URL + path
	h.endpoint.browsers[path] = b
	sub := b.subscription(url)
	h.store.add(user, push.Device{Token: url, Platform: push.PlatformWeb}, &sub)
	return url
}

func (h *harness) waitStats(t *testing.T, what string, ok func(push.Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s := h.n.Stats(); !ok(s); s = h.n.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("stats = %+v, want %s", s, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func offer() earshot.OfferEvent {
	now := time.Now()
	return earshot.OfferEvent{Source: earshot.OfferSupervised, Offer: earshot.Offer{
		ID: "off1", Org: "acme", Supervisor: "sara", Agent: "alice", Pool: "sales", CallID: "1700.1",
		Code: "482913", CreatedAt: now, ExpiresAt: now.Add(2 * time.Minute),
	}}
}

// The Web Push message decrypts, with the subscription's keys, to the very
// notification the FCM path sends: same title, body, data and replace-key,
// for each kind of notification; its actions are the status's other modes.
func TestSender_SameAsFCM(t *testing.T) {
	h := start(t)
	h.store.add("sara", push.Device{Token: "sara-phone", Platform: "android"}, nil)
	h.subscribe(t, "sara", "/push/sara-browser")

	// One at a time, so both paths see them in this order.
	sent := int64(0)
	step := func(send func()) {
		send()
		sent += 2
		h.waitStats(t, fmt.Sprint(sent, " sent"), func(s push.Stats) bool { return s.Sent == sent })
	}
	ses := earshot.Session{ID: "ses1", Org: "acme", Supervisor: "sara", Agent: "alice", Pool: "sales", CallID: "1700.1", Mode: earshot.ModeListen}
	step(func() { h.offers <- offer() })
	step(func() { h.sessions <- earshot.SessionEvent{Kind: earshot.SessionStarted, Session: ses} })
	ses.Mode = earshot.ModeWhisper
	step(func() { h.sessions <- earshot.SessionEvent{Kind: earshot.SessionModeChanged, Session: ses} })
	step(func() {
		h.sessions <- earshot.SessionEvent{Kind: earshot.SessionEnded, Session: ses, Reason: earshot.EndHungUp}
	})
	step(func() { h.offers <- withdrawn() })

	fcmGot := h.fcm.Received()
	webGot := h.endpoint.deliveries()
	if len(fcmGot) != 5 || len(webGot) != 5 {
		t.Fatalf("FCM got %d, Web Push got %d; want 5 each", len(fcmGot), len(webGot))
	}
	for i, f := range fcmGot {
		w := webGot[i].payload
		if w.Type != f.Data["type"] || w.Title != f.Notification.Title || w.Body != f.Notification.Body || !maps.Equal(w.Data, f.Data) {
			t.Errorf("message %d differs:\n FCM      %q %q %v\n Web Push %q %q %v", i, f.Notification.Title, f.Notification.Body, f.Data, w.Title, w.Body, w.Data)
		}
		if w.Tag != f.Android.Notification.Tag || w.Category != f.Android.Notification.ClickAction {
			t.Errorf("message %d: tag %q category %q, FCM %q %q", i, w.Tag, w.Category, f.Android.Notification.Tag, f.Android.Notification.ClickAction)
		}
		if webGot[i].topic != webpush.Topic(w.Tag) || len(webGot[i].topic) != 32 || webGot[i].ttl == "" || webGot[i].ttl == "0" {
			t.Errorf("message %d: Topic %q TTL %q", i, webGot[i].topic, webGot[i].ttl)
		}
	}
	wantActions := [][]push.Action{
		{{ID: "listen", Title: "Listen"}},
		{{ID: "whisper", Title: "Whisper"}, {ID: "barge", Title: "Barge"}},
		{{ID: "listen", Title: "Listen"}, {ID: "barge", Title: "Barge"}},
		{}, {},
	}
	for i, want := range wantActions {
		if got := webGot[i].payload.Actions; !slices.Equal(got, want) {
			t.Errorf("message %d (%s): actions %v, want %v", i, webGot[i].payload.Type, got, want)
		}
	}
	if got := webGot[0].payload.Data["dial_uri"]; got != "tel:+35891234599,482913#" {
		t.Errorf("offer dial_uri = %q", got)
	}
	if got := webGot[3].payload.Body; got != "Alice Agent: you hung up." {
		t.Errorf("ended body = %q", got)
	}
}

func withdrawn() earshot.OfferEvent {
	ev := offer()
	ev.Withdrawn = true
	return ev
}

// A subscription the push service calls gone (410) or unknown (404) is
// removed; one refused for another reason (400) stays; 429 and 5xx are
// retried; the other subscriptions get their messages all along.
func TestSender_Pruning(t *testing.T) {
	h := start(t)
	gone := h.subscribe(t, "sara", "/push/gone")
	unknown := h.subscribe(t, "sara", "/push/unknown")
	refused := h.subscribe(t, "sara", "/push/refused")
	busy := h.subscribe(t, "sara", "/push/busy")
	h.endpoint.status["/push/gone"] = []int{http.StatusGone}
	h.endpoint.status["/push/unknown"] = []int{http.StatusNotFound}
	h.endpoint.status["/push/refused"] = []int{http.StatusBadRequest}
	h.endpoint.status["/push/busy"] = []int{http.StatusTooManyRequests, http.StatusServiceUnavailable}

	h.offers <- offer()
	h.waitStats(t, "1 sent (after retries), 2 removed, 1 refused", func(s push.Stats) bool {
		return s.Sent == 1 && s.Removed == 2 && s.Failed == 3
	})
	if s := h.n.Stats(); s.Retries != 2 {
		t.Errorf("retries = %d, want 2 (429, then 503)", s.Retries)
	}
	left, _ := h.store.Devices(context.Background(), "sara")
	var tokens []string
	for _, d := range left {
		tokens = append(tokens, d.Token)
	}
	if !slices.Equal(tokens, []string{refused, busy}) {
		t.Errorf("left %v, want %v (not %s, %s)", tokens, []string{refused, busy}, gone, unknown)
	}
	if _, ok, _ := h.store.WebPushSubscription(context.Background(), gone); ok {
		t.Error("the 410 subscription is still stored")
	}
	if d := h.endpoint.deliveries(); len(d) != 1 || d[0].path != "/push/busy" {
		t.Errorf("deliveries %+v", d)
	}
}

// A subscription no longer stored (removed meanwhile) is pruned from the
// device list without a request.
func TestSender_UnknownSubscription(t *testing.T) {
	h := start(t)
	h.store.add("sara", push.Device{Token: h.endpoint.srv.URL + "/push/forgotten", Platform: push.PlatformWeb}, nil)
	h.offers <- offer()
	h.waitStats(t, "1 removed", func(s push.Stats) bool { return s.Removed == 1 })
	if d := h.endpoint.deliveries(); len(d) != 0 {
		t.Errorf("deliveries %+v", d)
	}
}

// Corrupt keys are a permanent failure, not a retry loop.
func TestSender_BadKeys(t *testing.T) {
	h := start(t)
	url := h.subscribe(t, "sara", "/push/bad")
	h.store.mu.Lock()
	s := h.store.subs[url]
	s.P256dh = "not-a-key"
	h.store.subs[url] = s
	h.store.mu.Unlock()
	h.offers <- offer()
	h.waitStats(t, "1 failed", func(s push.Stats) bool { return s.Failed == 1 })
	if s := h.n.Stats(); s.Retries != 0 || s.Removed != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestTopic(t *testing.T) {
	for _, key := range []string{"earshot-call-1700.1", strings.Repeat("x", 200)} {
		tp := webpush.Topic(key)
		if len(tp) != 32 || strings.Trim(tp, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Errorf("Topic(%q) = %q", key, tp)
		}
	}
	if webpush.Topic("") != "" {
		t.Error("empty key has a topic")
	}
}
