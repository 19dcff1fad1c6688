package main

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/store"
)

// With no earshot running, the subcommands use the store directly.
func TestSubcommands_StoreFree(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "earshot.db")
	args := []string{"--db", db}
	var out bytes.Buffer
	if err := run(context.Background(), append(args, "directory", "import", "../../testdata/directory/demo.yaml"), envOf(nil), &out, &out); err != nil {
		t.Fatalf("directory import: %v", err)
	}
	// Importing the same file again changes nothing (hashed passwords
	// aside, which are salted afresh on every read).
	if err := run(context.Background(), append(args, "directory", "import", "../../testdata/directory/demo.yaml"), envOf(nil), &out, &out); err != nil {
		t.Fatalf("second import: %v", err)
	}
	backup := filepath.Join(dir, "copy.db")
	if err := run(context.Background(), append(args, "backup", backup), envOf(nil), &out, &out); err != nil {
		t.Fatalf("backup: %v", err)
	}
	assertHoldsDemo(t, backup)
}

// While earshot runs (and holds the store's lock), backup goes through
// its operator API and still yields a consistent, openable copy.
func TestSubcommands_WhileRunning(t *testing.T) {
	e := startE2E(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.m.http.Serve(ctx, addr)
	backup := filepath.Join(t.TempDir(), "running.db")
	args := []string{"--db", e.m.cfg.DB, "--http-addr", addr, "--admin-token", e.admin}
	var out bytes.Buffer
	deadline := time.Now().Add(5 * time.Second)
	for {
		err = run(context.Background(), append(args, "backup", backup), envOf(nil), &out, &out)
		if err == nil || time.Now().After(deadline) || !strings.Contains(err.Error(), "does not answer") {
			break
		}
		time.Sleep(20 * time.Millisecond) // the listener is starting
	}
	if err != nil {
		t.Fatalf("backup while running: %v", err)
	}
	assertHoldsDemo(t, backup)

	// Without the admin token the subcommand says what it needs.
	err = run(context.Background(), []string{"--db", e.m.cfg.DB, "backup", backup}, envOf(nil), &out, &out)
	if err == nil || !strings.Contains(err.Error(), "--admin-token") {
		t.Fatalf("err = %v, want it to ask for --admin-token", err)
	}
}

func assertHoldsDemo(t *testing.T, path string) {
	t.Helper()
	db, err := store.Open(path)
	if err != nil {
		t.Fatalf("backup does not open: %v", err)
	}
	defer db.Close()
	u, err := db.UserByPhone(context.Background(), "+358401234567")
	if err != nil || u.ID != "sara" {
		t.Fatalf("backup lacks sara: %+v, %v", u, err)
	}
}
