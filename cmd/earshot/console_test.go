package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/audio"
	"github.com/earshot/earshot/internal/phones"
)

// consoleTestDir holds the browser test script and its node_modules
// (scripts/test.sh installs playwright-core there and Debian's chromium).
const consoleTestDir = "../../web/test"

// TestConsole drives the web console in Chromium (web/test/console.mjs)
// against a whole Earshot and the sandbox Asterisk: sign in, a call
// appears live, Listen, the supervisor dials in, Whisper (checked on the
// recordings), a change made elsewhere shows, Hang up. It saves
// screenshots of each page at phone and desktop width, and checks that
// the page called only documented routes.
func TestConsole(t *testing.T) {
	if _, err := os.Stat(filepath.Join(consoleTestDir, "node_modules", "playwright-core")); err != nil {
		if os.Getenv("EARSHOT_BROWSER_REQUIRED") == "1" {
			t.Fatal("browser test: web/test/node_modules is missing (scripts/test.sh installs it)")
		}
		t.Skip("browser test skipped: run scripts/test.sh (it installs chromium and playwright-core)")
	}
	e := startE2E(t)
	ctx := context.Background()
	shots := os.Getenv("EARSHOT_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "console.mjs", e.api.URL, shots)
	cmd.Dir = consoleTestDir
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// However the browser test goes, it ends within three minutes.
	stopper := time.AfterFunc(3*time.Minute, func() { cmd.Process.Kill() })
	defer stopper.Stop()

	var call *phones.Call
	var sup *phones.Call
	var whisperFrom, whisperTo time.Time
	var requests []string
	var failure string
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, arg, _ := strings.Cut(line, " ")
		switch name {
		case "STEP":
			var err error
			switch arg {
			case "service-call":
				call, err = e.h.Service(ctx, phones.ServiceOpts{Pool: "sales", Agent: "alice", Via: phones.ViaQueue})
			case "supervisor-call":
				sup, err = e.h.Supervisor(ctx, phones.SupervisorOpts{Name: "sara", Number: "+358401234567", App: e.app})
			case "whisper":
				whisperFrom, whisperTo = hold(1200 * time.Millisecond)
			case "barge-elsewhere":
				tok, _ := e.login("sara")
				id := e.waitSessions(tok, 1).Sessions[0].ID
				e.call(tok, "PUT", "/api/v1/supervising/sessions/"+id+"/mode", `{"mode":"barge"}`, 200, nil)
			case "ended":
				err = sup.WaitGone(ctx, sup.SupervisorLeg)
			}
			if err != nil {
				t.Errorf("step %s: %v", arg, err)
				io.WriteString(stdin, "error\n")
				continue
			}
			io.WriteString(stdin, "ok\n")
		case "REQUESTS":
			if err := json.Unmarshal([]byte(arg), &requests); err != nil {
				t.Errorf("requests: %v", err)
			}
		case "ELSEWHERE":
			t.Logf("a mode change made elsewhere showed on the page after %s ms", arg)
		case "SHOT":
			t.Logf("screenshot %s", arg)
		case "FAIL", "PAGEERROR":
			failure += line + "\n"
		default:
			t.Log(line)
		}
	}
	if err := cmd.Wait(); err != nil || failure != "" {
		t.Fatalf("browser test failed (%v):\n%s", err, failure)
	}
	if call == nil || sup == nil {
		t.Fatal("the browser test did not reach the calls")
	}
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}

	// Whisper from the page: the agent heard the supervisor, the customer did not.
	ra, _ := call.Recording(ctx, "alice")
	rc, _ := call.Recording(ctx, "customer")
	iv := func(r *phones.Heard) audio.Interval {
		return r.Between(whisperFrom.Add(250*time.Millisecond), whisperTo.Add(-50*time.Millisecond))
	}
	audio.AssertHears(t, ra.Recording, "agent (whisper from the console)", phones.SupervisorHz, iv(ra))
	audio.AssertNotHears(t, rc.Recording, "customer (whisper from the console)", phones.SupervisorHz, iv(rc))

	// Only documented routes.
	documented := documentedRoutes(t, e)
	if len(requests) < 8 {
		t.Errorf("only %d distinct requests recorded: %v", len(requests), requests)
	}
	for _, r := range requests {
		if !documented(r) {
			t.Errorf("the console called an undocumented route: %s", r)
		}
	}
}

// documentedRoutes reads the OpenAPI document and returns a matcher for
// "METHOD /path" against its path templates.
func documentedRoutes(t *testing.T, e *e2e) func(string) bool {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	e.call("", "GET", "/api/v1/openapi.json", "", 200, &doc)
	type route struct {
		method string
		re     *regexp.Regexp
	}
	var routes []route
	param := regexp.MustCompile(`\\\{[^}]+\\\}`)
	for p, ops := range doc.Paths {
		re := regexp.MustCompile("^" + param.ReplaceAllString(regexp.QuoteMeta(p), `[^/]+`) + "$")
		for m := range ops {
			routes = append(routes, route{strings.ToUpper(m), re})
		}
	}
	return func(r string) bool {
		method, path, _ := strings.Cut(r, " ")
		for _, rt := range routes {
			if rt.method == method && rt.re.MatchString(path) {
				return true
			}
		}
		return false
	}
}
