package httpapi_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/earshot/earshot/httpapi"
	"github.com/earshot/earshot/internal/logbuf"
)

// The debug access log, and the error logs, show a push token of a
// device route shortened to its last 8 characters, never whole.
func TestServer_LogsNoDeviceToken(t *testing.T) {
	var logs logbuf.Buffer
	e := newEnv(t, func(c *httpapi.Config) {
		c.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	const token = "fcm:APA91bHPRgkFLJu6tEWsE0R8tK1x3mDqWZfU0hoZu7sJ-secret-middle-part-XyZ12345"
	tok := e.token("sara")
	wantStatus(t, e.do("PUT", "/api/v1/devices/"+token, tok, `{"platform":"android"}`), http.StatusNoContent)
	wantStatus(t, e.do("DELETE", "/api/v1/devices/"+token, tok, nil), http.StatusNoContent)
	wantStatus(t, e.do("PUT", "/api/v1/devices/"+token, tok, `{"platform":"windows"}`), http.StatusUnprocessableEntity)
	out := logs.String()
	if strings.Count(out, "http request") < 3 || !strings.Contains(out, "XyZ12345") {
		t.Fatalf("no access log lines with the token's tail:\n%s", out)
	}
	if strings.Contains(out, "secret-middle-part") {
		t.Fatalf("a log line holds the whole token:\n%s", out)
	}
}
