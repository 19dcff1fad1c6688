package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/logbuf"
	"github.com/earshot/earshot/internal/phones"
	"github.com/earshot/earshot/internal/sandbox"
	"github.com/earshot/earshot/store"
)

var builds struct {
	mu   sync.Mutex
	bins map[string]string
}

// buildCommand builds the command in directory pkg once per test run.
func buildCommand(t *testing.T, pkg string) string {
	t.Helper()
	builds.mu.Lock()
	defer builds.mu.Unlock()
	if bin, ok := builds.bins[pkg]; ok {
		return bin
	}
	dir, err := os.MkdirTemp("", "earshot-bin-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, filepath.Base(filepath.Clean(pkg)))
	if pkg == "." {
		bin = filepath.Join(dir, "earshot")
	}
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	if builds.bins == nil {
		builds.bins = map[string]string{}
	}
	builds.bins[pkg] = bin
	return bin
}

// binary is the earshot command.
func binary(t *testing.T) string { return buildCommand(t, ".") }

// process is a running earshot binary.
type process struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	out  *logbuf.Buffer
	done chan error
}

// startProcess runs the binary with args plus a free API port, and waits
// until it is ready (ARI connected).
func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &process{t: t, url: "http://" + addr, out: &logbuf.Buffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(binary(t), append(args, "--http-addr", addr)...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("earshot output:\n%s", p.out)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(p.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("earshot not ready within 15 s:\n%s", p.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// do makes an API request and decodes a JSON answer into out.
func (p *process) do(token, method, path, body string, want int, out any) {
	p.t.Helper()
	apiRequest(p.t, p.url, token, method, path, body, want, out)
}

func (p *process) login(user string) string {
	p.t.Helper()
	var r struct {
		Token string `json:"token"`
	}
	p.do("", "POST", "/api/v1/auth/login", `{"username":"`+user+`","password":"change-me"}`, 200, &r)
	return r.Token
}

func (p *process) sessions(token string) int {
	p.t.Helper()
	var s sessionsJSON
	p.do(token, "GET", "/api/v1/supervising/sessions", "", 200, &s)
	return len(s.Sessions)
}

// signal sends sig and waits for the exit.
func (p *process) signal(sig os.Signal) error {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
	select {
	case err := <-p.done:
		return err
	case <-time.After(20 * time.Second):
		p.t.Fatalf("earshot did not exit within 20 s of %v", sig)
		return nil
	}
}

// testAdminToken is the tests' admin token; earshot refuses shorter than
// MinAdminTokenLen characters.
const testAdminToken = "operator-secret-token-for-tests-0123456789abcdef"

func processArgs(t *testing.T, app, db string) []string {
	sb := sandbox.Require(t)
	return []string{
		"--ari-url", sb.URL, "--ari-user", sb.User, "--ari-password", sb.Password, "--ari-app", app,
		"--db", db, "--directory", loadDirectory, "--supervising-number", phones.SupervisingNumber,
		"--admin-token", testAdminToken, "--push", "log",
	}
}

func newAppName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Earshot killed with SIGKILL under 10 live sessions and started again:
// within 5 s nothing of the old run is left in Asterisk, every supervisor
// leg was hung up, and every store write it acknowledged is still there.
func TestProcess_SIGKILL(t *testing.T) {
	h := phones.New(t)
	ctx := context.Background()
	app := newAppName("earshot-kill-")
	args := processArgs(t, app, filepath.Join(t.TempDir(), "earshot.db"))
	p := startProcess(t, args...)
	const n = 10
	sups := make([]*phones.Call, n)
	phones.Parallel(t, n, func(i int) error {
		_, err := h.Service(ctx, phones.ServiceOpts{Pool: "sales", Agent: fmt.Sprintf("ag%02d", i+1), Via: phones.ViaDial})
		return err
	})
	phones.Parallel(t, n, func(i int) error {
		su, ag := fmt.Sprintf("su%02d", i+1), fmt.Sprintf("ag%02d", i+1)
		tok := p.login(su)
		// Acknowledged writes: a supervised agent and a device.
		p.do(tok, "PUT", "/api/v1/supervising/users/"+ag, "", 204, nil)
		p.do(tok, "PUT", "/api/v1/devices/token-"+su, `{"platform":"ios"}`, 204, nil)
		p.do(tok, "POST", "/api/v1/users/"+ag+"/listen", "", 201, nil)
		c, err := h.Supervisor(ctx, phones.SupervisorOpts{Name: su, Number: supNumber(i + 1), App: app})
		sups[i] = c
		if err != nil {
			return err
		}
		deadline := time.Now().Add(15 * time.Second)
		for p.sessions(tok) != 1 {
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: no session", su)
			}
			time.Sleep(50 * time.Millisecond)
		}
		return nil
	})

	p.signal(syscall.SIGKILL)
	p2 := startProcess(t, args...)
	took := phones.WaitFor(t, 5*time.Second, "nothing of the old run left, every supervisor leg hung up", func() bool {
		left, live := leftovers(t, h, app)
		if len(left) > 0 {
			return false
		}
		for _, s := range sups {
			if live[s.SupervisorLeg] {
				return false
			}
		}
		return true
	})
	t.Logf("clean %s after the restart", took.Round(time.Millisecond))

	// The acknowledged writes, read back from a backup of the store.
	backup := filepath.Join(t.TempDir(), "backup.db")
	req, _ := http.NewRequest("GET", p2.url+"/api/v1/admin/backup", nil)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("backup: %v %v", err, resp)
	}
	f, _ := os.Create(backup)
	io.Copy(f, resp.Body)
	resp.Body.Close()
	f.Close()
	db, err := store.Open(backup)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range n {
		su, ag := fmt.Sprintf("su%02d", i+1), fmt.Sprintf("ag%02d", i+1)
		if list, err := db.SupervisedBy(ctx, su); err != nil || !slices.Contains(list, ag) {
			t.Errorf("%s's supervised list = %v (%v), want %s", su, list, err, ag)
		}
		if ds, err := db.Devices(ctx, su); err != nil || len(ds) != 1 {
			t.Errorf("%s's devices = %v (%v), want one", su, ds, err)
		}
	}
	h.HangupAll()
	if err := p2.signal(syscall.SIGTERM); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
	h.AssertNoLeaks(t, app+".")
}

// SIGTERM during a live session: the supervisor's leg is hung up, nothing
// leaks, and earshot exits 0.
func TestProcess_SIGTERM(t *testing.T) {
	h := phones.New(t)
	ctx := context.Background()
	app := newAppName("earshot-term-")
	p := startProcess(t, processArgs(t, app, filepath.Join(t.TempDir(), "earshot.db"))...)
	call, err := h.Service(ctx, phones.ServiceOpts{Pool: "sales", Agent: "ag01", Via: phones.ViaDial})
	if err != nil {
		t.Fatal(err)
	}
	tok := p.login("su01")
	p.do(tok, "POST", "/api/v1/users/ag01/listen", "", 201, nil)
	sup, err := h.Supervisor(ctx, phones.SupervisorOpts{Name: "su01", Number: supNumber(1), App: app})
	if err != nil {
		t.Fatal(err)
	}
	phones.WaitFor(t, 10*time.Second, "session", func() bool { return p.sessions(tok) == 1 })
	if err := p.signal(syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v (want 0)", err)
	}
	if err := sup.WaitGone(ctx, sup.SupervisorLeg); err != nil {
		t.Fatalf("supervisor leg still up after SIGTERM: %v", err)
	}
	if left, _ := leftovers(t, h, app); len(left) > 0 {
		t.Errorf("left in Asterisk: %v", left)
	}
	if !strings.Contains(p.out.String(), "session ended") {
		t.Errorf("no 'session ended' log line:\n%s", p.out)
	}
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}

// leftovers lists Asterisk channels and bridges whose ids start with
// app's prefix, and every live channel's id.
func leftovers(t *testing.T, h *phones.Harness, app string) ([]string, map[string]bool) {
	t.Helper()
	ctx := context.Background()
	chs, err := h.Client().Channels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bridges, err := h.Client().Bridges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	live := map[string]bool{}
	for _, ch := range chs {
		live[ch.ID] = true
		if strings.HasPrefix(ch.ID, app+".") {
			out = append(out, "channel "+ch.ID)
		}
	}
	for _, b := range bridges {
		if strings.HasPrefix(b.ID, app+".") {
			out = append(out, "bridge "+b.ID)
		}
	}
	return out, live
}
