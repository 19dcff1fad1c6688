package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os/exec"
	"strings"
	"testing"
)

// `earshot help`, -h, and --help after a command answer the usage: the
// flags and the commands; main prints it on stdout and exits 0.
func TestRun_Help(t *testing.T) {
	for _, args := range [][]string{
		{"help"}, {"-h"}, {"--help"}, {"backup", "--help"}, {"directory", "import", "-h"},
		{"config", "check", "--help"}, {"--db", "x.db", "help"},
		// Help even when the configuration is broken.
		{"--offer-ttl", "soon", "help"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), args, envOf(nil), &out, &out)
			if !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("err = %v, want help", err)
			}
			for _, want := range []string{"Usage: earshot", "--supervising-number", "Commands:", "directory import FILE", "backup FILE"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("usage lacks %q:\n%s", want, err)
				}
			}
		})
	}
}

// The binary prints it and exits 0.
func TestBinary_Help(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"backup", "--help"}} {
		out, err := exec.Command(binary(t), args...).Output()
		if err != nil || !strings.Contains(string(out), "Commands:") {
			t.Fatalf("earshot %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
