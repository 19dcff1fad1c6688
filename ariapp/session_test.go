package ariapp

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v6"

	"github.com/earshot/earshot"
)

func TestSession_ConnectsInListen(t *testing.T) {
	b := newBench(t, benchOpts{tone: ToneConnect})
	s := b.connected()
	if s.Mode != earshot.ModeListen || s.Agent != "alice" || s.CallID != agentLeg {
		t.Fatalf("session %+v", s)
	}
	// The tone and the offer's consumption follow the connect event.
	b.eventually("the agent tone played", func() bool { return b.ast.count("play ") == 1 })
	b.eventually("the offer consumed", func() bool { _, err := b.offers.Resolve("sara"); return err != nil })
	calls := strings.Join(b.ast.Calls(), "\n")
	for _, want := range []string{"snoop agent1", "whisper=out", "mute ", "absorb ", "add ", "spy=none whisper=out"} {
		if !strings.Contains(calls, want) {
			t.Errorf("no %q in calls:\n%s", want, calls)
		}
	}
	if b.ast.count("play ") != 1 {
		t.Errorf("agent tone played %d times, want 1", b.ast.count("play "))
	}
	if _, err := b.offers.Resolve("sara"); err == nil {
		t.Error("offer still valid after connecting: single use")
	}
	b.ast.feed(stasisEnd(supLeg))
	if r := b.ended(); r != earshot.EndSupervisorHungUp {
		t.Fatalf("ended: %s", r)
	}
	b.clean(supLeg)
}

// Only the supervisor's own leg steers (issue: the agent's keypad put the
// supervisor in barge).
func TestSession_KeysOfOtherLegsDoNotSteer(t *testing.T) {
	for _, start := range []earshot.Mode{earshot.ModeListen, earshot.ModeWhisper} {
		for _, leg := range []string{agentLeg, custLeg, "other-session-leg"} {
			t.Run(string(start)+"/"+leg, func(t *testing.T) {
				b := newBench(t, benchOpts{})
				s := b.connected()
				if err := b.app.SetMode(context.Background(), s.ID, start); err != nil {
					t.Fatal(err)
				}
				if start != earshot.ModeListen {
					b.next() // mode_changed
				}
				before := len(b.ast.Calls())
				// The snoop is routed to the session too: its keys count as
				// the agent's.
				snoop := b.app.objectID(s.ID, "snoop", 1)
				for _, d := range []string{"4", "5", "6"} {
					b.ast.feed(dtmf(leg, d), dtmf(snoop, d))
				}
				// A key of the supervisor's proves the queue was worked through.
				b.ast.feed(dtmf(supLeg, "#"))
				time.Sleep(50 * time.Millisecond)
				if got := b.mode(s.ID); got != start {
					t.Fatalf("mode %s after keys from %s, want %s", got, leg, start)
				}
				if after := b.ast.Calls()[before:]; len(after) != 0 {
					t.Fatalf("keys from %s made calls: %q", leg, after)
				}
				select {
				case ev := <-b.events:
					t.Fatalf("event %s after keys from %s", ev.Kind, leg)
				default:
				}
			})
		}
	}
}

func TestSession_SupervisorKeysSwitch(t *testing.T) {
	b := newBench(t, benchOpts{})
	b.connected()
	for _, tc := range []struct {
		key  string
		want earshot.Mode
	}{{"5", earshot.ModeWhisper}, {"6", earshot.ModeBarge}, {"4", earshot.ModeListen}, {"6", earshot.ModeBarge}, {"5", earshot.ModeWhisper}} {
		b.ast.feed(dtmf(supLeg, tc.key))
		if ev := b.next(); ev.Kind != earshot.SessionModeChanged || ev.Session.Mode != tc.want {
			t.Fatalf("key %s: %s %s, want %s", tc.key, ev.Kind, ev.Session.Mode, tc.want)
		}
	}
	// Duplicate keys: no change, no event, no call.
	before := len(b.ast.Calls())
	b.ast.feed(dtmf(supLeg, "5"), dtmf(supLeg, "5"))
	b.ast.feed(stasisEnd(supLeg), stasisEnd(supLeg), destroyed(supLeg))
	if r := b.ended(); r != earshot.EndSupervisorHungUp {
		t.Fatalf("ended: %s", r)
	}
	for _, c := range b.ast.Calls()[before:] {
		if strings.HasPrefix(c, "unmute") || strings.HasPrefix(c, "snoop") {
			t.Errorf("duplicate key made %q", c)
		}
	}
	b.clean(supLeg)
	select {
	case ev := <-b.events:
		t.Fatalf("a second %s after the end", ev.Kind)
	default:
	}
}

