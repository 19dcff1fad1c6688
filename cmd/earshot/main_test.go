package main

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/logbuf"
	"github.com/earshot/earshot/internal/sandbox"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// Earshot refuses to start, with one clear line, when ARI cannot be used.
func TestRun_ARIUnusable(t *testing.T) {
	t.Run("Unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // a port nobody listens on
		err = run(context.Background(), []string{"--ari-url", "http://" + addr, "--ari-password", "x", "--db", filepath.Join(t.TempDir(), "e.db"), "--supervising-number", "+35891234599"}, envOf(nil), &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("err = %v, want it to say ARI is unreachable", err)
		}
	})
	t.Run("WrongCredentials", func(t *testing.T) {
		sb := sandbox.Require(t)
		err := run(context.Background(), []string{"--db", filepath.Join(t.TempDir(), "e.db"), "--supervising-number", "+35891234599"}, envOf(map[string]string{
			"EARSHOT_ARI_URL": sb.URL, "EARSHOT_ARI_USER": sb.User, "EARSHOT_ARI_PASSWORD": "wrong",
		}), &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "wrong ari-user or ari-password") {
			t.Fatalf("err = %v, want it to blame the credentials", err)
		}
	})
}

// With good settings Earshot connects, reports ready, and stops cleanly.
func TestRun_Serves(t *testing.T) {
	sb := sandbox.Require(t)
	ctx, cancel := context.WithCancel(context.Background())
	var logs logbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--http-addr", "127.0.0.1:0", "--ari-app", "earshot-main-test", "--db", filepath.Join(t.TempDir(), "e.db"), "--supervising-number", "+35891234599"}, envOf(map[string]string{
			"EARSHOT_ARI_URL": sb.URL, "EARSHOT_ARI_USER": sb.User, "EARSHOT_ARI_PASSWORD": sb.Password,
		}), &bytes.Buffer{}, &logs)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "ari event stream connected") {
		if time.Now().After(deadline) {
			t.Fatalf("never connected; logs:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

func TestRun_ConfigCheck(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"--ari-password", "s3cret", "config", "check"}, envOf(nil), &out, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "s3cret") || !strings.Contains(out.String(), "configuration ok") {
		t.Fatalf("config check printed:\n%s", out.String())
	}
}
