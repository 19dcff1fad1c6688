package ariapp_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/ariapp"
	"github.com/earshot/earshot/internal/audio"
	"github.com/earshot/earshot/internal/phones"
)

// One supervisor call switched L→W→B→L→B→W: the hearing matrix is exact
// in every interval, the agent hears the join tone and nobody else does,
// and the supervisor's silence at each switch is measured.
func TestSupervise_ModeSwitching(t *testing.T) {
	t.Parallel()
	modeSequence(t, "alice", phones.ViaDial, earshot.ModeWhisper, earshot.ModeBarge, earshot.ModeListen, earshot.ModeBarge, earshot.ModeWhisper)
}

// The first escalation straight to barge builds the barge path at that
// moment (docs/design.md §2.6); the supervisor still hears the call
// throughout, and every matrix after it is exact. A call through Queue():
// the customer's side is the queue caller's channel.
func TestSupervise_StraightToBarge(t *testing.T) {
	t.Parallel()
	modeSequence(t, "dave", phones.ViaQueue, earshot.ModeBarge, earshot.ModeWhisper, earshot.ModeListen, earshot.ModeWhisper)
}

// modeSequence supervises agent's call through the modes given after
// listen, a second in each, and checks the hearing matrix of every span,
// the join tone and the supervisor's longest silence around each switch.
func modeSequence(t *testing.T, agent string, via phones.Via, modes ...earshot.Mode) {
	fx := newFixture(t, fixtureOpts{})
	ctx := context.Background()
	call := fx.serviceCall(agent, via)
	sup, sess := fx.supervise("sara", "sara", saraNumber, agent)
	connected := time.Now()
	if sess.Mode != earshot.ModeListen {
		t.Fatalf("session started in %s, want listen (R5)", sess.Mode)
	}

	var spans []span
	var switches []time.Time
	from, to := hold(1000 * time.Millisecond)
	spans = append(spans, span{"listen#1", from, to, earshot.ModeListen})
	for i, m := range modes {
		switches = append(switches, time.Now())
		if err := fx.app.SetMode(ctx, sess.ID, m); err != nil {
			t.Fatalf("switch %d to %s: %v", i+1, m, err)
		}
		from, to := hold(1000 * time.Millisecond)
		spans = append(spans, span{string(m) + "#" + string(rune('2'+i)), from, to, m})
	}
	if got := fx.app.Sessions("sara"); len(got) != 1 || got[0].Mode != modes[len(modes)-1] {
		t.Errorf("sessions = %+v, want one in %s", got, modes[len(modes)-1])
	}
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	fx.waitSession(earshot.SessionEnded, "sara")

	rs, rc, ra := recording(t, sup, "sara"), recording(t, call, "customer"), recording(t, call, agent)
	for _, s := range spans {
		assertMatrix(t, s, rs, rc, ra)
	}
	// R10: the agent hears the tone soon after the supervisor joins.
	if at, ok := ra.FirstPresent(phones.BeepHz, ra.At(connected.Add(-100*time.Millisecond))); !ok || at > ra.At(connected.Add(time.Second)) {
		t.Errorf("agent did not hear the join tone within 1 s of connect (first at %v, ok %v)", at, ok)
	}
	// From the connect (or the recording's start, should MixMonitor have
	// started later on a loaded machine) to the end.
	whole := func(r *phones.Heard) audio.Interval {
		iv := r.Between(connected, spans[len(spans)-1].to)
		iv.From = max(iv.From, 0)
		return iv
	}
	audio.AssertNotHears(t, rc.Recording, "customer (join tone)", phones.BeepHz, whole(rc))
	audio.AssertNotHears(t, rs.Recording, "supervisor (join tone)", phones.BeepHz, whole(rs))

	for i, at := range switches {
		iv := rs.Between(at.Add(-300*time.Millisecond), at.Add(400*time.Millisecond))
		gap := rs.LongestGap([]float64{phones.CustomerHz, phones.AgentHz}, iv)
		t.Logf("switch %d (%s → %s): supervisor's longest silence %v", i+1, spans[i].mode, spans[i+1].mode, gap)
	}
}

// Whisper reaches the agent while the customer phone sends silence: the
// customer's recording holds no supervisor audio at all.
func TestSupervise_WhisperNotHeardByCustomer(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, fixtureOpts{tone: "off"})
	ctx := context.Background()
	call := fx.serviceCallWith(phones.ServiceOpts{Pool: "sales", Agent: "bob", Via: phones.ViaQueue, CustomerTone: phones.Silent})
	sup, sess := fx.supervise("sara", "sara", saraNumber, "bob")
	if err := fx.app.SetMode(ctx, sess.ID, earshot.ModeWhisper); err != nil {
		t.Fatal(err)
	}
	from, to := hold(1500 * time.Millisecond)
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	rc, ra := recording(t, call, "customer"), recording(t, call, "bob")
	audio.AssertHears(t, ra.Recording, "agent", phones.SupervisorHz, ra.Between(from.Add(200*time.Millisecond), to.Add(-60*time.Millisecond)))
	audio.AssertNotHears(t, rc.Recording, "customer", phones.SupervisorHz, audio.Interval{To: rc.At(to)})
	_ = sup
}