// During each kind of switch, each party hangs up or a key arrives in the
// same batch as the event the switch waits for: nothing is lost, and the
// session ends (or switches again) as soon as the switch completes.
func TestSession_EventsDuringSwitches(t *testing.T) {
	type party struct {
		name   string
		events func(s earshot.Session) []ari.Event
		reason earshot.EndReason
	}
	parties := []party{
		{"supervisor", func(earshot.Session) []ari.Event { return []ari.Event{stasisEnd(supLeg)} }, earshot.EndSupervisorHungUp},
		{"agent", func(earshot.Session) []ari.Event { return []ari.Event{destroyed(agentLeg)} }, earshot.EndCallEnded},
		// The customer hanging up ends the agent leg; the spy snoop goes
		// with it, and may be heard of first.
		{"customer", func(s earshot.Session) []ari.Event {
			return []ari.Event{stasisEnd(s.CallID + "-snoop-placeholder"), destroyed(agentLeg)}
		}, earshot.EndCallEnded},
	}
	switches := []struct {
		name     string
		from, to earshot.Mode
		at       string // the call during which the events arrive
	}{
		{"listen→whisper", earshot.ModeListen, earshot.ModeWhisper, "unmute"},
		// The barge path built right after the first whisper.
		{"listen→whisper, while the barge path is built", earshot.ModeListen, earshot.ModeWhisper, "snoop"},
		{"whisper→listen", earshot.ModeWhisper, earshot.ModeListen, "mute"},
		{"whisper→barge", earshot.ModeWhisper, earshot.ModeBarge, "unmute"},
		{"barge→listen", earshot.ModeBarge, earshot.ModeListen, "mute"},
		// The first escalation straight to barge builds the path first.
		{"listen→barge", earshot.ModeListen, earshot.ModeBarge, "snoop"},
		{"listen→barge, at add", earshot.ModeListen, earshot.ModeBarge, "add"},
	}
	for _, sw := range switches {
		for _, p := range parties {
			t.Run(sw.name+"/"+p.name+" hangs up", func(t *testing.T) {
				b := newBench(t, benchOpts{})
				s := b.connected()
				b.toMode(s.ID, sw.from)
				armed := true
				b.ast.before = func(call string) bool {
					if armed && strings.HasPrefix(call, sw.at+" ") {
						armed = false
						b.ast.feed(p.events(s)...)
					}
					return false
				}
				_ = b.app.SetMode(context.Background(), s.ID, sw.to)
				if r := b.ended(); r != p.reason {
					t.Fatalf("ended: %s, want %s", r, p.reason)
				}
				b.clean(supLeg)
			})
		}
		t.Run(sw.name+"/supervisor key", func(t *testing.T) {
			b := newBench(t, benchOpts{})
			s := b.connected()
			b.toMode(s.ID, sw.from)
			armed := true
			b.ast.before = func(call string) bool {
				if armed && strings.HasPrefix(call, sw.at+" ") {
					armed = false
					b.ast.feed(dtmf(supLeg, "6"), dtmf(agentLeg, "4"))
				}
				return false
			}
			if err := b.app.SetMode(context.Background(), s.ID, sw.to); err != nil {
				t.Fatal(err)
			}
			if ev := b.next(); ev.Session.Mode != sw.to {
				t.Fatalf("first change to %s, want %s", ev.Session.Mode, sw.to)
			}
			if sw.to != earshot.ModeBarge {
				if ev := b.next(); ev.Session.Mode != earshot.ModeBarge {
					t.Fatalf("the key pressed during the switch: mode %s, want barge", ev.Session.Mode)
				}
			}
			if got := b.mode(s.ID); got != earshot.ModeBarge {
				t.Fatalf("mode %s, want barge (the supervisor's key)", got)
			}
		})
	}
}

