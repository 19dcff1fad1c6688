package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestREADME_Walkthrough runs the README's "Try it" lines as written,
// against an Earshot like the demo's (application "earshot", the demo
// directory) with only the API address and the simulator's path swapped.
func TestREADME_Walkthrough(t *testing.T) {
	e := startE2E(t, "--ari-app", "earshot")
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "## Try it")
	_, block, ok2 := strings.Cut(after, "```sh\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal(`README: no "## Try it" section with a sh block`)
	}
	for old, repl := range map[string]string{
		"SIM=.cache/demo/earshot-sim":      "SIM=" + simBinary(t),
		"API=http://127.0.0.1:8080/api/v1": "API=" + e.api.URL + "/api/v1",
	} {
		if !strings.Contains(block, old) {
			t.Fatalf("README walkthrough lacks %q", old)
		}
		block = strings.Replace(block, old, repl, 1)
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", block)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walkthrough failed: %v\n%s", err, out)
	}
	for _, want := range []string{
		"agent alice, connected",      // 1
		`"id":"alice"`, `"on_call":{`, // 2
		`"dial_uri":"tel:+35891234599"`,                         // 3
		"connected in listen mode",                              // 4
		`"mode":"listen"`, `"mode":"whisper"`, `"mode":"barge"`, // 5
		"hung up ", // 6
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("walkthrough output lacks %q:\n%s", want, out)
		}
	}
	// Push is in log mode: the device of step 2b got the offer, three
	// statuses and the end (the log sender counts them as sent).
	deadline := time.Now().Add(10 * time.Second)
	for e.m.push.Stats().Sent < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("push stats %+v, want 5 notifications for sara's phone", e.m.push.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(e.m.app.Sessions("")); n != 0 {
		t.Errorf("%d sessions after the walkthrough", n)
	}
}

// simBinary is the earshot-sim command.
func simBinary(t *testing.T) string { return buildCommand(t, "../earshot-sim") }
