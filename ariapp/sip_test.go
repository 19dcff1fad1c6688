package ariapp_test

import (
	"context"
	"testing"
	"time"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/internal/audio"
	"github.com/earshot/earshot/internal/phones"
)

// operatorTrunk is the sandbox's trunk (pjsip_earshot_test.conf): calls
// through it are identified by its credentials and carry the caller's
// number as the operator delivers it.
const operatorUser, operatorPassword = "operator", "earshot-test-operator"

// sipCall is a service call between real SIP phones.
type sipCall struct {
	customer, agent *phones.SIPPhone
}

// sipServiceCall registers the agent's phone, has the customer's phone
// call exten, and waits until Earshot tracks the agent on the call.
func (fx *fixture) sipServiceCall(agent, customer, exten string) sipCall {
	fx.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := fx.h.SIP(ctx, phones.SIPOpts{User: agent, Register: true, Tone: phones.AgentHz})
	if err != nil {
		fx.t.Fatal(err)
	}
	c, err := fx.h.SIP(ctx, phones.SIPOpts{User: customer, Tone: phones.CustomerHz})
	if err != nil {
		fx.t.Fatal(err)
	}
	events := fx.app.Tracker().Subscribe(ctx)
	if err := c.Call(ctx, exten); err != nil {
		fx.t.Fatal(err)
	}
	if err := a.WaitAnswered(ctx); err != nil {
		fx.t.Fatal(err)
	}
	awaitCall(fx.t, events, agent)
	return sipCall{customer: c, agent: a}
}

// sipSupervisor offers the agent's call to sup, who calls the supervising
// number through the operator's trunk with their number in national
// format (0401234567 for +358401234567), and waits for the session.
func (fx *fixture) sipSupervisor(sup, national, agent string) (*phones.SIPPhone, earshot.Session, time.Time) {
	fx.t.Helper()
	ctx := context.Background()
	if _, err := fx.offers.Offer(ctx, sup, agent, earshot.OfferAdHoc); err != nil {
		fx.t.Fatalf("offer %s → %s: %v", sup, agent, err)
	}
	p, err := fx.h.SIP(ctx, phones.SIPOpts{User: national, AuthUser: operatorUser, AuthPassword: operatorPassword, Tone: phones.SupervisorHz})
	if err != nil {
		fx.t.Fatal(err)
	}
	if err := p.Call(ctx, "sup-"+fx.name); err != nil {
		fx.t.Fatal(err)
	}
	sess := fx.waitSession(earshot.SessionStarted, sup)
	return p, sess, time.Now()
}

// Real SIP phones (baresip over PJSIP on loopback, G.711 µ-law RTP,
// RFC 4733 DTMF): a customer calls a pool that reaches the agent's
// registered phone through Queue() with a PJSIP member; the supervisor
// calls in over a trunk that delivers their number in national format,
// and switches listen → whisper → barge → listen with keys on their own
// phone. The recordings show the hearing matrix in every mode and the
// agent tone heard by the agent only.
func TestSIP_QueuePJSIPMember(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, fixtureOpts{})
	call := fx.sipServiceCall("sipa1", "sipc1", "squeue-sales-sipa1")
	sup, _, connected := fx.sipSupervisor("sara", "0401234567", "sipa1")

	keys := map[earshot.Mode]string{earshot.ModeListen: "4", earshot.ModeWhisper: "5", earshot.ModeBarge: "6"}
	var spans []span
	from, to := hold(1000 * time.Millisecond)
	spans = append(spans, span{"listen#1", from, to, earshot.ModeListen})
	for i, m := range []earshot.Mode{earshot.ModeWhisper, earshot.ModeBarge, earshot.ModeListen} {
		if err := sup.Keys(keys[m]); err != nil {
			t.Fatal(err)
		}
		if s := fx.waitSession(earshot.SessionModeChanged, "sara"); s.Mode != m {
			t.Fatalf("key %d: mode %s, want %s", i+1, s.Mode, m)
		}
		from, to := hold(1000 * time.Millisecond)
		spans = append(spans, span{string(m) + "#" + string(rune('2'+i)), from, to, m})
	}
	if err := call.customer.Hangup(); err != nil {
		t.Fatal(err)
	}
	fx.waitSession(earshot.SessionEnded, "sara")
	rs, rc, ra := sipRecording(t, sup), sipRecording(t, call.customer), sipRecording(t, call.agent)
	for _, s := range spans {
		assertMatrix(t, s, rs, rc, ra)
	}
	// R10 on a real phone: the agent hears the tone soon after the
	// supervisor joins; the customer and the supervisor never do.
	if at, ok := ra.FirstPresent(phones.BeepHz, ra.At(connected.Add(-time.Second))); !ok || at > ra.At(connected.Add(time.Second)) {
		t.Errorf("agent did not hear the join tone within 1 s of connect (first at %v, ok %v)", at, ok)
	}
	whole := func(r *phones.Heard) audio.Interval {
		return audio.Interval{From: max(r.At(connected.Add(-time.Second)), 0), To: r.At(spans[len(spans)-1].to)}
	}
	audio.AssertNotHears(t, rc.Recording, "customer (join tone)", phones.BeepHz, whole(rc))
	audio.AssertNotHears(t, rs.Recording, "supervisor (join tone)", phones.BeepHz, whole(rs))
}

// A pool whose queue members are Local channels shaped like FreePBX's
// (Local/<ext>@from-queue/n, whose dialplan does Dial(PJSIP/<ext>)):
// Earshot finds the agent on the PJSIP leg behind the Local pair, and the
// supervisor (national caller id over the trunk) hears both parties. In
// barge the customer hears the supervisor through the Local pair (the
// agent leg's bridge peer is its second half).
func TestSIP_QueueFreePBXLocalMember(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, fixtureOpts{})
	call := fx.sipServiceCall("sipa2", "sipc2", "squeue-sales-fpbx-sipa2")
	sup, sess, _ := fx.sipSupervisor("sam", "0401234568", "sipa2")
	from, to := hold(1000 * time.Millisecond)
	spans := []span{{"listen", from, to, earshot.ModeListen}}
	for _, m := range []earshot.Mode{earshot.ModeWhisper, earshot.ModeBarge, earshot.ModeListen} {
		if err := fx.app.SetMode(context.Background(), sess.ID, m); err != nil {
			t.Fatal(err)
		}
		from, to = hold(1000 * time.Millisecond)
		spans = append(spans, span{string(m), from, to, m})
	}
	if err := call.customer.Hangup(); err != nil {
		t.Fatal(err)
	}
	fx.waitSession(earshot.SessionEnded, "sam")
	rs, rc, ra := sipRecording(t, sup), sipRecording(t, call.customer), sipRecording(t, call.agent)
	for _, s := range spans {
		assertMatrix(t, s, rs, rc, ra)
	}
}

func sipRecording(t *testing.T, p *phones.SIPPhone) *phones.Heard {
	t.Helper()
	r, err := p.Recording(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r
}