// toMode switches through the API and consumes the event; after an
// escalation it waits until the barge path is in its bridge, so that a
// test arms its hooks on a quiet session.
func (b *bench) toMode(id string, m earshot.Mode) {
	b.t.Helper()
	if m == earshot.ModeListen {
		return
	}
	if err := b.app.SetMode(context.Background(), id, m); err != nil {
		b.t.Fatal(err)
	}
	if ev := b.next(); ev.Session.Mode != m {
		b.t.Fatalf("mode %s, want %s", ev.Session.Mode, m)
	}
	b.eventually("the barge path in its bridge", func() bool {
		return slices.ContainsFunc(b.ast.Calls(), func(c string) bool {
			return strings.HasPrefix(c, "add "+b.app.objectID(id, "bargebridge", 0))
		})
	})
}

func TestSession_SnoopTrouble(t *testing.T) {
	t.Run("spy snoop ends before it enters Stasis", func(t *testing.T) {
		b := newBench(t, benchOpts{})
		b.ast.noStasis[".snoop1"] = true
		b.ast.before = func(call string) bool {
			if strings.HasPrefix(call, "snoop ") {
				id := strings.Fields(call)[2]
				b.ast.feed(stasisEnd(id), &ari.StasisStart{Channel: ari.ChannelData{ID: id}})
			}
			return false
		}
		b.dial(supLeg, saraTel)
		b.clean(supLeg)
		if _, err := b.offers.Resolve("sara"); err != nil {
			t.Fatalf("offer after a failed connect: %v, want it usable again", err)
		}
		b.ast.before = nil
		b.ast.noStasis = map[string]bool{}
		b.connected() // the supervisor calls again
	})
	t.Run("spy snoop never enters Stasis", func(t *testing.T) {
		b := newBench(t, benchOpts{})
		b.ast.noStasis[".snoop1"] = true
		b.dial(supLeg, saraTel)
		b.clean(supLeg)
		if _, err := b.offers.Resolve("sara"); err != nil {
			t.Fatalf("offer after a failed connect: %v", err)
		}
	})
	t.Run("barge feed never enters Stasis", func(t *testing.T) {
		b := newBench(t, benchOpts{})
		s := b.connected()
		b.ast.noStasis[".feed2"] = true
		if err := b.app.SetMode(context.Background(), s.ID, earshot.ModeBarge); err == nil {
			t.Fatal("switch succeeded without its snoop")
		}
		if got := b.mode(s.ID); got != earshot.ModeListen {
			t.Fatalf("mode %s after a failed switch, want listen", got)
		}
		b.toMode(s.ID, earshot.ModeWhisper) // the session still works
		b.supervisorHangsUp()
	})
	t.Run("duplicate StasisStart of the tone snoop plays once", func(t *testing.T) {
		b := newBench(t, benchOpts{tone: ToneConnect})
		s := b.connected()
		beep := b.app.objectID(s.ID, "beep", 2)
		b.ast.feed(&ari.StasisStart{Channel: ari.ChannelData{ID: beep}})
		b.ast.feed(dtmf(supLeg, "5"))
		b.next()
		if n := b.ast.count("play "); n != 1 {
			t.Fatalf("tone played %d times", n)
		}
		// The tone snoop ending is not the call ending.
		b.ast.feed(stasisEnd(beep), destroyed(beep), destroyed("unrelated"), stasisEnd("earshot.other.snoop1"))
		b.ast.feed(dtmf(supLeg, "4"))
		if ev := b.next(); ev.Kind != earshot.SessionModeChanged {
			t.Fatalf("got %s after ends of other channels", ev.Kind)
		}
	})
}

func TestSession_ShutdownMidSwitch(t *testing.T) {
	b := newBench(t, benchOpts{})
	s := b.connected()
	b.ast.noStasis[".tap2"] = true
	b.app.snoopWait = 5 * time.Second
	b.ast.before = func(call string) bool {
		if strings.HasPrefix(call, "snoop ") {
			go b.cancel()
		}
		return false
	}
	_ = b.app.SetMode(context.Background(), s.ID, earshot.ModeBarge)
	if r := b.ended(); r != earshot.EndShutdown {
		t.Fatalf("ended: %s", r)
	}
	b.clean(supLeg)
}

