package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/logbuf"
	"github.com/earshot/earshot/internal/sandbox"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// Wrong ARI credentials are a configuration error: Earshot stops with
// one clear line rather than wait for them to become right.
func TestRun_ARIWrongCredentials(t *testing.T) {
	sb := sandbox.Require(t)
	err := run(context.Background(), []string{"--db", filepath.Join(t.TempDir(), "e.db"), "--supervising-number", "+35891234599", "--http-addr", "127.0.0.1:0"}, envOf(map[string]string{
		"EARSHOT_ARI_URL": sb.URL, "EARSHOT_ARI_USER": sb.User, "EARSHOT_ARI_PASSWORD": "wrong",
	}), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "wrong ari-user or ari-password") || strings.Contains(err.Error(), "wrong\"") {
		t.Fatalf("err = %v, want it to blame the credentials", err)
	}
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
	for _, tt := range []struct {
		name     string
		args     []string
		want     []string
		warnings int
	}{
		{"Complete", []string{"--ari-password", "s3cret", "--admin-token", longToken, "--supervising-number", "+35891234599"},
			[]string{"ari-password        ***\n", "admin-token         ***\n", "supervising-number  +35891234599\n", "\nconfiguration ok\n"}, 0},
		{"Warnings", []string{"--ari-password", "s3cret"},
			[]string{"\nwarning: supervising-number is not set", "\nwarning: admin-token is not set", "\nconfiguration ok, 2 warnings\n"}, 2},
		{"Bare", nil, []string{"\nconfiguration ok, 3 warnings\n"}, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := run(context.Background(), append(tt.args, "config", "check"), envOf(nil), &out, &bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
			got := out.String()
			if strings.Contains(got, "s3cret") || strings.Contains(got, longToken) {
				t.Errorf("a secret shows:\n%s", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			if n := strings.Count(got, "warning: "); n != tt.warnings {
				t.Errorf("%d warnings, want %d:\n%s", n, tt.warnings, got)
			}
			// One setting a line, and the output ends with a newline.
			if !strings.HasSuffix(got, "\n") || strings.Count(got, "\n") != len(settings)+1+tt.warnings+1 {
				t.Errorf("want %d settings, the config line, the warnings and the verdict, each on a line:\n%q", len(settings), got)
			}
		})
	}
	// A bad value fails the check, naming the setting.
	err := run(context.Background(), []string{"--admin-token", "x", "config", "check"}, envOf(nil), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "admin-token: is 1 characters long") {
		t.Errorf("err = %v", err)
	}
}
