package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/earshot/earshot/httpapi"
)

func TestLogin_Post(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		w := e.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "sara", "password": "secret"})
		wantStatus(t, w, http.StatusOK)
		got := decodeAs[map[string]json.RawMessage](t, w)
		for _, k := range []string{"token", "expires_at", "user", "features"} {
			if got[k] == nil {
				t.Errorf("response lacks %q: %s", k, w.Body)
			}
		}
		if string(got["expires_at"]) != `"2025-11-24T17:00:00Z"` {
			t.Errorf("expires_at = %s, want 8 h after sign-in", got["expires_at"])
		}
		if string(got["features"]) != `["supervising"]` {
			t.Errorf("features = %s", got["features"])
		}
		var tok string
		_ = json.Unmarshal(got["token"], &tok)
		header, claims := jwtParts(t, tok)
		if header["alg"] != "HS256" {
			t.Errorf("alg = %v", header["alg"])
		}
		if claims["sub"] != "sara" || claims["org"] != "acme" || claims["iat"] != float64(t0.Unix()) ||
			claims["exp"] != float64(t0.Add(httpapi.DefaultTokenTTL).Unix()) {
			t.Errorf("claims = %v", claims)
		}
		if !slices.Equal(toStrings(claims["roles"]), []string{"supervisor"}) || !slices.Equal(toStrings(claims["features"]), []string{"supervising"}) {
			t.Errorf("roles, features = %v, %v", claims["roles"], claims["features"])
		}
	})
	t.Run("ErrWrongCredentials", func(t *testing.T) {
		// An unknown user and a wrong password look the same.
		e := newEnv(t)
		a := e.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "sara", "password": "wrong"})
		b := e.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "nobody", "password": "secret"})
		pa, pb := wantProblem(t, a, http.StatusUnauthorized), wantProblem(t, b, http.StatusUnauthorized)
		if pa.Detail != pb.Detail || pa.Type != pb.Type || a.Header().Get("WWW-Authenticate") != b.Header().Get("WWW-Authenticate") {
			t.Errorf("answers differ: %+v vs %+v", pa, pb)
		}
	})
	t.Run("ErrNoPasswordHash", func(t *testing.T) {
		e := newEnv(t)
		u := e.store.users["carl"]
		u.PasswordHash = ""
		e.store.users["carl"] = u
		wantProblem(t, e.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "carl", "password": ""}), http.StatusUnprocessableEntity)
		wantProblem(t, e.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "carl", "password": "x"}), http.StatusUnauthorized)
	})
	t.Run("ErrMissingFields", func(t *testing.T) {
		e := newEnv(t)
		p := wantProblem(t, e.do("POST", "/api/v1/auth/login", "", `{}`), http.StatusUnprocessableEntity)
		if len(p.Errors) != 2 || p.Errors[0].Field != "username" || p.Errors[1].Field != "password" {
			t.Errorf("errors = %+v", p.Errors)
		}
	})
}

// loginFrom signs in from a remote address ("198.51.100.7:1").
func loginFrom(e *env, addr, user, password string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "/api/v1/auth/login",
		strings.NewReader(`{"username":"`+user+`","password":"`+password+`"}`))
	r.Header.Set("Content-Type", "application/json")
	r.RemoteAddr = addr
	w := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(w, r)
	return w
}