func TestSession_APIHangupAndRevocation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		end    func(b *bench, s earshot.Session)
		reason earshot.EndReason
		notice bool
	}{
		{"hangup", func(b *bench, s earshot.Session) { _ = b.app.Hangup(context.Background(), s.ID) }, earshot.EndHungUp, false},
		{"feature off", func(b *bench, s earshot.Session) {
			b.app.EndWhere(context.Background(), func(x earshot.Session) bool { return x.Org == "acme" }, earshot.EndFeatureOff)
		}, earshot.EndFeatureOff, true},
		{"revoked", func(b *bench, s earshot.Session) {
			b.app.EndWhere(context.Background(), func(x earshot.Session) bool { return x.Supervisor == "sara" }, earshot.EndAccessRevoked)
		}, earshot.EndAccessRevoked, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t, benchOpts{})
			s := b.connected()
			tc.end(b, s)
			if r := b.ended(); r != tc.reason {
				t.Fatalf("ended: %s", r)
			}
			b.clean(supLeg)
			if got := b.ast.count("play "+supLeg) > 0; got != tc.notice {
				t.Fatalf("notice played: %v, want %v", got, tc.notice)
			}
		})
	}
	t.Run("no match ends nothing", func(t *testing.T) {
		b := newBench(t, benchOpts{})
		b.connected()
		if n := b.app.EndWhere(context.Background(), func(x earshot.Session) bool { return x.Org == "other" }, earshot.EndFeatureOff); n != 0 {
			t.Fatalf("ended %d", n)
		}
	})
}

func TestSession_Codes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		keys    func(code string) []string
		connect bool
	}{
		{"digits in one batch", func(c string) []string { return strings.Split(c, "") }, true},
		{"digits and hash in one batch", func(c string) []string { return append(strings.Split(c, ""), "#") }, true},
		{"wrong code", func(c string) []string { return []string{"9", "9", "9", "9"} }, false},
		{"short code, hash", func(c string) []string { return []string{c[:1], "#"} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t, benchOpts{codes: true})
			var events []ari.Event
			// Keys from the agent's leg are never code digits.
			events = append(events, dtmf(agentLeg, "1"))
			for _, k := range tc.keys(b.offer.Code) {
				events = append(events, dtmf(supLeg, k))
			}
			b.ast.before = func(call string) bool {
				if call == "answer "+supLeg {
					b.ast.feed(events...)
				}
				return false
			}
			b.ast.feed(&ari.StasisStart{EventData: ari.EventData{Application: "earshot"}, Args: []string{"supervise"}, Channel: ari.ChannelData{
				ID: supLeg, State: "Ring", Caller: &ari.CallerID{Number: saraTel},
			}})
			if tc.connect {
				if ev := b.next(); ev.Kind != earshot.SessionStarted {
					t.Fatalf("got %s", ev.Kind)
				}
				return
			}
			b.clean(supLeg)
			if b.app.Stats().Rejects[earshot.RejectBadCode] != 1 {
				t.Fatalf("rejects %v", b.app.Stats().Rejects)
			}
			if _, err := b.offers.Resolve("sara"); err != nil {
				t.Fatalf("offer after one wrong code: %v, want usable", err)
			}
		})
	}
}

// Several calls on one offer at the same moment: exactly one connects.
func TestSession_OfferAdmitsOneCall(t *testing.T) {
	b := newBench(t, benchOpts{})
	legs := []string{"supA", "supB", "supC"}
	for _, leg := range legs {
		b.dial(leg, saraTel)
	}
	if ev := b.next(); ev.Kind != earshot.SessionStarted {
		t.Fatalf("got %s", ev.Kind)
	}
	b.idleRejected(2)
	if n := len(b.app.Sessions("")); n != 1 {
		t.Fatalf("%d sessions, want 1", n)
	}
	if got := b.app.Stats().Rejects[earshot.RejectNoOffer]; got != 2 {
		t.Fatalf("no_offer rejects %d, want 2", got)
	}
	// The rejected legs heard the notice and never joined a bridge.
	for _, c := range b.ast.Calls() {
		if strings.HasPrefix(c, "absorb ") && !strings.Contains(c, b.app.Sessions("")[0].ID) {
			t.Errorf("a rejected call joined a bridge: %q", c)
		}
	}
}

