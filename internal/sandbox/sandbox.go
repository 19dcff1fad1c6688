// Package sandbox tells integration tests where the sandbox Asterisk is.
// scripts/test.sh provisions and starts it and exports its coordinates;
// without them integration tests skip, naming the command that runs them.
package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Command is what runs the full suite, integration tests included.
const Command = "scripts/test.sh"

// Env locates the running sandbox.
type Env struct {
	URL, User, Password string
	// Root is the chroot on the host: Asterisk's /x is Root/x here.
	Root string
	// PIDFile holds the running Asterisk's process id.
	PIDFile string
	// SIP is the sandbox's SIP address (host:port).
	SIP string
	// Dir and Port, when set, are the EARSHOT_SANDBOX_DIR and
	// EARSHOT_SANDBOX_ARI_PORT the sandbox script needs to reach this
	// sandbox (the second node's); unset, the script's environment
	// reaches the first.
	Dir, Port string
}

// Node2Prefix starts the variables that locate the second sandbox
// Asterisk (EARSHOT_NODE2_ARI_URL, ...), for tests of several nodes under
// one Earshot; scripts/test.sh starts it and sets them.
const Node2Prefix = "EARSHOT_NODE2_"

// RequireNode2 returns the second sandbox node or skips the test, saying
// why; with EARSHOT_SANDBOX_REQUIRED=1 a missing one fails it.
func RequireNode2(tb testing.TB) Env {
	tb.Helper()
	get := func(name string) string { return os.Getenv(Node2Prefix + name) }
	e := Env{
		URL: get("ARI_URL"), User: get("ARI_USER"), Password: get("ARI_PASSWORD"),
		Root: get("SANDBOX_ROOT"), PIDFile: get("SANDBOX_PIDFILE"), SIP: get("SANDBOX_SIP"),
		Dir: get("SANDBOX_DIR"), Port: get("SANDBOX_ARI_PORT"),
	}
	if e.URL == "" || e.Root == "" {
		if os.Getenv("EARSHOT_SANDBOX_REQUIRED") == "1" {
			tb.Fatal("integration test: a second sandbox Asterisk is required but " + Node2Prefix + "ARI_URL / " + Node2Prefix + "SANDBOX_ROOT are not set")
		}
		tb.Skipf("two-node test skipped: it needs a second sandbox Asterisk (%sARI_URL, %sSANDBOX_ROOT, ...); run %s, which starts two", Node2Prefix, Node2Prefix, Command)
	}
	return e
}

// Require returns the sandbox or skips the test. With
// EARSHOT_SANDBOX_REQUIRED=1 (set by scripts/test.sh) a missing sandbox
// fails the test instead, so CI can never pass by skipping.
func Require(tb testing.TB) Env {
	tb.Helper()
	e := Env{
		URL:      os.Getenv("EARSHOT_ARI_URL"),
		User:     os.Getenv("EARSHOT_ARI_USER"),
		Password: os.Getenv("EARSHOT_ARI_PASSWORD"),
		Root:     os.Getenv("EARSHOT_SANDBOX_ROOT"),
		PIDFile:  os.Getenv("EARSHOT_SANDBOX_PIDFILE"),
		SIP:      os.Getenv("EARSHOT_SANDBOX_SIP"),
	}
	if e.URL == "" || e.Root == "" {
		if os.Getenv("EARSHOT_SANDBOX_REQUIRED") == "1" {
			tb.Fatal("integration test: the sandbox Asterisk is required but EARSHOT_ARI_URL / EARSHOT_SANDBOX_ROOT are not set")
		}
		tb.Skipf("integration test skipped: it needs the sandbox Asterisk; run %s", Command)
	}
	return e
}

// Crash kills the sandbox Asterisk with SIGKILL — no hang-ups, no events
// — and starts it again, for tests of Asterisk dying. It skips the test
// when the sandbox script is unknown (EARSHOT_SANDBOX_SCRIPT).
func (e Env) Crash(tb testing.TB) { e.Script(tb, "crash", "start") }

// Script runs sandbox script steps (stop, start, crash) in order; it
// skips the test when the script is unknown (EARSHOT_SANDBOX_SCRIPT).
func (e Env) Script(tb testing.TB, steps ...string) {
	tb.Helper()
	script := os.Getenv("EARSHOT_SANDBOX_SCRIPT")
	if script == "" {
		tb.Skip("test skipped: EARSHOT_SANDBOX_SCRIPT is not set; run " + Command)
	}
	for _, step := range steps {
		cmd := exec.Command(script, step)
		if e.Dir != "" {
			cmd.Env = append(os.Environ(), "EARSHOT_SANDBOX_DIR="+e.Dir, "EARSHOT_SANDBOX_ARI_PORT="+e.Port)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("sandbox %s: %v\n%s", step, err, out)
		}
	}
}

// HostPath maps a path inside the sandbox to the host.
func (e Env) HostPath(p string) string { return filepath.Join(e.Root, p) }

// AsteriskPID returns the running Asterisk's process id, from the pid
// file the sandbox script keeps: benchmarks read its CPU time from /proc.
func (e Env) AsteriskPID() (int, error) {
	if e.PIDFile == "" {
		return 0, errors.New("EARSHOT_SANDBOX_PIDFILE is not set; run " + Command)
	}
	b, err := os.ReadFile(e.PIDFile)
	if err != nil {
		return 0, fmt.Errorf("asterisk pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("asterisk pid in %s: %w", e.PIDFile, err)
	}
	return pid, nil
}
