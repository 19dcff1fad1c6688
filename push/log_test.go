package push_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/logbuf"
	"github.com/earshot/earshot/push"
)

func TestMaskDialURI(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"tel:+35891234599,482913#", "tel:+35891234599,******#"},
		{"tel:+35891234599", "tel:+35891234599"},
		{"", ""},
	} {
		if got := push.MaskDialURI(tt.in); got != tt.want {
			t.Errorf("MaskDialURI(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTokenTail(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"fcm:APA91bHPRgkFLJu6tEWsE0R8tK1x3mDq", "…tK1x3mDq"},
		{"token-su01", "…-su01"},
		{"abc", "…c"},
		{"", "…"},
	} {
		if got := push.TokenTail(tt.in); got != tt.want {
			t.Errorf("TokenTail(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The log sender's line holds neither the whole token nor the one-time
// code of the dial URI.
func TestLogSender_NoSecrets(t *testing.T) {
	var logs logbuf.Buffer
	s := push.LogSender{Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	const token = "fcm:APA91bHPRg-secret-middle-kFLJu6tEW"
	s.Send(context.Background(), []push.Message{{
		Token: token, User: "sara", Type: push.TypeListenOffer,
		Data: map[string]string{"dial_uri": "tel:+35891234599,482913#", "offer_id": "o1"},
	}})
	out := logs.String()
	if strings.Contains(out, "secret-middle") || strings.Contains(out, "482913") || !strings.Contains(out, "tel:+35891234599,******#") {
		t.Fatalf("log line:\n%s", out)
	}
}

// With push in log mode, an offer to a supervisor with no device is
// still visible in the log (at info), and its code is not.
func TestNotifier_NoDeviceLogged(t *testing.T) {
	for _, tc := range []struct {
		name  string
		log   bool
		level string
	}{{"LogMode", true, "level=INFO"}, {"FCM", false, "level=DEBUG"}} {
		t.Run(tc.name, func(t *testing.T) {
			var logs logbuf.Buffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			h := start(t, func(c *push.Config) {
				c.Log = log
				if tc.log {
					c.Sender = push.LogSender{Log: log}
				}
			})
			ev := h.offer("482913")
			ev.Offer.Supervisor = "gina" // no device
			h.offers <- ev
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(logs.String(), "no device registered") {
				if time.Now().After(deadline) {
					t.Fatalf("no line:\n%s", logs.String())
				}
				time.Sleep(5 * time.Millisecond)
			}
			out := logs.String()
			if !strings.Contains(out, tc.level+` msg="push: no device registered; notification not sent" user=gina type=listen_offer`) || strings.Contains(out, "482913") {
				t.Fatalf("log:\n%s", out)
			}
		})
	}
}
