package fcm_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/earshot/earshot/push"
	"github.com/earshot/earshot/push/fcm"
	"github.com/earshot/earshot/push/fcmtest"
)

func newSender(t *testing.T, fake *fcmtest.Server, endpoint string) *fcm.Sender {
	t.Helper()
	s, err := fcm.New(context.Background(), fcm.Config{
		CredentialsFile: fake.Credentials(t), ProjectID: fcmtest.Project, Endpoint: endpoint,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func status(token string) push.Message {
	return push.Message{
		Token: token, Type: push.TypeSupervisingStatus,
		Data:  map[string]string{"type": push.TypeSupervisingStatus, "mode": "listen", "actions": "whisper,barge"},
		Title: "Supervising Alice: listen", Body: "Listening.",
		Key: push.Key("1795519255.23"), Category: "EARSHOT_STATUS_LISTEN",
		TTL: 90 * time.Second, Expires: time.Unix(1_800_000_000, 0),
	}
}

// What FCM receives: the service-account token exchange happened, and the
// message has its data, Android and APNs parts.
func TestSender_Message(t *testing.T) {
	fake := fcmtest.New(t)
	s := newSender(t, fake, fake.Endpoint())
	if errs := s.Send(context.Background(), []push.Message{status("tok-1")}); errs[0] != nil {
		t.Fatalf("send: %v", errs[0])
	}
	got := fake.Received()
	if len(got) != 1 {
		t.Fatalf("received %d messages, want 1", len(got))
	}
	m := got[0]
	for _, c := range []struct{ name, got, want string }{
		{"token", m.Token, "tok-1"},
		{"data type", m.Data["type"], push.TypeSupervisingStatus},
		{"data actions", m.Data["actions"], "whisper,barge"},
		{"title", m.Notification.Title, "Supervising Alice: listen"},
		{"android priority", m.Android.Priority, "high"},
		{"android ttl", m.Android.TTL, "90s"},
		{"android collapse key", m.Android.CollapseKey, "earshot-call-1795519255.23"},
		{"android tag", m.Android.Notification.Tag, "earshot-call-1795519255.23"},
		{"android click action", m.Android.Notification.ClickAction, "EARSHOT_STATUS_LISTEN"},
		{"android channel", m.Android.Notification.ChannelID, fcm.AndroidChannel},
		{"apns collapse id", m.APNS.Headers["apns-collapse-id"], "earshot-call-1795519255.23"},
		{"apns priority", m.APNS.Headers["apns-priority"], "10"},
		{"apns expiration", m.APNS.Headers["apns-expiration"], "1800000000"},
		{"apns category", m.APNS.Payload.Aps.Category, "EARSHOT_STATUS_LISTEN"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
}

// FCM's answers become push's outcomes.
func TestSender_Outcomes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		setup      func(*fcmtest.Server)
		unregister bool
		retry      bool
		after      time.Duration
	}{
		{name: "delivered", setup: func(*fcmtest.Server) {}},
		{name: "rate limited", setup: func(f *fcmtest.Server) { f.Fail(1, 429, "3") }, retry: true, after: 3 * time.Second},
		{name: "server error", setup: func(f *fcmtest.Server) { f.Fail(1, 500, "") }, retry: true},
		{name: "unregistered", setup: func(f *fcmtest.Server) { f.Unregister("tok-1") }, unregister: true},
		// The Firebase client retries one 503 itself, at once.
		{name: "one 503", setup: func(f *fcmtest.Server) { f.Fail(1, 503, "") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := fcmtest.New(t)
			tc.setup(fake)
			err := newSender(t, fake, fake.Endpoint()).Send(context.Background(), []push.Message{status("tok-1")})[0]
			var re *push.RetryError
			switch {
			case tc.unregister:
				if !errors.Is(err, push.ErrUnregistered) {
					t.Fatalf("err = %v, want ErrUnregistered", err)
				}
			case tc.retry:
				if !errors.As(err, &re) || re.After != tc.after {
					t.Fatalf("err = %#v, want a RetryError after %s", err, tc.after)
				}
			case err != nil:
				t.Fatalf("err = %v, want delivered", err)
			}
		})
	}
}

// An unreachable FCM is worth retrying; the attempt's context bounds it.
func TestSender_Unreachable(t *testing.T) {
	fake := fcmtest.New(t)
	dead := fcmtest.Unreachable(t)
	s := newSender(t, fake, dead)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var re *push.RetryError
	if err := s.Send(ctx, []push.Message{status("tok-1")})[0]; !errors.As(err, &re) {
		t.Fatalf("err = %v, want a RetryError", err)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{"-1", 0},
		{"soon", 0},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	} {
		if got := fcm.RetryAfter(tc.in, now); got != tc.want {
			t.Errorf("RetryAfter(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:9/":   "http://127.0.0.1:9/v1",
		"http://127.0.0.1:9/v1": "http://127.0.0.1:9/v1",
		"https://fcm.example":   "https://fcm.example/v1",
	} {
		if got := fcm.BaseURL(in); got != want {
			t.Errorf("BaseURL(%q) = %q, want %q", in, got, want)
		}
	}
}
