package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/httpapi"
)

type sseEvent struct{ name, data string }

// newStreamServer serves e over HTTP. Its Close is a cleanup registered
// before any stream's, so streams end first: Close waits for every open
// request, and a stream stays open until its client goes.
func newStreamServer(t *testing.T, e *env) *httptest.Server {
	ts := httptest.NewServer(e.srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

// openStream connects to the event stream and returns its events (comments
// as name ":<text>"); the channel closes when the stream ends. It returns
// once the server says the stream is open, so nothing published after it
// returns is missed.
func openStream(t *testing.T, ts *httptest.Server, token string) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ch := make(chan sseEvent, 64)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, ":"):
				ch <- sseEvent{name: ":" + strings.TrimSpace(line[1:])}
			case strings.HasPrefix(line, "event: "):
				ev.name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[len("data: "):]
			case line == "" && ev.name != "":
				ch <- ev
				ev = sseEvent{}
			}
		}
	}()
	if ev := <-ch; ev.name != ":connected" {
		t.Fatalf("first line %+v, want the connected comment", ev)
	}
	return ch
}

// next returns the next event that is not a comment.
func next(t *testing.T, ch <-chan sseEvent) sseEvent {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("stream ended")
			}
			if !strings.HasPrefix(ev.name, ":") {
				return ev
			}
		case <-deadline:
			t.Fatal("no event within 5 s")
		}
	}
}

func TestEvents_Get(t *testing.T) {
	t.Run("OfferToItsSupervisorOnly", func(t *testing.T) {
		e := newEnv(t)
		ts := newStreamServer(t, e)
		sara, gus := e.token("sara"), e.token("gus")
		saraEvents, gusEvents := openStream(t, ts, sara), openStream(t, ts, gus)

		wantStatus(t, e.do("POST", "/api/v1/users/alice/listen", sara, nil), http.StatusCreated)
		ev := next(t, saraEvents)
		if ev.name != "offer" {
			t.Fatalf("event %+v", ev)
		}
		var offer map[string]any
		if err := json.Unmarshal([]byte(ev.data), &offer); err != nil {
			t.Fatal(err)
		}
		if offer["id"] != "offer-alice" || offer["agent"] != "alice" || offer["dial_uri"] != "tel:+35891234599,0427#" || offer["source"] != "ad_hoc" {
			t.Errorf("offer %s", ev.data)
		}
		// gus's next event is his own offer: sara's never reached him.
		wantStatus(t, e.do("POST", "/api/v1/users/gina/listen", gus, nil), http.StatusCreated)
		if ev := next(t, gusEvents); ev.name != "offer" || !strings.Contains(ev.data, `"agent":"gina"`) {
			t.Fatalf("gus got %+v", ev)
		}
	})
	t.Run("CallsAndSessions", func(t *testing.T) {
		e := newEnv(t)
		ts := newStreamServer(t, e)
		saraEvents, samEvents, gusEvents := openStream(t, ts, e.token("sara")), openStream(t, ts, e.token("sam")), openStream(t, ts, e.token("gus"))

		// A call in sales: sara sees it, sam (support only) and gus do not.
		e.calls.start(earshot.ServiceCall{ID: "call-b", Agent: "bob", Pool: "sales", Since: t0})
		e.calls.feed.Publish(earshot.CallEvent{Call: earshot.ServiceCall{ID: "call-b", Agent: "bob", Pool: "sales", Since: t0}, Ended: true})
		if ev := next(t, saraEvents); ev.name != "call_started" || ev.data != `{"agent":"bob","pool":"sales","call_id":"call-b","since":"2025-11-24T09:00:00Z"}` {
			t.Fatalf("sara got %+v", ev)
		}
		if ev := next(t, saraEvents); ev.name != "call_ended" {
			t.Fatalf("sara got %+v", ev)
		}
		ses := earshot.Session{ID: "ses-2", Supervisor: "sam", Agent: "bob", Pool: "support", Mode: earshot.ModeWhisper, StartedAt: t0}
		e.super.feed.Publish(earshot.SessionEvent{Session: ses, Kind: earshot.SessionModeChanged})
		if ev := next(t, samEvents); ev.name != "mode_changed" || !strings.Contains(ev.data, `"actions":["listen","barge"]`) {
			t.Fatalf("sam got %+v", ev)
		}
		e.super.feed.Publish(earshot.SessionEvent{Session: ses, Kind: earshot.SessionEnded, Reason: "hangup"})
		if ev := next(t, samEvents); ev.name != "session_ended" || !strings.Contains(ev.data, `"reason":"hangup"`) {
			t.Fatalf("sam got %+v", ev)
		}
		e.calls.start(earshot.ServiceCall{ID: "call-g2", Agent: "gina", Pool: "gsales", Since: t0})
		if ev := next(t, gusEvents); ev.name != "call_started" || !strings.Contains(ev.data, "call-g2") {
			t.Fatalf("gus got %+v", ev)
		}
		e.calls.start(earshot.ServiceCall{ID: "call-s", Agent: "bob", Pool: "support", Since: t0})
		if ev := next(t, saraEvents); ev.name != "call_started" || !strings.Contains(ev.data, "call-s") {
			t.Fatalf("sara got %+v", ev)
		}
	})
	t.Run("EndsWhenFeatureOff", func(t *testing.T) {
		e := newEnv(t, func(c *httpapi.Config) { c.Heartbeat = 10 * time.Millisecond })
		ts := newStreamServer(t, e)
		events := openStream(t, ts, e.token("sara"))
		if ev := <-events; ev.name != ":heartbeat" {
			t.Fatalf("got %+v, want a heartbeat", ev)
		}
		wantStatus(t, e.do("DELETE", "/api/v1/admin/orgs/acme/features/supervising", adminToken, nil), http.StatusNoContent)
		deadline := time.After(5 * time.Second)
		for {
			select {
			case _, ok := <-events:
				if !ok {
					return
				}
			case <-deadline:
				t.Fatal("stream still open after the feature was disabled")
			}
		}
	})
}
