package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/phones"
)

// A whole supervision on the real binary at debug level, with one-time
// codes and push in log mode: sign-in, a device, a service call, Listen,
// the supervisor dialling in with the code, whisper, barge, hang-up. No
// line of the log holds the password, the device token or the code; the
// notifications show in the log with the token shortened and the code
// masked.
func TestProcess_LogsHoldNoSecrets(t *testing.T) {
	h := phones.New(t)
	ctx := context.Background()
	app := newAppName("earshot-secrets-")
	args := append(processArgs(t, app, filepath.Join(t.TempDir(), "earshot.db")),
		"--log-level", "debug", "--offer-codes")
	p := startProcess(t, args...)

	b := make([]byte, 64)
	_, _ = rand.Read(b)
	device := "fcm:" + hex.EncodeToString(b) // 132 characters, like FCM's
	tok := p.login("su01")
	p.do(tok, "PUT", "/api/v1/devices/"+device, `{"platform":"android"}`, 204, nil)
	call, err := h.Service(ctx, phones.ServiceOpts{Pool: "sales", Agent: "ag01", Via: phones.ViaDial})
	if err != nil {
		t.Fatal(err)
	}
	var offer struct {
		Offer struct {
			DialURI string `json:"dial_uri"`
		} `json:"offer"`
	}
	p.do(tok, "POST", "/api/v1/users/ag01/listen", "", 201, &offer)
	_, code, ok := strings.Cut(offer.Offer.DialURI, ",")
	code = strings.TrimSuffix(code, "#")
	if !ok || code == "" {
		t.Fatalf("dial_uri %q has no code", offer.Offer.DialURI)
	}
	if _, err := h.Supervisor(ctx, phones.SupervisorOpts{Name: "su01", Number: supNumber(1), App: app, Digits: code + "#"}); err != nil {
		t.Fatal(err)
	}
	phones.WaitFor(t, 15*time.Second, "session", func() bool { return p.sessions(tok) == 1 })
	var list sessionsJSON
	p.do(tok, "GET", "/api/v1/supervising/sessions", "", 200, &list)
	id := list.Sessions[0].ID
	for _, mode := range []string{"whisper", "barge"} {
		p.do(tok, "PUT", "/api/v1/supervising/sessions/"+id+"/mode", `{"mode":"`+mode+`"}`, 0, nil)
	}
	p.do(tok, "DELETE", "/api/v1/supervising/sessions/"+id, "", 0, nil)
	phones.WaitFor(t, 10*time.Second, "the session's end notified", func() bool {
		return strings.Contains(p.out.String(), "type=session_ended")
	})
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	p.do(tok, "DELETE", "/api/v1/devices/"+device, "", 204, nil)
	if err := p.signal(syscall.SIGTERM); err != nil {
		t.Fatalf("exit: %v", err)
	}

	out := p.out.String()
	for _, want := range []string{
		"type=listen_offer", "type=supervising_status", "type=session_ended", // the notifications
		"token=…" + device[len(device)-8:],                                 // the token's tail
		",******#",                                                         // the dial URI, masked
		`msg="http request"`, "/api/v1/devices/…" + device[len(device)-8:], // the debug access log
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	// The code is a few digits: look for it as a value, not anywhere
	// (a duration may hold the same digits).
	codeRE := regexp.MustCompile(`(,|=|"|\b(code|digits?|dtmf)\W{1,3})` + code + `(#|\b)`)
	for i, line := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(line, "change-me"):
			t.Errorf("line %d holds the password: %s", i+1, line)
		case strings.Contains(line, device[4:60]):
			t.Errorf("line %d holds the device token: %s", i+1, line)
		case codeRE.MatchString(line):
			t.Errorf("line %d holds the one-time code %s: %s", i+1, code, line)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("log (%d lines):\n%s", strings.Count(out, "\n"), out)
	}
}
