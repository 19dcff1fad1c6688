package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A supervisor limited to one pool learns nothing about the calls of an
// agent outside it: Listen and the user view answer the same whether or
// not that agent is on a call.
func TestE2E_ScopeHidesCallStatus(t *testing.T) {
	demo, err := os.ReadFile("../../testdata/directory/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// sid supervises the support pool only; bob is in sales.
	dir := filepath.Join(t.TempDir(), "dir.yaml")
	scoped := strings.Replace(string(demo), "users:\n", "users:\n"+`  - id: sid
    org: acme
    name: Sid Scoped
    roles: [supervisor]
    password: change-me
    phone_number: "+358401234570"
    pools: [support]
`, 1)
	if err := os.WriteFile(dir, []byte(scoped), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startE2E(t, "--directory", dir)
	token, _ := e.login("sid")

	type answer struct {
		listen map[string]any
		user   map[string]any
	}
	ask := func() answer {
		var a answer
		e.call(token, "POST", "/api/v1/users/bob/listen", "", 403, &a.listen)
		e.call(token, "GET", "/api/v1/users/bob", "", 200, &a.user)
		delete(a.user, "stale")
		delete(a.user, "stale_reason")
		return a
	}
	idle := ask()
	call := e.serviceCall("bob")
	defer call.Hangup(t.Context())
	deadline := time.Now().Add(5 * time.Second)
	for len(e.m.app.Tracker().List()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if len(e.m.app.Tracker().List()) == 0 {
		t.Fatal("bob's call never tracked")
	}
	onCall := ask()
	for _, k := range []string{"type", "title", "status", "detail"} {
		if idle.listen[k] != onCall.listen[k] {
			t.Errorf("listen %s: idle %v, on a call %v", k, idle.listen[k], onCall.listen[k])
		}
	}
	if idle.user["on_call"] != nil || onCall.user["on_call"] != nil {
		t.Errorf("user view shows a call outside the scope: idle %v, on a call %v", idle.user, onCall.user)
	}
	t.Logf("both answers: listen %v; user %v", onCall.listen, onCall.user)
}