// Two supervisors on one call, in different modes: each matrix exact.
func TestSupervise_TwoSupervisors(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, fixtureOpts{})
	ctx := context.Background()
	call := fx.serviceCall("carol", phones.ViaLocalQueue)
	supA, sessA := fx.supervise("sara", "sara", saraNumber, "carol")
	// The second supervisor plays no tone of its own so that each
	// supervisor's audio is told apart: sam is silent, sara whispers.
	if _, err := fx.offers.Offer(ctx, "sam", "carol", earshot.OfferAdHoc); err != nil {
		t.Fatal(err)
	}
	supB, err := fx.h.Supervisor(ctx, phones.SupervisorOpts{Name: "sam", Number: samNumber, App: fx.name, Tone: phones.Silent})
	if err != nil {
		t.Fatal(err)
	}
	sessB := fx.waitSession(earshot.SessionStarted, "sam")
	if err := fx.app.SetMode(ctx, sessA.ID, earshot.ModeWhisper); err != nil {
		t.Fatal(err)
	}
	if err := fx.app.SetMode(ctx, sessB.ID, earshot.ModeBarge); err != nil {
		t.Fatal(err)
	}
	from, to := hold(1000 * time.Millisecond)
	if got := fx.app.Sessions(""); len(got) != 2 {
		t.Errorf("live sessions = %d, want 2", len(got))
	}
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	rA, rB := recording(t, supA, "sara"), recording(t, supB, "sam")
	rc, ra := recording(t, call, "customer"), recording(t, call, "carol")
	assertMatrix(t, span{"sara whisper", from, to, earshot.ModeWhisper}, rA, rc, ra)
	// sam (barge, silent) hears the call but not sara's whisper, which
	// goes to the agent only.
	iv := span{"sam barge", from, to, earshot.ModeBarge}
	audio.AssertHears(t, rB.Recording, "sam", phones.CustomerHz, iv.on(rB))
	audio.AssertHears(t, rB.Recording, "sam", phones.AgentHz, iv.on(rB))
}

// Each party hanging up ends the session and leaks nothing (checked by
// the fixture's cleanup).
func TestSupervise_Hangup(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, agent string
		end         func(ctx context.Context, fx *fixture, call, sup *phones.Call, sess earshot.Session) error
	}{
		{"Supervisor", "ag01", func(ctx context.Context, fx *fixture, call, sup *phones.Call, _ earshot.Session) error {
			return sup.HangupParty(ctx, "sara")
		}},
		{"Agent", "ag02", func(ctx context.Context, fx *fixture, call, sup *phones.Call, _ earshot.Session) error {
			return call.HangupParty(ctx, "ag02")
		}},
		{"Customer", "ag03", func(ctx context.Context, fx *fixture, call, sup *phones.Call, _ earshot.Session) error {
			return call.HangupParty(ctx, "customer")
		}},
		{"API", "ag04", func(ctx context.Context, fx *fixture, call, sup *phones.Call, sess earshot.Session) error {
			return fx.app.Hangup(ctx, sess.ID)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t, fixtureOpts{})
			ctx := context.Background()
			call := fx.serviceCall(tc.agent, phones.ViaDial)
			sup, sess := fx.supervise("sara", "sara", saraNumber, tc.agent)
			if err := tc.end(ctx, fx, call, sup, sess); err != nil {
				t.Fatal(err)
			}
			fx.waitSession(earshot.SessionEnded, "sara")
			// The supervisor's call is over whoever ended the session.
			if err := sup.WaitGone(ctx, sup.SupervisorLeg); err != nil {
				t.Errorf("supervisor's leg still up: %v", err)
			}
			if got := fx.app.Sessions(""); len(got) != 0 {
				t.Errorf("sessions after hang-up: %+v", got)
			}
		})
	}
}

