package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/logbuf"
	"github.com/earshot/earshot/internal/phones"
	"github.com/earshot/earshot/internal/sandbox"
)

// freeAddr returns a loopback address nothing listens on (just now).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// running is earshot's run in this process, on a free API address.
type running struct {
	url  string
	logs *logbuf.Buffer
	stop func() error // cancels and returns run's error
}

// startRun runs earshot in-process with args (no Asterisk needed: it
// starts without one) and waits until /healthz answers.
func startRun(t *testing.T, args ...string) *running {
	t.Helper()
	addr := freeAddr(t)
	r := &running{url: "http://" + addr, logs: &logbuf.Buffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	base := []string{"--db", filepath.Join(t.TempDir(), "e.db"), "--supervising-number", "+35891234599",
		"--directory", "../../testdata/directory/demo.yaml", "--http-addr", addr}
	go func() { done <- run(ctx, append(base, args...), envOf(nil), io.Discard, r.logs) }()
	var stopped bool
	var err error
	r.stop = func() error {
		if !stopped {
			cancel()
			err, stopped = <-done, true
		}
		return err
	}
	t.Cleanup(func() {
		r.stop()
		if t.Failed() {
			t.Logf("earshot log:\n%s", r.logs)
		}
	})
	waitHealthy(t, r.url, done)
	return r
}

// waitHealthy waits until /healthz answers 200, failing early if exited
// says the program ended.
func waitHealthy(t *testing.T, url string, exited <-chan error) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("earshot ended before answering /healthz: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("/healthz does not answer within 15 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type readyJSON struct {
	Ready  bool              `json:"ready"`
	Checks map[string]string `json:"checks"`
}

// get makes a GET with an optional bearer token; it returns status and body.
func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// Earshot pointed at an Asterisk that is not there starts anyway: alive,
// not ready with the reason, signing in and reads work (marked stale),
// actions that need Asterisk answer 503, and the log says what it waits
// for. It stops cleanly while still waiting.
func TestRun_StartsWithoutAsterisk(t *testing.T) {
	ari := freeAddr(t)
	r := startRun(t, "--ari-url", "http://"+ari, "--ari-password", "x")
	var ready readyJSON
	apiRequest(t, r.url, "", "GET", "/readyz", "", http.StatusServiceUnavailable, &ready)
	if ready.Ready || ready.Checks["store"] != "ok" ||
		!strings.Contains(ready.Checks["ari"], "waiting for Asterisk") || !strings.Contains(ready.Checks["ari"], ari) {
		t.Errorf("readyz = %+v, want not ready, naming Asterisk's address", ready)
	}
	var login struct {
		Token string `json:"token"`
	}
	apiRequest(t, r.url, "", "POST", "/api/v1/auth/login", `{"username":"sara","password":"change-me"}`, 200, &login)
	var v poolView
	apiRequest(t, r.url, login.Token, "GET", "/api/v1/pools/sales/users", "", 200, &v)
	if !v.Stale || v.StaleReason == "" || len(v.Users) == 0 {
		t.Errorf("pool users view = %+v, want the users, marked stale with a reason", v)
	}
	apiRequest(t, r.url, login.Token, "POST", "/api/v1/users/alice/listen", "", http.StatusServiceUnavailable, nil)

	phones.WaitFor(t, 5*time.Second, "the log line saying what earshot waits for", func() bool {
		return strings.Contains(r.logs.String(), "waiting for Asterisk") && strings.Contains(r.logs.String(), "http://"+ari+"/ari")
	})
	if err := r.stop(); err != nil {
		t.Fatalf("run: %v, want a clean stop", err)
	}
}

// /metrics on the API's address asks for the admin token by default.
func TestRun_MetricsBehindAdminToken(t *testing.T) {
	r := startRun(t, "--ari-url", "http://"+freeAddr(t), "--admin-token", longToken)
	if code, _ := get(t, r.url+"/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("without the token: %d, want 401", code)
	}
	if code, _ := get(t, r.url+"/metrics", longToken+"x"); code != http.StatusUnauthorized {
		t.Errorf("with a wrong token: %d, want 401", code)
	}
	code, body := get(t, r.url+"/metrics", longToken)
	if code != http.StatusOK || !strings.Contains(body, "earshot_ari_up 0") {
		t.Errorf("with the token: %d %.200s, want the metrics with earshot_ari_up 0", code, body)
	}

	// Open when asked; absent with no admin token to ask for.
	open := startRun(t, "--ari-url", "http://"+freeAddr(t), "--metrics-auth=false")
	if code, body := get(t, open.url+"/metrics", ""); code != http.StatusOK || !strings.Contains(body, "earshot_ari_up") {
		t.Errorf("metrics-auth=false: %d, want 200", code)
	}
	none := startRun(t, "--ari-url", "http://"+freeAddr(t))
	if code, _ := get(t, none.url+"/metrics", ""); code != http.StatusNotFound {
		t.Errorf("no admin token: %d, want 404", code)
	}
}

// With metrics-addr, /metrics is served there without credentials, and
// no longer on the API's address.
func TestRun_MetricsOwnAddress(t *testing.T) {
	maddr := freeAddr(t)
	r := startRun(t, "--ari-url", "http://"+freeAddr(t), "--admin-token", longToken, "--metrics-addr", maddr)
	var code int
	var body string
	phones.WaitFor(t, 5*time.Second, "metrics on their own address", func() bool {
		resp, err := http.Get("http://" + maddr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		code, body = resp.StatusCode, string(b)
		return true
	})
	if code != http.StatusOK || !strings.Contains(body, "earshot_ari_up 0") || !strings.Contains(body, "go_goroutines") {
		t.Errorf("metrics-addr: %d %.200s", code, body)
	}
	if code, _ := get(t, "http://"+maddr+"/api/v1/openapi.json", ""); code != http.StatusNotFound {
		t.Errorf("metrics-addr serves the API too: %d", code)
	}
	if code, _ := get(t, r.url+"/metrics", longToken); code != http.StatusNotFound {
		t.Errorf("API address still serves /metrics: %d, want 404", code)
	}
	if !strings.Contains(r.logs.String(), "metrics listening") {
		t.Errorf("no 'metrics listening' log line")
	}
}

// A metrics-addr that is taken stops earshot with the reason.
func TestRun_MetricsAddressTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = run(context.Background(), []string{"--ari-url", "http://" + freeAddr(t), "--db", filepath.Join(t.TempDir(), "e.db"),
		"--supervising-number", "+35891234599", "--http-addr", freeAddr(t), "--metrics-addr", ln.Addr().String()}, envOf(nil), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "metrics-addr: listen on "+ln.Addr().String()) {
		t.Fatalf("err = %v, want the metrics address named", err)
	}
}

// startUnready runs the earshot binary with args and a free API address
// and waits only until it is alive (/healthz), not ready.
func startUnready(t *testing.T, args ...string) *process {
	t.Helper()
	addr := freeAddr(t)
	p := &process{t: t, url: "http://" + addr, out: &logbuf.Buffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(binary(t), append(args, "--http-addr", addr)...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { err := p.cmd.Wait(); p.done <- err; exited <- err }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("earshot output:\n%s", p.out)
		}
	})
	waitHealthy(t, p.url, exited)
	return p
}

// The real binary, started while Asterisk is out of reach (the sandbox's
// ARI behind a proxy that refuses): alive, not ready with the reason,
// sign-in works; once ARI answers it becomes ready by itself and tracks
// a service call.
func TestProcess_StartsBeforeAsterisk(t *testing.T) {
	sb := sandbox.Require(t)
	h := phones.New(t)
	px := newProxy(t, strings.TrimPrefix(sb.URL, "http://"))
	px.cut()
	app := newAppName("earshot-start-")
	args := processArgs(t, app, filepath.Join(t.TempDir(), "earshot.db"))
	args = append(args, "--ari-url", px.URL()) // the last one counts
	p := startUnready(t, args...)

	var ready readyJSON
	p.do("", "GET", "/readyz", "", http.StatusServiceUnavailable, &ready)
	if ready.Ready || !strings.Contains(ready.Checks["ari"], "waiting for Asterisk") || !strings.Contains(ready.Checks["ari"], px.URL()) {
		t.Errorf("readyz = %+v, want not ready, waiting for Asterisk at %s", ready, px.URL())
	}
	tok := p.login("su01")
	phones.WaitFor(t, 5*time.Second, "the waiting log line", func() bool {
		return strings.Contains(p.out.String(), "waiting for Asterisk") && strings.Contains(p.out.String(), px.URL()+"/ari")
	})

	px.restore()
	restored := time.Now()
	for p.do("", "GET", "/readyz", "", 0, &ready); !ready.Ready; p.do("", "GET", "/readyz", "", 0, &ready) {
		if time.Since(restored) > 15*time.Second {
			t.Fatalf("not ready 15 s after ARI became reachable: %v", ready.Checks)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("ready %s after ARI answered", time.Since(restored).Round(time.Millisecond))
	phones.WaitFor(t, 15*time.Second, "the log line saying the wait is over", func() bool {
		return strings.Contains(p.out.String(), "no longer waiting for Asterisk")
	})

	call, err := h.Service(context.Background(), phones.ServiceOpts{Pool: "sales", Agent: "ag01", Via: phones.ViaDial})
	if err != nil {
		t.Fatal(err)
	}
	phones.WaitFor(t, 10*time.Second, "the service call tracked", func() bool {
		var v poolView
		p.do(tok, "GET", "/api/v1/pools/sales/users", "", 200, &v)
		return !v.Stale && strings.Join(v.onCall(), ",") == "ag01"
	})
	if err := call.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.signal(syscall.SIGTERM); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
	h.AssertNoLeaks(t, app+".")
}

// Wrong credentials found when Asterisk first answers end the binary with
// status 1 and the reason, as they do at start: waiting would not fix them.
func TestProcess_WrongPasswordOnceAsteriskAnswers(t *testing.T) {
	sb := sandbox.Require(t)
	px := newProxy(t, strings.TrimPrefix(sb.URL, "http://"))
	px.cut()
	args := processArgs(t, newAppName("earshot-badpw-"), filepath.Join(t.TempDir(), "earshot.db"))
	p := startUnready(t, append(args, "--ari-url", px.URL(), "--ari-password", "wrong-password")...)
	px.restore()
	select {
	case err := <-p.done:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("exit: %v, want status 1", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("still running 20 s after Asterisk answered with wrong credentials")
	}
	out := p.out.String()
	if !strings.Contains(out, "wrong ari-user or ari-password") || strings.Contains(out, "wrong-password") {
		t.Errorf("output: %s\nwant the credentials blamed, the password not shown", out)
	}
}
