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
		if out, err := exec.Command(script, step).CombinedOutput(); err != nil {
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