// idleRejected waits until n supervising calls have been rejected.
func (b *bench) idleRejected(n int64) {
	b.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var got int64
		for _, v := range b.app.Stats().Rejects {
			got += v
		}
		if got >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.t.Fatalf("rejects %v, want %d", b.app.Stats().Rejects, n)
}

func TestSession_ConnectFailureReleasesOffer(t *testing.T) {
	b := newBench(t, benchOpts{})
	b.ast.fail["bridge "] = errors.New("boom")
	b.dial(supLeg, saraTel)
	b.clean(supLeg)
	if got := b.app.Stats().Rejects[earshot.RejectInternal]; got != 1 {
		t.Fatalf("rejects %v", b.app.Stats().Rejects)
	}
	delete(b.ast.fail, "bridge ")
	b.ast.gone = nil
	b.dial("sup2", saraTel)
	if ev := b.next(); ev.Kind != earshot.SessionStarted {
		t.Fatalf("second call: %s", ev.Kind)
	}
}

// A reconciliation sweep whose channel listing was taken before a
// session's leg appeared must not end that session (the false "supervisor
// hung up" seen under SIP load); a leg truly missing ends it.
func TestReconcile_SessionsNewerThanTheListing(t *testing.T) {
	b := newBench(t, benchOpts{})
	b.ast.channels = []ari.ChannelData{{ID: agentLeg}, {ID: custLeg}}
	b.ast.listing = func() {
		b.connected() // the supervisor's call arrives while the sweep lists
	}
	if err := b.app.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.ast.listing = nil
	time.Sleep(50 * time.Millisecond)
	if n := len(b.app.Sessions("")); n != 1 {
		t.Fatalf("%d sessions after the sweep, want 1 (its leg is newer than the listing)", n)
	}
	// The next sweep sees the leg missing for real.
	if err := b.app.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := b.ended(); r != earshot.EndSupervisorHungUp {
		t.Fatalf("ended: %s", r)
	}
	b.clean(supLeg)
}

// The gate (R9): each reason a call is turned away, with the notice and
// never a bridge.
func TestSession_Rejects(t *testing.T) {
	for _, tc := range []struct {
		name, number, reason string
		prepare              func(b *bench)
	}{
		{"unknown number", "+358409999999", earshot.RejectUnknownNumber, nil},
		{"invalid number", "", earshot.RejectUnknownNumber, nil},
		{"no offer", saraTel, earshot.RejectNoOffer, func(b *bench) {
			if _, err := b.offers.Claim(context.Background(), "sara"); err != nil {
				b.t.Fatal(err)
			}
			b.offers.Consume(b.offer.ID)
		}},
		{"claimed by another call", saraTel, earshot.RejectNoOffer, func(b *bench) {
			if _, err := b.offers.Claim(context.Background(), "sara"); err != nil {
				b.t.Fatal(err)
			}
		}},
		{"call ended", saraTel, earshot.RejectCallEnded, func(b *bench) {
			// The tracker forgets the call; the offer's withdrawal (not
			// running here) would come later.
			b.app.tracker.handle(destroyed(agentLeg))
		}},
		{"feature off", saraTel, earshot.RejectFeatureOff, func(b *bench) {
			if err := b.dir.SetFeature("acme", earshot.FeatureSupervising, false); err != nil {
				b.t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t, benchOpts{})
			if tc.prepare != nil {
				tc.prepare(b)
			}
			b.dial(supLeg, tc.number)
			b.idleRejected(1)
			b.clean(supLeg)
			if got := b.app.Stats().Rejects[tc.reason]; got != 1 {
				t.Fatalf("rejects %v, want one %s", b.app.Stats().Rejects, tc.reason)
			}
			if b.ast.count("play "+supLeg) != len(Notice) {
				t.Errorf("notice: %q", b.ast.Calls())
			}
			if b.ast.count("absorb ") != 0 {
				t.Error("a rejected call joined a bridge")
			}
		})
	}
	t.Run("hang-up during the notice cuts it short", func(t *testing.T) {
		b := newBench(t, benchOpts{})
		b.ast.before = func(call string) bool {
			if strings.HasPrefix(call, "play "+supLeg) {
				b.ast.feed(stasisEnd(supLeg))
			}
			return false
		}
		b.dial(supLeg, "+358409999999")
		b.idleRejected(1)
		b.clean()
		if n := b.ast.count("play " + supLeg); n != 1 {
			t.Fatalf("%d notice tones after the caller hung up, want 1", n)
		}
	})
}