func TestLogin_RateLimit(t *testing.T) {
	login := loginFrom
	t.Run("PerUserAndAddress", func(t *testing.T) {
		e := newEnv(t)
		for range 5 {
			wantStatus(t, login(e, "198.51.100.7:1", "sara", "wrong"), http.StatusUnauthorized)
		}
		e.clock.Advance(time.Minute)
		w := login(e, "198.51.100.7:2", "sara", "secret")
		wantProblem(t, w, http.StatusTooManyRequests)
		if got := w.Header().Get("Retry-After"); got != "240" {
			t.Errorf("Retry-After = %q, want 240", got)
		}
		// The same address may still sign in as someone else.
		wantStatus(t, login(e, "198.51.100.7:1", "sam", "secret"), http.StatusOK)
		e.clock.Advance(4 * time.Minute)
		wantStatus(t, login(e, "198.51.100.7:1", "sara", "secret"), http.StatusOK)
	})
	t.Run("NoLockOutFromElsewhere", func(t *testing.T) {
		// Five addresses guessing sara's password do not lock her out.
		e := newEnv(t)
		for i := range 5 {
			for range 5 {
				wantStatus(t, login(e, fmt.Sprintf("198.51.100.%d:1", i+1), "sara", "wrong"), http.StatusUnauthorized)
			}
			wantProblem(t, login(e, fmt.Sprintf("198.51.100.%d:1", i+1), "sara", "wrong"), http.StatusTooManyRequests)
		}
		wantStatus(t, login(e, "203.0.113.9:1", "sara", "secret"), http.StatusOK)
	})
	t.Run("PerUserCeiling", func(t *testing.T) {
		// Past 100 failures from anywhere the user is refused everywhere
		// (each address within its own limit).
		e := newEnv(t)
		for i := range 20 {
			for range 5 {
				wantStatus(t, login(e, fmt.Sprintf("198.51.%d.1:1", 100+i), "sara", "wrong"), http.StatusUnauthorized)
			}
		}
		wantProblem(t, login(e, "203.0.113.9:1", "sara", "secret"), http.StatusTooManyRequests)
		wantStatus(t, login(e, "203.0.113.9:1", "sam", "secret"), http.StatusOK)
	})
	t.Run("PerAddress", func(t *testing.T) {
		e := newEnv(t)
		// Known users keep the test fast: the per-user-and-address
		// limit (5) trips before the address's (20) unless the names vary.
		users := []string{"sam", "nora", "alice", "bob", "carl"}
		for i := range 20 {
			wantStatus(t, login(e, "198.51.100.7:1", users[i%5], "guess"), http.StatusUnauthorized)
		}
		wantProblem(t, login(e, "198.51.100.7:2", "sara", "secret"), http.StatusTooManyRequests)
		wantStatus(t, login(e, "198.51.100.8:1", "sara", "secret"), http.StatusOK)
	})
	t.Run("IPv6CountsBy64", func(t *testing.T) {
		e := newEnv(t)
		for i := range 5 {
			wantStatus(t, login(e, fmt.Sprintf("[2001:db8:1:2::%x]:1", i+1), "sara", "wrong"), http.StatusUnauthorized)
		}
		wantProblem(t, login(e, "[2001:db8:1:2::ffff]:1", "sara", "secret"), http.StatusTooManyRequests)
		wantStatus(t, login(e, "[2001:db8:1:3::1]:1", "sara", "secret"), http.StatusOK)
	})
	t.Run("SuccessResets", func(t *testing.T) {
		// A successful sign-in clears this address's count for the user.
		e := newEnv(t)
		for range 4 {
			wantStatus(t, login(e, "198.51.100.7:1", "sara", "wrong"), http.StatusUnauthorized)
		}
		wantStatus(t, login(e, "198.51.100.7:1", "sara", "secret"), http.StatusOK)
		for range 5 {
			wantStatus(t, login(e, "198.51.100.7:1", "sara", "wrong"), http.StatusUnauthorized)
		}
		wantProblem(t, login(e, "198.51.100.7:1", "sara", "wrong"), http.StatusTooManyRequests)
	})
	t.Run("Parallel", func(t *testing.T) {
		// 40 wrong passwords at once: the limit is charged before the
		// check, so exactly 5 are checked and the rest refused.
		e := newEnv(t)
		codes := make(chan int, 40)
		var wg sync.WaitGroup
		for range 40 {
			wg.Go(func() { codes <- login(e, "198.51.100.7:1", "sara", "wrong").Code })
		}
		wg.Wait()
		close(codes)
		got := map[int]int{}
		for c := range codes {
			got[c]++
		}
		if got[http.StatusUnauthorized] != 5 || got[http.StatusTooManyRequests] != 35 {
			t.Fatalf("answers = %v, want 5×401 and 35×429", got)
		}
		wantStatus(t, login(e, "198.51.100.8:1", "sara", "secret"), http.StatusOK)
	})
	t.Run("ForwardedForIgnored", func(t *testing.T) {
		e := newEnv(t)
		for range 5 {
			wantStatus(t, login(e, "198.51.100.7:1", "sara", "guess"), http.StatusUnauthorized)
		}
		r := httptest.NewRequest("POST", "/api/v1/auth/login", strings.NewReader(`{"username":"sara","password":"secret"}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Forwarded-For", "192.0.2.77")
		r.RemoteAddr = "198.51.100.7:1"
		w := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(w, r)
		wantProblem(t, w, http.StatusTooManyRequests)
	})
}

// loginVia signs in through a proxy at peer that forwards for xff.
func loginVia(e *env, peer, xff, user, password string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "/api/v1/auth/login",
		strings.NewReader(`{"username":"`+user+`","password":"`+password+`"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Forwarded-For", xff)
	r.RemoteAddr = peer
	w := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(w, r)
	return w
}

func TestLogin_BehindTrustedProxy(t *testing.T) {
	// Behind a reverse proxy every request comes from the proxy: with it
	// named, each client has its own limit, one client's wrong passwords
	// lock out no one else, and nobody picks their own address.
	_, proxy, _ := net.ParseCIDR("127.0.0.1/32")
	_, lan, _ := net.ParseCIDR("10.0.0.0/8")
	newProxied := func(t *testing.T) *env {
		return newEnv(t, func(c *httpapi.Config) { c.TrustedProxies = []*net.IPNet{proxy, lan} })
	}
	t.Run("EachClientItsOwnLimit", func(t *testing.T) {
		e := newProxied(t)
		for range 5 {
			wantStatus(t, loginVia(e, "127.0.0.1:40000", "198.51.100.7", "sara", "wrong"), http.StatusUnauthorized)
		}
		wantProblem(t, loginVia(e, "127.0.0.1:40001", "198.51.100.7", "sara", "secret"), http.StatusTooManyRequests)
		wantStatus(t, loginVia(e, "127.0.0.1:40002", "198.51.100.8", "sara", "secret"), http.StatusOK)
	})
	t.Run("ForgedLeftEntriesIgnored", func(t *testing.T) {
		// A client writes its own X-Forwarded-For; the proxy appends the
		// address it saw. The right-most untrusted entry counts, and a
		// trusted hop (10.0.0.5, an inner proxy) is skipped.
		e := newProxied(t)
		for range 5 {
			wantStatus(t, loginVia(e, "127.0.0.1:40000", "198.51.100.7", "sara", "wrong"), http.StatusUnauthorized)
		}
		for _, xff := range []string{"203.0.113.9, 198.51.100.7", "203.0.113.10, 198.51.100.7, 10.0.0.5"} {
			wantProblem(t, loginVia(e, "127.0.0.1:40001", xff, "sara", "secret"), http.StatusTooManyRequests)
		}
	})
	t.Run("UntrustedPeerCannotForge", func(t *testing.T) {
		// A client reaching the server directly is its TCP address,
		// whatever X-Forwarded-For it sends.
		e := newProxied(t)
		for range 5 {
			wantStatus(t, loginFrom(e, "198.51.100.7:1", "sara", "wrong"), http.StatusUnauthorized)
		}
		for _, xff := range []string{"198.51.100.99", "127.0.0.1", "garbage"} {
			wantProblem(t, loginVia(e, "198.51.100.7:1", xff, "sara", "secret"), http.StatusTooManyRequests)
		}
		// Nor is a host on a private network a proxy unless named.
		for range 5 {
			wantStatus(t, loginFrom(e, "192.168.1.20:1", "sara", "wrong"), http.StatusUnauthorized)
		}
		wantProblem(t, loginVia(e, "192.168.1.20:1", "198.51.100.50", "sara", "secret"), http.StatusTooManyRequests)
	})
	t.Run("UnreadableHeaderCountsTheProxy", func(t *testing.T) {
		// An entry that is not an address: nothing in the header can be
		// trusted, so the attempt counts against the proxy itself.
		e := newProxied(t)
		for range 5 {
			wantStatus(t, loginVia(e, "127.0.0.1:40000", "198.51.100.7, not-an-address", "sara", "wrong"), http.StatusUnauthorized)
		}
		wantProblem(t, loginFrom(e, "127.0.0.1:40001", "sara", "secret"), http.StatusTooManyRequests)
		wantStatus(t, loginVia(e, "127.0.0.1:40002", "198.51.100.7", "sara", "secret"), http.StatusOK)
	})
}

func TestLogin_Busy(t *testing.T) {
	// Every password-check slot taken and the waiting room full: the
	// next sign-in is told to come back rather than queued, and is not
	// charged to the limit.
	e := newEnv(t)
	release := httpapi.FillPasswordChecks(e.srv)
	w := loginFrom(e, "198.51.100.7:1", "sara", "secret")
	wantProblem(t, w, http.StatusServiceUnavailable)
	if w.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	release()
	for range 5 {
		wantStatus(t, loginFrom(e, "198.51.100.7:1", "sara", "wrong"), http.StatusUnauthorized)
	}
}

func TestLogin_UnknownUserChecksAHash(t *testing.T) {
	// An unknown user and a user without a usable hash cost one password
	// check each, as a wrong password does: counted by the gate.
	e := newEnv(t)
	u := e.store.users["carl"]
	u.PasswordHash = "$1$not-a-hash"
	e.store.users["carl"] = u
	for _, user := range []string{"nobody", "carl", "sara"} {
		before := httpapi.PasswordChecks(e.srv)
		wantStatus(t, loginFrom(e, "198.51.100.7:1", user, "wrong"), http.StatusUnauthorized)
		if got := httpapi.PasswordChecks(e.srv) - before; got != 1 {
			t.Errorf("%s: %d password checks, want 1", user, got)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	e := newEnv(t)
	good := e.token("sara")
	forged, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "sara", "org": "acme", "roles": []string{"supervisor"}, "features": []string{"supervising"},
		"iss": "earshot", "iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix(),
	}).SignedString([]byte("another key, another key, another key"))
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{
		"sub": "sara", "org": "acme", "iss": "earshot", "iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix(),
	}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	cases := []struct {
		name, header string
	}{
		{"NoHeader", ""},
		{"NotBearer", "Basic c2FyYTpzZWNyZXQ="},
		{"EmptyBearer", "Bearer "},
		{"Garbage", "Bearer not-a-jwt"},
		{"ForgedKey", "Bearer " + forged},
		{"AlgNone", "Bearer " + none},
		{"AdminTokenIsNoUserToken", "Bearer " + adminToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/v1/me", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			w := httptest.NewRecorder()
			e.srv.Handler().ServeHTTP(w, r)
			wantProblem(t, w, http.StatusUnauthorized)
			if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", w.Header().Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("OK", func(t *testing.T) {
		wantStatus(t, e.do("GET", "/api/v1/me", good, nil), http.StatusOK)
	})
	t.Run("ErrExpired", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token("sara")
		e.clock.Advance(httpapi.DefaultTokenTTL + time.Second)
		wantProblem(t, e.do("GET", "/api/v1/me", tok, nil), http.StatusUnauthorized)
	})
	t.Run("ErrUserGone", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token("sara")
		delete(e.store.users, "sara")
		wantProblem(t, e.do("GET", "/api/v1/me", tok, nil), http.StatusUnauthorized)
	})
}

func TestMe_Get(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		w := e.do("GET", "/api/v1/me", e.token("sara"), nil)
		wantStatus(t, w, http.StatusOK)
		wantJSON(t, w, `{"user":{"id":"sara","org":"acme","name":"Sara","roles":["supervisor"],"phone_number":"+358401234567"},
			"features":["supervising"],"expires_at":"2025-11-24T17:00:00Z"}`)
	})
	t.Run("Agent", func(t *testing.T) {
		e := newEnv(t)
		w := e.do("GET", "/api/v1/me", e.token("carl"), nil)
		wantStatus(t, w, http.StatusOK)
		wantJSON(t, w, `{"user":{"id":"carl","org":"acme","name":"Carl","roles":["agent"],"phone_number":null},
			"features":["supervising"],"expires_at":"2025-11-24T17:00:00Z"}`)
	})
}

// TestFeature_R1 walks R1: the feature reaches a supervisor only with a
// new sign-in, and leaves everyone at once.
func TestFeature_R1(t *testing.T) {
	e := newEnv(t)
	admin := func(method string) {
		t.Helper()
		wantStatus(t, e.do(method, "/api/v1/admin/orgs/acme/features/supervising", adminToken, nil), http.StatusNoContent)
	}
	admin("DELETE")
	if ended := e.super.endedList(); !slices.Equal(ended, []string{"ses-sara feature_off"}) {
		t.Fatalf("sessions ended = %v", ended)
	}

	// Signed in while off: no feature in the token, supervising denied.
	old := e.token("sara")
	if _, claims := jwtParts(t, old); len(toStrings(claims["features"])) != 0 {
		t.Fatalf("token features = %v, want none", claims["features"])
	}
	p := wantProblem(t, e.do("GET", "/api/v1/pools", old, nil), http.StatusForbidden)
	if p.Type != "https://earshot.dev/problems/feature-off" {
		t.Errorf("type = %s", p.Type)
	}

	// Enabled: the old token still lacks it.
	admin("PUT")
	p = wantProblem(t, e.do("GET", "/api/v1/pools", old, nil), http.StatusForbidden)
	if !strings.Contains(p.Detail, "sign out and in again") {
		t.Errorf("detail = %q", p.Detail)
	}
	wantJSON(t, e.do("GET", "/api/v1/me", old, nil), `{"user":{"id":"sara","org":"acme","name":"Sara","roles":["supervisor"],
		"phone_number":"+358401234567"},"features":[],"expires_at":"2025-11-24T17:00:00Z"}`)

	// A new sign-in gets it.
	fresh := e.token("sara")
	wantStatus(t, e.do("GET", "/api/v1/pools", fresh, nil), http.StatusOK)

	// Disabled: denied at once, token or not; /me stops listing it.
	admin("DELETE")
	for _, path := range []string{"/api/v1/pools", "/api/v1/supervising/sessions", "/api/v1/events"} {
		wantProblem(t, e.do("GET", path, fresh, nil), http.StatusForbidden)
	}
	wantStatus(t, e.do("POST", "/api/v1/users/alice/listen", fresh, nil), http.StatusForbidden)
	if got := decodeAs[struct{ Features []string }](t, e.do("GET", "/api/v1/me", fresh, nil)).Features; len(got) != 0 {
		t.Errorf("me features = %v, want none", got)
	}
	// Other organizations keep it.
	wantStatus(t, e.do("GET", "/api/v1/pools", e.token("gus"), nil), http.StatusOK)
}

func jwtParts(t *testing.T, tok string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWS", tok)
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
