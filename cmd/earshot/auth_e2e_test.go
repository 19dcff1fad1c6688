package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/phones"
)

const demoDirectory = "../../testdata/directory/demo.yaml"

// clientFrom is an HTTP client whose connections leave from a loopback
// address of its own (127.0.0.2, ...): the server keys sign-in limits on
// the connection's address and trusts no X-Forwarded-For.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: 30 * time.Second}
}

// loginStatus signs in through client and returns the status.
func loginStatus(t *testing.T, client *http.Client, base, user, password string) int {
	t.Helper()
	resp, err := client.Post(base+"/api/v1/auth/login", "application/json",
		strings.NewReader(`{"username":"`+user+`","password":"`+password+`"}`))
	if err != nil {
		t.Error(err)
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	return resp.StatusCode
}

// The real binary: 40 wrong passwords for one user sent at once from one
// address get at most the limit (5) of 401s, the rest 429; the right
// password from another address still signs in; an unknown user's answer
// takes about as long as a known user's with a cheap hash.
func TestProcess_LoginLimits(t *testing.T) {
	app := newAppName("earshot-auth-")
	args := processArgs(t, app, filepath.Join(t.TempDir(), "earshot.db"))
	args[slices.Index(args, "--directory")+1] = demoDirectory
	p := startProcess(t, args...)

	attacker := clientFrom("127.0.0.1")
	codes := make([]int, 40)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() { codes[i] = loginStatus(t, attacker, p.url, "sara", "wrong") })
	}
	wg.Wait()
	count := map[int]int{}
	for _, c := range codes {
		count[c]++
	}
	t.Logf("40 parallel wrong sign-ins: %v", count)
	if count[http.StatusUnauthorized] > 5 || count[http.StatusUnauthorized]+count[http.StatusTooManyRequests] != 40 {
		t.Fatalf("answers %v, want at most 5×401 and the rest 429", count)
	}
	if c := loginStatus(t, attacker, p.url, "sara", "change-me"); c != http.StatusTooManyRequests {
		t.Errorf("the right password from the guessing address: %d, want 429", c)
	}
	if c := loginStatus(t, clientFrom("127.0.0.2"), p.url, "sara", "change-me"); c != http.StatusOK {
		t.Fatalf("the right password from another address: %d, want 200", c)
	}

	// alice's stored hash is bcrypt at cost 4, far cheaper than the
	// default an unknown user is checked against. Alternate the two,
	// each from its own address to stay under the limits.
	timed := func(client *http.Client, user string) time.Duration {
		start := time.Now()
		if c := loginStatus(t, client, p.url, user, "wrong"); c != http.StatusUnauthorized {
			t.Fatalf("%s: %d, want 401", user, c)
		}
		return time.Since(start)
	}
	known, unknown := clientFrom("127.0.0.3"), clientFrom("127.0.0.4")
	var kt, ut []time.Duration
	for range 4 {
		kt = append(kt, timed(known, "alice"))
		ut = append(ut, timed(unknown, "no-such-user"))
	}
	slices.Sort(kt)
	slices.Sort(ut)
	k, u := (kt[1]+kt[2])/2, (ut[1]+ut[2])/2
	t.Logf("wrong password, median of 4: known user (bcrypt cost 4) %v, unknown user %v", k, u)
	if ratio := float64(max(k, u)) / float64(min(k, u)); ratio > 5 {
		t.Errorf("known and unknown users differ %.1f×; user names can be told apart", ratio)
	}
}

// The real binary behind a reverse proxy (trusted-proxies 127.0.0.1):
// the clients the proxy forwards for have limits of their own, so one
// client's wrong passwords hold nobody else back; a host that is not the
// proxy cannot choose its address with the header.
func TestProcess_LoginLimitsBehindProxy(t *testing.T) {
	app := newAppName("earshot-auth-")
	args := processArgs(t, app, filepath.Join(t.TempDir(), "earshot.db"))
	args[slices.Index(args, "--directory")+1] = demoDirectory
	p := startProcess(t, append(args, "--trusted-proxies", "127.0.0.1")...)

	proxy, other := clientFrom("127.0.0.1"), clientFrom("127.0.0.5")
	forwarded := func(client *http.Client, forFor, password string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, p.url+"/api/v1/auth/login",
			strings.NewReader(`{"username":"sara","password":"`+password+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", forFor)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for range 5 {
		if c := forwarded(proxy, "198.51.100.7", "wrong"); c != http.StatusUnauthorized {
			t.Fatalf("wrong password through the proxy: %d, want 401", c)
		}
	}
	if c := forwarded(proxy, "198.51.100.7", "change-me"); c != http.StatusTooManyRequests {
		t.Errorf("the guessing client through the proxy: %d, want 429", c)
	}
	if c := forwarded(proxy, "198.51.100.8", "change-me"); c != http.StatusOK {
		t.Errorf("another client through the same proxy: %d, want 200", c)
	}
	for range 5 {
		if c := loginStatus(t, other, p.url, "sara", "wrong"); c != http.StatusUnauthorized {
			t.Fatalf("wrong password from 127.0.0.5: %d, want 401", c)
		}
	}
	if c := forwarded(other, "198.51.100.9", "change-me"); c != http.StatusTooManyRequests {
		t.Errorf("a host that is not the proxy naming another address: %d, want 429", c)
	}
}

// stream is an open event stream of the API; names gets each event's
// name, and closed is closed when the server ends the stream.
type stream struct {
	names  chan string
	closed chan struct{}
}

func openEvents(t *testing.T, base, token string) (*stream, int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, resp.StatusCode
	}
	s := &stream{names: make(chan string, 64), closed: make(chan struct{})}
	go func() {
		defer close(s.closed)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				select {
				case s.names <- name:
				default:
				}
			}
		}
	}()
	return s, http.StatusOK
}