func TestSession_ToneSnoopEndsAfterItsPlayback(t *testing.T) {
	b := newBench(t, benchOpts{tone: ToneEvery})
	b.ast.before = func(call string) bool {
		if f := strings.Fields(call); f[0] == "play" && strings.HasSuffix(f[3], "sound:beep") {
			b.ast.feed(&ari.PlaybackFinished{Playback: ari.PlaybackData{ID: f[2], TargetURI: "channel:" + f[1]}})
		}
		return false
	}
	s := b.connected()
	b.toMode(s.ID, earshot.ModeWhisper) // every escalation beeps too
	b.ast.feed(dtmf(supLeg, "#"))
	deadline := time.Now().Add(2 * time.Second)
	for b.ast.count("hangup earshot.") < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := b.ast.count("hangup earshot."); n != 2 {
		t.Fatalf("%d tone snoops hung up after their playback, want 2: %q", n, b.ast.Calls())
	}
}

func TestSession_FailedSteps(t *testing.T) {
	t.Run("unmute refused: mode stays", func(t *testing.T) {
		b := newBench(t, benchOpts{})
		s := b.connected()
		b.ast.fail["unmute "] = errors.New("boom")
		if err := b.app.SetMode(context.Background(), s.ID, earshot.ModeWhisper); err == nil {
			t.Fatal("switch reported success")
		}
		if got := b.mode(s.ID); got != earshot.ModeListen {
			t.Fatalf("mode %s", got)
		}
	})
	t.Run("feed's mute refused: the path is removed, mode stays", func(t *testing.T) {
		b := newBench(t, benchOpts{})
		s := b.connected()
		b.ast.fail["mute "] = errors.New("boom")
		if err := b.app.SetMode(context.Background(), s.ID, earshot.ModeBarge); err == nil {
			t.Fatal("switch reported success")
		}
		if got := b.mode(s.ID); got != earshot.ModeListen {
			t.Fatalf("mode %s, want listen", got)
		}
		b.asked("hangup "+b.app.objectID(s.ID, "tap", 2), "hangup "+b.app.objectID(s.ID, "feed", 2), "delete "+b.app.objectID(s.ID, "bargebridge", 2))
	})
	t.Run("path refused by its bridge: the switch fails, a later one works", func(t *testing.T) {
		b := newBench(t, benchOpts{})
		s := b.connected()
		b.ast.fail["add "] = errors.New("boom")
		if err := b.app.SetMode(context.Background(), s.ID, earshot.ModeBarge); err == nil {
			t.Fatal("switch reported success")
		}
		if got := b.mode(s.ID); got != earshot.ModeListen {
			t.Fatalf("mode %s, want listen", got)
		}
		delete(b.ast.fail, "add ")
		b.toMode(s.ID, earshot.ModeBarge)
		b.supervisorHangsUp()
	})
	t.Run("second mute leaving barge refused: the first is undone", func(t *testing.T) {
		b := newBench(t, benchOpts{})
		s := b.connected()
		b.toMode(s.ID, earshot.ModeBarge)
		snoop, feed := b.app.objectID(s.ID, "snoop", 1), b.app.objectID(s.ID, "feed", 2)
		b.ast.fail["mute "+snoop] = errors.New("boom")
		from := len(b.ast.Calls())
		if err := b.app.SetMode(context.Background(), s.ID, earshot.ModeListen); err == nil {
			t.Fatal("switch reported success")
		}
		if got := b.mode(s.ID); got != earshot.ModeBarge {
			t.Fatalf("mode %s, want barge", got)
		}
		want := []string{"mute " + feed + " out", "mute " + snoop + " out", "unmute " + feed + " out"}
		if got := b.ast.Calls()[from:]; !slices.Equal(got, want) {
			t.Fatalf("calls %q, want %q", got, want)
		}
	})
	t.Run("commands to an ended session", func(t *testing.T) {
		b := newBench(t, benchOpts{})
		s := b.connected()
		b.ast.feed(stasisEnd(supLeg))
		b.ended()
		b.idle()
		if err := b.app.SetMode(context.Background(), s.ID, earshot.ModeWhisper); !errors.Is(err, earshot.ErrSessionNotFound) {
			t.Fatalf("SetMode: %v", err)
		}
		if err := b.app.Hangup(context.Background(), s.ID); !errors.Is(err, earshot.ErrSessionNotFound) {
			t.Fatalf("Hangup: %v", err)
		}
		if err := b.app.SetMode(context.Background(), s.ID, "shout"); earshot.ErrorCode(err) != earshot.EINVALID {
			t.Fatalf("bad mode: %v", err)
		}
	})
}

