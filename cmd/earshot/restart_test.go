package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/earshot/earshot/store"
)

// restartDirectory is the demo directory: plain-text passwords (sara,
// carol, gina, gus) and sara's phone number, as scripts/run.sh and
// deploy/earshot.yaml import it at every start.
const restartDirectory = "../../testdata/directory/demo.yaml"

// The real binary, restarted with the same directory file: the phone
// number the supervisor set through the API survives, and so does the
// operator's switching supervising off, the import's log
// line says it kept it and why, and the unchanged file changes nothing in
// the store (the plain-text passwords' hashes are the same bytes).
func TestProcess_RestartKeepsAPISettings(t *testing.T) {
	app := newAppName("earshot-restart-")
	db := filepath.Join(t.TempDir(), "earshot.db")
	args := processArgs(t, app, db)
	i := slices.Index(args, loadDirectory)
	args[i] = restartDirectory

	p := startProcess(t, args...)
	tok := p.login("sara")
	p.do(tok, "PUT", "/api/v1/supervising/settings", `{"phone_number":"+358409876543"}`, 0, nil)
	if err := p.signal(syscall.SIGTERM); err != nil {
		t.Fatalf("exit: %v", err)
	}
	before := storedUsers(t, db)

	p2 := startProcess(t, args...)
	var settings struct {
		PhoneNumber *string `json:"phone_number"`
	}
	p2.do(p2.login("sara"), "GET", "/api/v1/supervising/settings", "", 200, &settings)
	if settings.PhoneNumber == nil || *settings.PhoneNumber != "+358409876543" {
		t.Errorf("sara's number after the restart = %v, want the one set through the API", settings.PhoneNumber)
	}
	out := p2.out.String()
	if !strings.Contains(out, "user sara phone_number") || !strings.Contains(out, "the file wins only for fields it changed since the last import") {
		t.Errorf("the import's log line does not name the kept field and the rule:\n%s", out)
	}
	// The operator switches supervising off for acme (R1): the file,
	// which switches it on, does not switch it back at the next start.
	admin := args[slices.Index(args, "--admin-token")+1]
	p2.do(admin, "DELETE", "/api/v1/admin/orgs/acme/features/supervising", "", 0, nil)
	if err := p2.signal(syscall.SIGTERM); err != nil {
		t.Fatalf("exit: %v", err)
	}
	after := storedUsers(t, db)
	p3 := startProcess(t, args...)
	var login struct {
		Features []string `json:"features"`
	}
	p3.do("", "POST", "/api/v1/auth/login", `{"username":"sara","password":"change-me"}`, 200, &login)
	if slices.Contains(login.Features, "supervising") {
		t.Errorf("supervising is on again after the restart: %v", login.Features)
	}
	if err := p3.signal(syscall.SIGTERM); err != nil {
		t.Fatalf("exit: %v", err)
	}
	for id, u := range before {
		if after[id] != u {
			t.Errorf("user %s changed by importing the unchanged file:\n%s\nwas\n%s", id, after[id], u)
		}
	}
	if !strings.HasPrefix(before["carol"], "$2") {
		t.Errorf("carol's stored hash %q, want a bcrypt hash of the file's plain password", before["carol"])
	}
}

// storedUsers reads every user's password hash and number from the store
// of a stopped earshot.
func storedUsers(t *testing.T, path string) map[string]string {
	t.Helper()
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	users, err := db.Users("")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, u := range users {
		full, err := db.User(context.Background(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		out[u.ID] = full.PasswordHash
		if u.ID == "sara" {
			out["sara phone"] = full.PhoneNumber
		}
	}
	return out
}
