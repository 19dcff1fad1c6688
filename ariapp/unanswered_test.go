package ariapp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v6"

	"github.com/earshot/earshot"
)

// unanswered is what the client returns when Asterisk does not answer in
// time: the request may have been carried out, or may be later.
func unanswered(call string) error {
	return &url.Error{Op: "Post", URL: "http://127.0.0.1:8088/ari/" + call, Err: context.DeadlineExceeded}
}

func TestIsUnanswered(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"client timeout", unanswered("channels/x/mute"), true},
		{"connection refused", fmt.Errorf("switch: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}), true},
		{"deadline", fmt.Errorf("ari: %w", context.DeadlineExceeded), true},
		{"Asterisk's 500", &APIError{Status: http.StatusInternalServerError}, true},
		{"Asterisk's 503", fmt.Errorf("x: %w", &APIError{Status: http.StatusServiceUnavailable}), true},
		{"not found", notFound(), false},
		{"refused: not in Stasis", &APIError{Status: http.StatusUnprocessableEntity}, false},
		{"conflict", &APIError{Status: http.StatusConflict}, false},
		{"cancelled by the caller", context.Canceled, false},
		{"other", errors.New("boom"), false},
		{"nil", nil, false},
	} {
		if got := IsUnanswered(tc.err); got != tc.want {
			t.Errorf("%s: IsUnanswered(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

// mutedAfter says whether channel ch's whisper is muted after the calls,
// taking every mute and unmute asked for as carried out (an unanswered
// one may be), in order.
func mutedAfter(calls []string, ch string, initially bool) bool {
	muted := initially
	for _, c := range calls {
		switch c {
		case "mute " + ch + " out":
			muted = true
		case "unmute " + ch + " out":
			muted = false
		}
	}
	return muted
}

// A switch Asterisk does not answer: the caller is told the phone system
// did not answer (503), the mode stays, and nothing the unanswered
// request might still open stays open — the agent never hears a
// supervisor told they are in listen, the customer never one told they
// whisper.
func TestSession_UnansweredSwitch(t *testing.T) {
	unavailable := func(t *testing.T, err error) {
		t.Helper()
		if earshot.ErrorCode(err) != earshot.EUNAVAILABLE {
			t.Fatalf("switch: %v, want unavailable", err)
		}
		if !strings.Contains(err.Error(), "did not answer") {
			t.Errorf("message %q", err)
		}
	}
	t.Run("listen to whisper: the whisper is muted again", func(t *testing.T) {
		b := newBench(t, benchOpts{})
		s := b.connected()
		snoop := b.app.objectID(s.ID, "snoop", 1)
		b.ast.fail["unmute "+snoop] = unanswered("unmute")
		from := len(b.ast.Calls())
		unavailable(t, b.app.SetMode(context.Background(), s.ID, earshot.ModeWhisper))
		if got := b.mode(s.ID); got != earshot.ModeListen {
			t.Fatalf("mode %s", got)
		}
		if !mutedAfter(b.ast.Calls()[from:], snoop, true) {
			t.Fatalf("the spy snoop's whisper is left open: %q", b.ast.Calls()[from:])
		}
		delete(b.ast.fail, "unmute "+snoop)
		b.toMode(s.ID, earshot.ModeWhisper) // a later try works
		b.supervisorHangsUp()
	})
	t.Run("whisper to barge: the barge path goes", func(t *testing.T) {
		b := newBench(t, benchOpts{})
		s := b.connected()
		b.toMode(s.ID, earshot.ModeWhisper)
		tap, feed, bridge := b.app.objectID(s.ID, "tap", 2), b.app.objectID(s.ID, "feed", 2), b.app.objectID(s.ID, "bargebridge", 2)
		b.ast.fail["unmute "+feed] = unanswered("unmute")
		unavailable(t, b.app.SetMode(context.Background(), s.ID, earshot.ModeBarge))
		if got := b.mode(s.ID); got != earshot.ModeWhisper {
			t.Fatalf("mode %s", got)
		}
		b.asked("hangup "+tap, "hangup "+feed, "delete "+bridge)
		// Still whispering: the path is prepared again for the next try.
		b.eventually("a new barge path", func() bool {
			return slices.ContainsFunc(b.ast.Calls(), func(c string) bool { return strings.HasPrefix(c, "add "+b.app.objectID(s.ID, "bargebridge", 3)) })
		})
		b.supervisorHangsUp()
	})
	t.Run("listen to barge: both open steps are undone", func(t *testing.T) {
		b := newBench(t, benchOpts{})
		s := b.connected()
		snoop, feed := b.app.objectID(s.ID, "snoop", 1), b.app.objectID(s.ID, "feed", 2)
		b.ast.fail["unmute "+feed] = unanswered("unmute")
		from := len(b.ast.Calls())
		unavailable(t, b.app.SetMode(context.Background(), s.ID, earshot.ModeBarge))
		if got := b.mode(s.ID); got != earshot.ModeListen {
			t.Fatalf("mode %s", got)
		}
		calls := b.ast.Calls()[from:]
		if !mutedAfter(calls, snoop, true) || !slices.Contains(calls, "hangup "+feed) {
			t.Fatalf("left open: %q", calls)
		}
		b.supervisorHangsUp()
	})
	t.Run("the whisper cannot be muted again: the session ends", func(t *testing.T) {
		b := newBench(t, benchOpts{})
		s := b.connected()
		snoop := b.app.objectID(s.ID, "snoop", 1)
		b.ast.fail["unmute "+snoop] = unanswered("unmute")
		b.ast.fail["mute "+snoop] = unanswered("mute")
		if err := b.app.SetMode(context.Background(), s.ID, earshot.ModeWhisper); err == nil {
			t.Fatal("switch reported success")
		}
		if r := b.ended(); r != earshot.EndFailed {
			t.Fatalf("ended: %s, want failed", r)
		}
		b.asked("hangup " + snoop)
		b.idle()
	})
	t.Run("a refused feed after an opened whisper: the whisper is undone", func(t *testing.T) {
		// Not about timeouts: the second step refused outright (4xx), the
		// first undone; if that undo fails, the session ends.
		b := newBench(t, benchOpts{})
		s := b.connected()
		snoop, feed := b.app.objectID(s.ID, "snoop", 1), b.app.objectID(s.ID, "feed", 2)
		b.ast.fail["unmute "+feed] = &APIError{Status: http.StatusConflict}
		b.ast.fail["mute "+snoop] = &APIError{Status: http.StatusConflict}
		if err := b.app.SetMode(context.Background(), s.ID, earshot.ModeBarge); err == nil {
			t.Fatal("switch reported success")
		}
		if r := b.ended(); r != earshot.EndFailed {
			t.Fatalf("ended: %s, want failed", r)
		}
		b.idle()
	})
}

// A snoop the session let go of because its hang-up failed is tried
// again at once and, failing that too, removed by the next sweep, though
// its session lives on.
func TestSession_HangupFailureLetsGo(t *testing.T) {
	b := newBench(t, benchOpts{})
	s := b.connected()
	b.toMode(s.ID, earshot.ModeWhisper)
	feed := b.app.objectID(s.ID, "feed", 2)
	b.ast.fail["hangup "+feed] = unanswered("hangup")
	if err := b.app.SetMode(context.Background(), s.ID, earshot.ModeListen); err != nil {
		t.Fatal(err)
	}
	b.next()
	b.eventually("a second try", func() bool { return b.ast.count("hangup "+feed) >= 2 })
	delete(b.ast.fail, "hangup "+feed)
	b.ast.channels = []ari.ChannelData{{ID: agentLeg}, {ID: custLeg}, {ID: supLeg}, {ID: b.app.objectID(s.ID, "snoop", 1)}, {ID: feed}}
	if err := b.app.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.eventually("the sweep's hang-up", func() bool { return b.ast.count("hangup "+feed) >= 3 })
	if b.mode(s.ID) != earshot.ModeListen {
		t.Fatalf("session %s", b.mode(s.ID))
	}
	if n := b.ast.count("hangup " + b.app.objectID(s.ID, "snoop", 1)); n != 0 {
		t.Fatalf("the sweep hung up the session's own spy snoop (%d)", n)
	}
	b.supervisorHangsUp()
}

// strictAudit refuses a record whose context is done, as the store does.
type strictAudit struct{ e []earshot.AuditEntry }

func (s *strictAudit) Record(ctx context.Context, e earshot.AuditEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.e = append(s.e, e)
	return nil
}

// The audit record of a session's end is written even when the teardown
// before it spent its deadline on a slow Asterisk.
func TestApp_AuditOutlivesItsCaller(t *testing.T) {
	b := newBench(t, benchOpts{})
	rec := &strictAudit{}
	b.app.cfg.Audit = rec
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	b.app.audit(ctx, earshot.AuditEntry{Kind: earshot.AuditEnd, Session: "s1"})
	if len(rec.e) != 1 || rec.e[0].Session != "s1" {
		t.Fatalf("recorded %+v", rec.e)
	}
}