// Every switch is mutes alone (docs/design.md §2.6): the bridge the
// supervisor hears the call through keeps its snoop from connect to end;
// the barge path is built after a whisper (or for a barge straight from
// listen), opened and closed by mutes, and removed back in listen.
func TestSession_SwitchesOnlyMute(t *testing.T) {
	b := newBench(t, benchOpts{})
	s := b.connected()
	snoop := b.app.objectID(s.ID, "snoop", 1)
	feed := func(n int) string { return b.app.objectID(s.ID, "feed", n) }
	tests := []struct {
		to      earshot.Mode
		mutes   []string // the mute and unmute calls, in order
		removed int      // the barge path removed after the switch, or 0
	}{
		{earshot.ModeWhisper, []string{"unmute " + snoop, "mute " + feed(2)}, 0},
		{earshot.ModeBarge, []string{"unmute " + feed(2)}, 0},
		{earshot.ModeListen, []string{"mute " + feed(2), "mute " + snoop}, 2},
		// From listen the feed opens after the agent's whisper: the tap
		// hears nothing until then, so both hear the supervisor at once.
		{earshot.ModeBarge, []string{"mute " + feed(3), "unmute " + snoop, "unmute " + feed(3)}, 0},
		{earshot.ModeWhisper, []string{"mute " + feed(3)}, 0},
		{earshot.ModeListen, []string{"mute " + snoop}, 3},
	}
	for i, tc := range tests {
		from := len(b.ast.Calls())
		if tc.to == earshot.ModeListen {
			if err := b.app.SetMode(context.Background(), s.ID, tc.to); err != nil {
				t.Fatal(err)
			}
			b.next()
		} else {
			b.toMode(s.ID, tc.to)
		}
		var mutes []string
		for _, c := range b.ast.Calls()[from:] {
			if f := strings.Fields(c); f[0] == "mute" || f[0] == "unmute" {
				mutes = append(mutes, f[0]+" "+f[1])
			}
		}
		if !slices.Equal(mutes, tc.mutes) {
			t.Errorf("switch %d to %s: %q, want %q", i+1, tc.to, mutes, tc.mutes)
		}
		if n := tc.removed; n > 0 {
			b.asked("hangup "+b.app.objectID(s.ID, "tap", n), "hangup "+feed(n), "delete "+b.app.objectID(s.ID, "bargebridge", n))
		}
	}
	for _, c := range b.ast.Calls() {
		if c == "hangup "+snoop || (strings.HasPrefix(c, "add "+b.app.objectID(s.ID, "bridge", 0)+" ") && c != "add "+b.app.objectID(s.ID, "bridge", 0)+" "+snoop) {
			t.Errorf("the supervisor's bridge changed: %q", c)
		}
	}
	b.supervisorHangsUp()
}