// Supervising calls that must not connect hear a notice and are hung up,
// and never a moment of call audio.
func TestSupervise_Rejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, agent, number, reason string
		codes                       bool
		digits                      string
		prepare                     func(t *testing.T, fx *fixture, call *phones.Call)
	}{
		{name: "UnknownNumber", agent: "ag05", number: "+358409999999", reason: earshot.RejectUnknownNumber,
			prepare: func(t *testing.T, fx *fixture, _ *phones.Call) { offer(t, fx, "sara", "ag05") }},
		{name: "NoOffer", agent: "ag06", number: saraNumber, reason: earshot.RejectNoOffer},
		{name: "ExpiredOffer", agent: "ag07", number: saraNumber, reason: earshot.RejectOfferExpired,
			prepare: func(t *testing.T, fx *fixture, _ *phones.Call) {
				offer(t, fx, "sara", "ag07")
				fx.clock.advance(3 * time.Minute)
			}},
		{name: "CallEnded", agent: "ag08", number: saraNumber, reason: earshot.RejectCallEnded,
			prepare: func(t *testing.T, fx *fixture, call *phones.Call) {
				offer(t, fx, "sara", "ag08")
				// The offer survives the call only until the withdrawal
				// runs; hang up and call at once to hit the window, or
				// get no_offer: both must reject without audio.
				if err := call.Hangup(context.Background()); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "FeatureOff", agent: "ag09", number: saraNumber, reason: earshot.RejectFeatureOff,
			prepare: func(t *testing.T, fx *fixture, _ *phones.Call) {
				offer(t, fx, "sara", "ag09")
				if err := fx.dir.SetFeature("acme", earshot.FeatureSupervising, false); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "WrongCode", agent: "ag10", number: saraNumber, reason: earshot.RejectBadCode, codes: true, digits: "wrong",
			prepare: func(t *testing.T, fx *fixture, _ *phones.Call) { offer(t, fx, "sara", "ag10") }},
		{name: "OutOfScope", agent: "ag11", number: sidNumber, reason: earshot.RejectNoOffer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t, fixtureOpts{codes: tc.codes})
			ctx := context.Background()
			call := fx.serviceCall(tc.agent, phones.ViaDial)
			if tc.prepare != nil {
				tc.prepare(t, fx, call)
			}
			digits := ""
			if tc.digits == "wrong" {
				o, _ := fx.offers.Resolve("sara")
				digits = wrongCode(o.Code) + "#"
			}
			sup, err := fx.h.Supervisor(ctx, phones.SupervisorOpts{Name: "sara", Number: tc.number, App: fx.name, Digits: digits})
			if err != nil {
				t.Fatal(err)
			}
			if err := sup.WaitGone(ctx, sup.SupervisorLeg); err != nil {
				t.Fatalf("rejected call not hung up: %v", err)
			}
			r := recording(t, sup, "sara")
			all := audio.Interval{From: 0, To: r.Duration()}
			audio.AssertNotHears(t, r.Recording, "rejected caller", phones.CustomerHz, all)
			audio.AssertNotHears(t, r.Recording, "rejected caller", phones.AgentHz, all)
			got := fx.audit.rejects()
			want := tc.reason
			if tc.name == "CallEnded" && slices.Contains(got, earshot.RejectNoOffer) {
				want = earshot.RejectNoOffer
			}
			if !slices.Contains(got, want) {
				t.Errorf("audit rejects = %v, want %s", got, want)
			}
			if len(fx.app.Sessions("")) != 0 {
				t.Error("a rejected call produced a session")
			}
		})
	}
}

// The right code connects.
func TestSupervise_OneTimeCode(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, fixtureOpts{codes: true})
	ctx := context.Background()
	call := fx.serviceCall("erin", phones.ViaQueue)
	o := offer(t, fx, "sara", "erin")
	if len(o.Code) != 4 {
		t.Fatalf("offer code %q, want 4 digits", o.Code)
	}
	sup, err := fx.h.Supervisor(ctx, phones.SupervisorOpts{Name: "sara", Number: saraNumber, App: fx.name, Digits: o.Code + "#"})
	if err != nil {
		t.Fatal(err)
	}
	fx.waitSession(earshot.SessionStarted, "sara")
	from, to := hold(1000 * time.Millisecond)
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	rs := recording(t, sup, "sara")
	audio.AssertHears(t, rs.Recording, "supervisor", phones.CustomerHz, rs.Between(from.Add(200*time.Millisecond), to.Add(-60*time.Millisecond)))
	// Single use: the same offer cannot connect again.
	if _, err := fx.offers.Resolve("sara"); err == nil {
		t.Error("offer still valid after connecting")
	}
}

// DTMF on the supervisor's own call switches the mode (5 = whisper).
func TestSupervise_DTMF(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, fixtureOpts{})
	ctx := context.Background()
	call := fx.serviceCall("ag12", phones.ViaDial)
	offer(t, fx, "sara", "ag12")
	sup, err := fx.h.Supervisor(ctx, phones.SupervisorOpts{Name: "sara", Number: saraNumber, App: fx.name, Digits: "5"})
	if err != nil {
		t.Fatal(err)
	}
	sess := fx.waitSession(earshot.SessionModeChanged, "sara")
	if sess.Mode != earshot.ModeWhisper {
		t.Fatalf("mode after DTMF 5 = %s, want whisper", sess.Mode)
	}
	from, to := hold(1000 * time.Millisecond)
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	ra := recording(t, call, "ag12")
	// The simulated phone starts its voice only once its keys are sent,
	// about when the switch happens; on a loaded machine that start has
	// come 300 ms later, so the check leaves it room.
	audio.AssertHears(t, ra.Recording, "agent", phones.SupervisorHz, ra.Between(from.Add(400*time.Millisecond), to.Add(-60*time.Millisecond)))
	_ = sup
}

