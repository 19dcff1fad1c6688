package ariapp_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/ariapp"
	"github.com/earshot/earshot/internal/audio"
	"github.com/earshot/earshot/internal/phones"
)

// Only the supervisor steers: the agent's and the customer's phones press
// 4, 5 and 6 while a supervisor listens (or whispers); the mode stays, and
// on the recordings nobody hears the supervisor beyond what the mode
// allows — the customer never, the agent only while whispering.
func TestSupervise_OnlySupervisorSteers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		start earshot.Mode
		agent string
	}{{earshot.ModeListen, "ag15"}, {earshot.ModeWhisper, "ag16"}} {
		t.Run(string(tc.start), func(t *testing.T) {
			fx := newFixture(t, fixtureOpts{})
			ctx := context.Background()
			call := fx.serviceCall(tc.agent, phones.ViaDial)
			sup, sess := fx.supervise("sara", "sara", saraNumber, tc.agent)
			if tc.start != earshot.ModeListen {
				if err := fx.app.SetMode(ctx, sess.ID, tc.start); err != nil {
					t.Fatal(err)
				}
				fx.waitSession(earshot.SessionModeChanged, "sara")
			}
			from := time.Now()
			for _, party := range []string{tc.agent, "customer"} {
				for _, keys := range []string{"6", "5", "4", "6"} {
					if _, err := call.PressKeys(ctx, party, keys); err != nil {
						t.Fatal(err)
					}
					time.Sleep(300 * time.Millisecond)
				}
			}
			// A key being sent interrupts the audio sent to the agent for
			// its duration (Asterisk's DTMF handling), whisper included:
			// the agent is checked on the second after the keys.
			keysDone, to := hold(time.Second)
			if got := fx.app.Sessions("sara"); len(got) != 1 || got[0].Mode != tc.start {
				t.Fatalf("sessions after other parties' keys: %+v, want one in %s", got, tc.start)
			}
			select {
			case ev := <-fx.events:
				t.Fatalf("session event %s (mode %s) after other parties' keys", ev.Kind, ev.Session.Mode)
			default:
			}
			if err := call.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			fx.waitSession(earshot.SessionEnded, "sara")
			rc, ra := recording(t, call, "customer"), recording(t, call, tc.agent)
			audio.AssertNotHears(t, rc.Recording, "customer", phones.SupervisorHz, rc.Between(from, to.Add(-60*time.Millisecond)))
			if tc.start == earshot.ModeListen {
				audio.AssertNotHears(t, ra.Recording, "agent", phones.SupervisorHz, ra.Between(from, to.Add(-60*time.Millisecond)))
			} else {
				audio.AssertHears(t, ra.Recording, "agent (whisper, after the keys)", phones.SupervisorHz, ra.Between(keysDone.Add(200*time.Millisecond), to.Add(-60*time.Millisecond)))
			}
			_ = sup
		})
	}
}

// Three calls from the supervisor's number on one offer at the same
// moment: exactly one connects; the others hear the notice and never a
// moment of call audio.
func TestSupervise_OneOfferOneSession(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, fixtureOpts{})
	ctx := context.Background()
	call := fx.serviceCall("ag17", phones.ViaDial)
	offer(t, fx, "sara", "ag17")
	names := []string{"sara", "sam", "sid"} // three phones, one caller id
	sups := make([]*phones.Call, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			c, err := fx.h.Supervisor(ctx, phones.SupervisorOpts{Name: name, Number: saraNumber, App: fx.name})
			if err != nil {
				t.Error(err)
				return
			}
			sups[i] = c
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	fx.waitSession(earshot.SessionStarted, "sara")
	var rejected []int
	deadline := time.Now().Add(10 * time.Second)
	for len(rejected) < 2 && time.Now().Before(deadline) {
		rejected = rejected[:0]
		for i, c := range sups {
			if c.Gone(c.SupervisorLeg) {
				rejected = append(rejected, i)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(rejected) != 2 {
		t.Fatalf("%d calls rejected, want 2", len(rejected))
	}
	if n := len(fx.app.Sessions("")); n != 1 {
		t.Fatalf("%d sessions, want 1", n)
	}
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	fx.waitSession(earshot.SessionEnded, "sara")
	for _, i := range rejected {
		r := recording(t, sups[i], names[i])
		all := audio.Interval{To: r.Duration()}
		audio.AssertNotHears(t, r.Recording, names[i]+" (rejected)", phones.CustomerHz, all)
		audio.AssertNotHears(t, r.Recording, names[i]+" (rejected)", phones.AgentHz, all)
	}
	got := 0
	for _, reason := range fx.audit.rejects() {
		if reason == earshot.RejectNoOffer {
			got++
		}
	}
	if got != 2 {
		t.Errorf("audit no_offer rejects %d, want 2 (%v)", got, fx.audit.rejects())
	}
}

// A connect that fails after the claim (Asterisk refuses the bridge)
// leaves the offer usable: the supervisor calls again and connects.
func TestSupervise_FailedConnectReleasesOffer(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, fixtureOpts{})
	ctx := context.Background()
	call := fx.serviceCall("ag18", phones.ViaDial)
	offer(t, fx, "sara", "ag18")
	ariapp.FailOnce(fx.app, "bridge")
	first, err := fx.h.Supervisor(ctx, phones.SupervisorOpts{Name: "sara", Number: saraNumber, App: fx.name})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.WaitGone(ctx, first.SupervisorLeg); err != nil {
		t.Fatalf("failed call not hung up: %v", err)
	}
	if _, err := fx.offers.Resolve("sara"); err != nil {
		t.Fatalf("offer after a failed connect: %v, want usable", err)
	}
	second, err := fx.h.Supervisor(ctx, phones.SupervisorOpts{Name: "sara", Number: saraNumber, App: fx.name})
	if err != nil {
		t.Fatal(err)
	}
	fx.waitSession(earshot.SessionStarted, "sara")
	from, to := hold(time.Second)
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	r := recording(t, second, "sara")
	audio.AssertHears(t, r.Recording, "supervisor (second call)", phones.CustomerHz, r.Between(from.Add(200*time.Millisecond), to.Add(-60*time.Millisecond)))
}