// A barge path channel hung up by someone else: in barge the path is
// rebuilt and opened at once; otherwise the next barge builds it. The
// call's own end never triggers a rebuild.
func TestSession_BargePathLost(t *testing.T) {
	t.Run("in barge", func(t *testing.T) {
		b := newBench(t, benchOpts{})
		s := b.connected()
		b.toMode(s.ID, earshot.ModeBarge)
		b.ast.feed(stasisEnd(b.app.objectID(s.ID, "feed", 2)))
		feed3 := b.app.objectID(s.ID, "feed", 3)
		b.eventually("a rebuilt, open path", func() bool { return slices.Contains(b.ast.Calls(), "unmute "+feed3+" out") })
		b.asked("hangup "+b.app.objectID(s.ID, "tap", 2), "delete "+b.app.objectID(s.ID, "bargebridge", 2))
		if got := b.mode(s.ID); got != earshot.ModeBarge {
			t.Fatalf("mode %s", got)
		}
		b.supervisorHangsUp()
	})
	t.Run("in whisper", func(t *testing.T) {
		b := newBench(t, benchOpts{})
		s := b.connected()
		b.toMode(s.ID, earshot.ModeWhisper)
		b.ast.feed(destroyed(b.app.objectID(s.ID, "tap", 2)))
		b.eventually("the path removed", func() bool {
			return slices.Contains(b.ast.Calls(), "delete "+b.app.objectID(s.ID, "bargebridge", 2))
		})
		if n := b.ast.count("snoop "); n != 3 {
			t.Fatalf("%d snoops: rebuilt outside barge", n)
		}
		b.toMode(s.ID, earshot.ModeBarge)
		if !slices.Contains(b.ast.Calls(), "unmute "+b.app.objectID(s.ID, "feed", 3)+" out") {
			t.Fatalf("barge did not open a new path: %q", b.ast.Calls())
		}
		b.supervisorHangsUp()
	})
	t.Run("in barge, and the rebuild fails", func(t *testing.T) {
		b := newBench(t, benchOpts{})
		s := b.connected()
		b.toMode(s.ID, earshot.ModeBarge)
		b.ast.fail["snoop "] = errors.New("boom")
		b.ast.feed(stasisEnd(b.app.objectID(s.ID, "tap", 2)))
		if ev := b.next(); ev.Kind != earshot.SessionModeChanged || ev.Session.Mode != earshot.ModeWhisper {
			t.Fatalf("got %s %s, want a change to whisper (the customer no longer hears)", ev.Kind, ev.Session.Mode)
		}
		delete(b.ast.fail, "snoop ")
		b.toMode(s.ID, earshot.ModeBarge) // a later barge builds a new path
		b.supervisorHangsUp()
	})
	t.Run("the call ends", func(t *testing.T) {
		b := newBench(t, benchOpts{})
		s := b.connected()
		b.toMode(s.ID, earshot.ModeBarge)
		b.ast.feed(stasisEnd(b.app.objectID(s.ID, "feed", 2)), stasisEnd(b.app.objectID(s.ID, "snoop", 1)), destroyed(agentLeg))
		if r := b.ended(); r != earshot.EndCallEnded {
			t.Fatalf("ended: %s", r)
		}
		b.clean(supLeg)
		if n := b.ast.count("snoop "); n != 3 {
			t.Fatalf("%d snoops: a rebuild was tried for a call that ended", n)
		}
	})
}

// The barge feed whispers into what the customer's side is sent when the
// agent leg has one bridge peer, and into what the agent says otherwise.
func TestSession_BargeFeedTarget(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want string // the feed's snoop call, after its id
	}{
		{"one peer", map[string]string{
			agentLeg + " BRIDGEPEER":                            "PJSIP/trunk-00000007",
			agentLeg + " IMPORT(PJSIP/trunk-00000007,UNIQUEID)": "cust1",
		}, "spy=none whisper=out on cust1"},
		{"no peer", nil, "spy=none whisper=in on " + agentLeg},
		{"a conference", map[string]string{agentLeg + " BRIDGEPEER": "PJSIP/a-1,PJSIP/b-2"}, "spy=none whisper=in on " + agentLeg},
		{"peer gone before its id was read", map[string]string{agentLeg + " BRIDGEPEER": "PJSIP/trunk-00000007"}, "spy=none whisper=in on " + agentLeg},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t, benchOpts{})
			b.ast.vars = tc.vars
			s := b.connected()
			b.toMode(s.ID, earshot.ModeBarge)
			feed := b.app.objectID(s.ID, "feed", 2)
			var got string
			for _, c := range b.ast.Calls() {
				if f := strings.Fields(c); f[0] == "snoop" && f[2] == feed {
					got = f[3] + " " + f[4] + " on " + f[1]
				}
			}
			if got != tc.want {
				t.Fatalf("feed %q, want %q", got, tc.want)
			}
		})
	}
}
