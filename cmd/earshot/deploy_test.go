package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const unitFile = "../../deploy/earshot.service"

// The shipped systemd unit keeps its sandboxing, hands the service its
// configuration as credentials, and names only credentials earshot reads.
func TestDeploy_UnitSettings(t *testing.T) {
	raw, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(raw), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	for _, want := range []string{
		"DynamicUser=yes", "CapabilityBoundingSet=", "NoNewPrivileges=yes", "UMask=0077",
		"SystemCallFilter=@system-service", "SystemCallArchitectures=native",
		"ProtectProc=invisible", "ProcSubset=pid", "ProtectSystem=strict", "ProtectHome=yes",
		"PrivateDevices=yes", "PrivateTmp=yes", "PrivateUsers=yes", "MemoryDenyWriteExecute=yes",
		"LockPersonality=yes", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
		"RestrictNamespaces=yes", "RestrictRealtime=yes", "RestrictSUIDSGID=yes",
		"ProtectKernelTunables=yes", "ProtectKernelModules=yes", "ProtectKernelLogs=yes",
		"ProtectControlGroups=yes", "ProtectClock=yes", "ProtectHostname=yes",
		"LoadCredential=earshot.yaml:/etc/earshot/earshot.yaml",
		"ExecStart=/usr/local/bin/earshot --config %d/earshot.yaml --db /var/lib/earshot/earshot.db",
	} {
		found := false
		for _, l := range lines {
			found = found || l == want
		}
		if !found {
			t.Errorf("unit lacks %q", want)
		}
	}
	// Every credential but the config file is a setting earshot takes
	// from $CREDENTIALS_DIRECTORY, and every optional one has a default.
	creds := map[string]credKind{}
	for _, s := range settings {
		creds[s.name] = s.cred
	}
	defaults := map[string]bool{}
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "SetCredential="); ok {
			name, _, _ := strings.Cut(v, ":")
			defaults[name] = true
		}
	}
	for _, l := range lines {
		v, ok := strings.CutPrefix(l, "LoadCredential=")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(v, ":")
		if name == "earshot.yaml" {
			continue
		}
		if creds[name] == credNone {
			t.Errorf("credential %q is no setting earshot reads from $CREDENTIALS_DIRECTORY", name)
		}
		if !defaults[name] {
			t.Errorf("credential %q has no SetCredential= default, so a site without the file could not start", name)
		}
	}
}

// What ExecStartPre runs, with the credentials the unit hands over: the
// example configuration, a generated admin token, the placeholders.
func TestDeploy_ConfigCheckWithCredentials(t *testing.T) {
	dir := t.TempDir()
	example, err := os.ReadFile("../../deploy/earshot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"earshot.yaml": string(example), "ari-password": "s3cret-ari\n", "admin-token": longToken + "\n",
		"fcm-credentials": "\n", "directory": "\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o400); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	err = run(context.Background(), []string{"--config", filepath.Join(dir, "earshot.yaml"), "--db", filepath.Join(t.TempDir(), "e.db"), "config", "check"},
		envOf(map[string]string{"CREDENTIALS_DIRECTORY": dir}), &out, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.HasSuffix(got, "\nconfiguration ok\n") || strings.Contains(got, "s3cret-ari") || strings.Contains(got, longToken) {
		t.Errorf("config check:\n%s", got)
	}
}

var exposureRE = regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+) (\S+)`)

// systemd itself checks the unit where it is installed: `verify` finds
// no error, and `security` rates the sandboxing OK (exposure ≤ 2 of 10).
func TestDeploy_SystemdAnalyze(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	// The unit as installed, but for the binary's path: verify wants an
	// executable there.
	raw, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), "earshot.service")
	if err := os.WriteFile(unit, bytes.ReplaceAll(raw, []byte("/usr/local/bin/earshot"), []byte(binary(t))), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	t.Logf("systemd-analyze verify: %v\n%s", err, out)
	if err != nil {
		t.Errorf("systemd-analyze verify failed: %v\n%s", err, out)
	}

	out, err = exec.Command(analyze, "security", "--offline=yes", unit).CombinedOutput()
	if err != nil && bytes.Contains(out, []byte("offline")) && !exposureRE.Match(out) {
		t.Skipf("this systemd-analyze cannot rate a unit file offline: %s", bytes.TrimSpace(out))
	}
	m := exposureRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security: %v, no overall exposure in:\n%s", err, out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security: exposure %.1f %s", score, m[2])
	if score > 2 {
		t.Errorf("exposure %.1f %s, want 2 or less (OK):\n%s", score, m[2], out)
	}
}