// Pools that reach agents with Queue() and Dial() are tracked; a direct
// call is neither offered nor connectable (R6).
func TestTracker_DirectCallsAreNotServiceCalls(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, fixtureOpts{})
	ctx := context.Background()
	call, err := fx.h.Service(ctx, phones.ServiceOpts{Agent: "frank", Via: phones.Direct})
	if err != nil {
		t.Fatal(err)
	}
	// A later service call of another agent proves events were flowing.
	fx.serviceCall("grace", phones.ViaLocalQueue)
	if _, err := fx.app.Tracker().CallOf("frank"); !errors.Is(err, earshot.ErrNotOnCall) {
		t.Errorf("direct call tracked as a service call: %v", err)
	}
	if _, err := fx.offers.Offer(ctx, "sara", "frank", earshot.OfferAdHoc); !errors.Is(err, earshot.ErrNotOnCall) {
		t.Errorf("offer for a direct call: err = %v, want ErrNotOnCall", err)
	}
	sup, err := fx.h.Supervisor(ctx, phones.SupervisorOpts{Name: "sara", Number: saraNumber, App: fx.name})
	if err != nil {
		t.Fatal(err)
	}
	if err := sup.WaitGone(ctx, sup.SupervisorLeg); err != nil {
		t.Fatal(err)
	}
	r := recording(t, sup, "sara")
	audio.AssertNotHears(t, r.Recording, "supervisor", phones.AgentHz, audio.Interval{To: r.Duration()})
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}

func offer(t *testing.T, fx *fixture, sup, agent string) earshot.Offer {
	t.Helper()
	o, err := fx.offers.Offer(context.Background(), sup, agent, earshot.OfferAdHoc)
	if err != nil {
		t.Fatalf("offer %s → %s: %v", sup, agent, err)
	}
	return o
}

func wrongCode(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

// With agent-tone "every", the agent hears the tone again on each
// escalation to whisper or barge (and still only the agent).
func TestSupervise_ToneOnEveryEscalation(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, fixtureOpts{tone: "every"})
	ctx := context.Background()
	call := fx.serviceCall("ag13", phones.ViaDial)
	sup, sess := fx.supervise("sara", "sara", saraNumber, "ag13")
	hold(1500 * time.Millisecond) // let the join tone pass
	escalated := time.Now()
	if err := fx.app.SetMode(ctx, sess.ID, earshot.ModeBarge); err != nil {
		t.Fatal(err)
	}
	_, to := hold(1200 * time.Millisecond)
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	ra, rc, rs := recording(t, call, "ag13"), recording(t, call, "customer"), recording(t, sup, "sara")
	if at, ok := ra.FirstPresent(phones.BeepHz, ra.At(escalated)); !ok || at > ra.At(escalated.Add(time.Second)) {
		t.Errorf("agent did not hear the tone within 1 s of escalating (first at %v, ok %v)", at, ok)
	}
	audio.AssertNotHears(t, rc.Recording, "customer (tone)", phones.BeepHz, rc.Between(escalated, to.Add(-60*time.Millisecond)))
	audio.AssertNotHears(t, rs.Recording, "supervisor (tone)", phones.BeepHz, rs.Between(escalated, to.Add(-60*time.Millisecond)))
}

// Earshot shutting down with a live session hangs up the supervisor's leg
// and removes its snoop and bridge (the fixture checks for leaks).
func TestSupervise_Shutdown(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, fixtureOpts{})
	fx.serviceCall("ag14", phones.ViaDial)
	sup, _ := fx.supervise("sara", "sara", saraNumber, "ag14")
	fx.stop()
	if err := sup.WaitGone(context.Background(), sup.SupervisorLeg); err != nil {
		t.Fatalf("supervisor leg still up after shutdown: %v", err)
	}
}

// Earshot asks Asterisk for the events it acts on only: with subscribeAll
// the others (dialplan steps, variables) are most of the stream.
func TestApp_EventFilter(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, fixtureOpts{})
	want := ariapp.WantedEvents()
	slices.Sort(want)
	var got []string
	phones.WaitFor(t, 5*time.Second, "the event filter set", func() bool {
		got, _ = fx.app.Client().EventsAllowed(context.Background(), fx.name)
		slices.Sort(got)
		return slices.Equal(got, want)
	})
}