// waitClosed fails unless the server ends the stream within d, and
// returns the events that came before.
func (s *stream) waitClosed(t *testing.T, d time.Duration) []string {
	t.Helper()
	select {
	case <-s.closed:
	case <-time.After(d):
		t.Fatalf("the event stream is still open after %v", d)
	}
	var out []string
	for {
		select {
		case n := <-s.names:
			out = append(out, n)
		default:
			return out
		}
	}
}

// The real binary: a password change makes older tokens fail; sign-out
// ends the token in hand only; a user may hold 5 event streams; narrowing
// a supervisor's pools closes their stream before the removed pool's next
// call reaches it.
func TestProcess_Revocation(t *testing.T) {
	h := phones.New(t)
	ctx := context.Background()
	app := newAppName("earshot-revoke-")
	args := processArgs(t, app, filepath.Join(t.TempDir(), "earshot.db"))
	args[slices.Index(args, "--directory")+1] = demoDirectory
	p := startProcess(t, args...)

	t.Run("PasswordChange", func(t *testing.T) {
		old := p.login("carol")
		p.do(old, "GET", "/api/v1/me", "", 200, nil)
		p.do(testAdminToken, "PUT", "/api/v1/admin/users/carol", `{"org":"acme","name":"Carol Agent","roles":["agent"],
			"endpoint":"Local/carol@earshot-test-phones","password":"a-new-secret"}`, 200, nil)
		p.do(old, "GET", "/api/v1/me", "", 401, nil)
		var r struct{ Token string }
		p.do("", "POST", "/api/v1/auth/login", `{"username":"carol","password":"a-new-secret"}`, 200, &r)
		p.do(r.Token, "GET", "/api/v1/me", "", 200, nil)
	})
	t.Run("Logout", func(t *testing.T) {
		a, b := p.login("sara"), p.login("sara")
		s, code := openEvents(t, p.url, a)
		if code != 200 {
			t.Fatalf("stream: %d", code)
		}
		p.do(a, "POST", "/api/v1/auth/logout", "", 204, nil)
		p.do(a, "GET", "/api/v1/me", "", 401, nil)
		s.waitClosed(t, 2*time.Second)
		p.do(b, "GET", "/api/v1/me", "", 200, nil) // another device's token
	})
	t.Run("StreamCap", func(t *testing.T) {
		tok := p.login("sara")
		for i := range 5 {
			if _, code := openEvents(t, p.url, tok); code != 200 {
				t.Fatalf("stream %d: %d", i+1, code)
			}
		}
		if _, code := openEvents(t, p.url, tok); code != http.StatusTooManyRequests {
			t.Fatalf("6th stream: %d, want 429", code)
		}
	})
	t.Run("ScopeNarrowed", func(t *testing.T) {
		// gina supervises globex; give her acme's two pools, then take
		// sales away while her stream is open.
		put := func(pools string) {
			p.do(testAdminToken, "PUT", "/api/v1/admin/users/gina", `{"org":"acme","name":"Gina","roles":["supervisor"],"pools":`+pools+`}`, 200, nil)
		}
		put(`["sales","support"]`)
		tok := p.login("gina")
		s, code := openEvents(t, p.url, tok)
		if code != 200 {
			t.Fatalf("stream: %d", code)
		}
		first, err := h.Service(ctx, phones.ServiceOpts{Pool: "sales", Agent: "alice", Via: phones.ViaDial})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case n := <-s.names:
			if n != "call_started" {
				t.Fatalf("first event %q", n)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no call_started for a call in the pool in scope")
		}
		if err := first.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		put(`["support"]`)
		if _, err := h.Service(ctx, phones.ServiceOpts{Pool: "sales", Agent: "bob", Via: phones.ViaDial}); err != nil {
			t.Fatal(err)
		}
		got := s.waitClosed(t, 5*time.Second)
		if slices.Contains(got, "call_started") {
			t.Fatalf("the removed pool's call reached the stream: %v", got)
		}
		p.do(tok, "GET", "/api/v1/me", "", 401, nil)
	})
}

// Deleting a supervisor in the middle of a session: within 2 s the
// session ends and their call is hung up, their event stream closes, and
// their token is refused.
func TestE2E_DeleteSupervisorMidSession(t *testing.T) {
	e := startE2E(t)
	ctx := context.Background()
	tok := e.withPhone("sara")
	e.serviceCall("alice")
	e.call(tok, "POST", "/api/v1/users/alice/listen", "", 201, nil)
	sup, err := e.h.Supervisor(ctx, phones.SupervisorOpts{Name: "sara", Number: "+358401234567", App: e.app})
	if err != nil {
		t.Fatal(err)
	}
	e.waitSessions(tok, 1)
	s, code := openEvents(t, e.api.URL, tok)
	if code != 200 {
		t.Fatalf("stream: %d", code)
	}

	start := time.Now()
	e.call(e.admin, "DELETE", "/api/v1/admin/users/sara", "", 204, nil)
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := sup.WaitGone(wctx, sup.SupervisorLeg); err != nil {
		t.Fatalf("the deleted supervisor's call is still up: %v", err)
	}
	t.Logf("supervisor's call gone %v after the delete", time.Since(start))
	s.waitClosed(t, 2*time.Second)
	e.call(tok, "GET", "/api/v1/me", "", 401, nil)
	phones.WaitFor(t, 2*time.Second, "the deleted supervisor's session gone", func() bool { return len(e.m.app.Sessions("sara")) == 0 })
}
