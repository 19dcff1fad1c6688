package ariapp_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/internal/audio"
	"github.com/earshot/earshot/internal/phones"
)

// A browser leg (chan_websocket through ARI externalMedia) is one more
// kind of supervisor leg: the session starts in listen mode, switches
// L→W→B→L, and the hearing matrix is exact on the agent's and the
// customer's recordings and on what the media link receives; the agent
// hears the join tone; the call's end ends the session and nothing of it
// remains in Asterisk (the fixture's cleanup).
func TestBrowser_Modes(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, fixtureOpts{})
	ctx := context.Background()
	call := fx.serviceCall("ag22", phones.ViaDial)
	clicked := time.Now()
	sess, err := fx.app.Browse(ctx, "sara", "ag22")
	if err != nil {
		t.Fatal(err)
	}
	connected := time.Now()
	if sess.Mode != earshot.ModeListen || sess.Leg != earshot.LegBrowser {
		t.Fatalf("session = %+v, want a browser leg in listen (R5)", sess)
	}
	link, err := fx.app.Media(sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fx.app.Media(sess.ID); !errors.Is(err, earshot.ErrMediaAttached) {
		t.Errorf("second media link: %v, want ErrMediaAttached", err)
	}
	peer := phones.NewMediaPeer(link.Send, link.Frames(), phones.SupervisorHz)
	defer peer.Stop()
	phones.WaitFor(t, 3*time.Second, "call audio on the media link", func() bool { return !peer.FirstFrame().IsZero() })
	t.Logf("Browse → connected %v, → first frame on the link %v", connected.Sub(clicked), peer.FirstFrame().Sub(clicked))

	var spans []span
	from, to := hold(1000 * time.Millisecond)
	spans = append(spans, span{"listen#1", from, to, earshot.ModeListen})
	for i, m := range []earshot.Mode{earshot.ModeWhisper, earshot.ModeBarge, earshot.ModeListen} {
		if err := fx.app.SetMode(ctx, sess.ID, m); err != nil {
			t.Fatalf("switch %d to %s: %v", i+1, m, err)
		}
		from, to := hold(1000 * time.Millisecond)
		spans = append(spans, span{string(m) + "#" + string(rune('2'+i)), from, to, m})
	}
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-link.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the media link did not end with the call")
	}
	peer.Stop()
	rc, ra := recording(t, call, "customer"), recording(t, call, "ag22")
	rs := peer.Heard("sara (browser)")
	for _, s := range spans {
		assertMatrix(t, s, rs, rc, ra)
	}
	if at, ok := ra.FirstPresent(phones.BeepHz, ra.At(connected.Add(-100*time.Millisecond))); !ok || at > ra.At(connected.Add(time.Second)) {
		t.Errorf("agent did not hear the join tone within 1 s of connect (first at %v, ok %v)", at, ok)
	}
	ended := fx.waitSessionEnd("sara")
	if ended != earshot.EndCallEnded {
		t.Errorf("end reason %s, want call_ended", ended)
	}
	// Audited like a phone session, marked as the browser's.
	fx.audit.mu.Lock()
	var kinds []string
	for _, e := range fx.audit.e {
		if e.Session == sess.ID {
			kinds = append(kinds, e.Kind+"/"+e.Leg)
		}
	}
	fx.audit.mu.Unlock()
	want := "connect/browser mode/browser mode/browser mode/browser end/browser"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("audit = %s, want %s", got, want)
	}
}

// The browser's gate refuses what the phone gate would (another
// organization's supervisor, an agent not on a call, the scope) and an
// organization that forbids browser supervising; none of it leaves
// anything in Asterisk.
func TestBrowser_Refused(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, fixtureOpts{tone: "off"})
	ctx := context.Background()
	fx.serviceCall("ag23", phones.ViaDial)
	cases := []struct {
		name, sup, agent string
		want             error
	}{
		{"another organization's supervisor (without the feature)", "gina", "ag23", earshot.ErrFeatureOff},
		{"pool outside the scope", "sid", "ag23", earshot.ErrNotPermitted},
		// The same answer whether or not the agent is on a call: a scoped
		// supervisor learns nothing of calls outside the scope.
		{"pool outside the scope, agent not on a call", "sid", "ag25", earshot.ErrNotPermitted},
		{"agent not on a call", "sara", "ag25", earshot.ErrNotOnCall},
		{"not a supervisor", "ag23", "ag23", nil},
		{"no such supervisor", "nobody", "ag23", earshot.ErrNotPermitted},
	}
	for _, c := range cases {
		_, err := fx.app.Browse(ctx, c.sup, c.agent)
		if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: Browse = %v, want %v", c.name, err, c.want)
		}
	}
	if err := fx.dir.SetFeature("acme", earshot.FeatureBrowser, false); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.app.Browse(ctx, "sara", "ag23"); !errors.Is(err, earshot.ErrBrowserOff) {
		t.Errorf("browser supervising forbidden: Browse = %v, want ErrBrowserOff", err)
	}
	if _, err := fx.app.Media("0123456789"); !errors.Is(err, earshot.ErrSessionNotFound) {
		t.Errorf("media of no session: %v", err)
	}
	if got := fx.app.Sessions(""); len(got) != 0 {
		t.Errorf("sessions after refusals: %+v", got)
	}
}

// A browser session ends when no media link is attached for the grace
// period (the page closed), also after a link detached; a link that
// detaches and re-attaches within it keeps the session. Revocation ends
// it with its reason like a phone session.
func TestBrowser_LinkLifetime(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, fixtureOpts{tone: "off", grace: 600 * time.Millisecond})
	ctx := context.Background()
	fx.serviceCall("ag24", phones.ViaDial)

	// Never attached.
	if _, err := fx.app.Browse(ctx, "sara", "ag24"); err != nil {
		t.Fatal(err)
	}
	fx.waitSession(earshot.SessionStarted, "sara")
	if r := fx.waitSessionEnd("sara"); r != earshot.EndSupervisorHungUp {
		t.Errorf("never attached: ended %s, want supervisor_hung_up", r)
	}
	phones.WaitFor(t, 2*time.Second, "the ended session gone", func() bool { return len(fx.app.Sessions("sara")) == 0 })

	// Attached, detached, re-attached within the grace: lives on.
	sess, err := fx.app.Browse(ctx, "sara", "ag24")
	if err != nil {
		t.Fatal(err)
	}
	link, err := fx.app.Media(sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	link.Close()
	time.Sleep(300 * time.Millisecond)
	link, err = fx.app.Media(sess.ID)
	if err != nil {
		t.Fatalf("re-attach within the grace: %v", err)
	}
	time.Sleep(600 * time.Millisecond)
	if len(fx.app.Sessions("sara")) != 1 {
		t.Fatal("the session ended although a link was attached")
	}
	// Revoked: ends at once, with the reason.
	n := fx.app.EndWhere(ctx, func(s earshot.Session) bool { return s.ID == sess.ID }, earshot.EndAccessRevoked)
	if n != 1 {
		t.Fatalf("EndWhere ended %d", n)
	}
	select {
	case <-link.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("link not done after the session ended")
	}
	for {
		if r := fx.waitSessionEnd("sara"); r == earshot.EndAccessRevoked {
			break
		}
	}
}

// A browser supervisor and a phone supervisor on one call, each in their
// own mode: the browser whispers (the agent hears it, the customer and
// the phone supervisor do not), the phone supervisor barges silently and
// hears the call; the session list tells the legs apart.
func TestBrowser_BesideAPhone(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, fixtureOpts{tone: "off"})
	ctx := context.Background()
	call := fx.serviceCall("ag19", phones.ViaDial)
	if _, err := fx.offers.Offer(ctx, "sam", "ag19", earshot.OfferAdHoc); err != nil {
		t.Fatal(err)
	}
	phone, err := fx.h.Supervisor(ctx, phones.SupervisorOpts{Name: "sam", Number: samNumber, App: fx.name, Tone: phones.Silent})
	if err != nil {
		t.Fatal(err)
	}
	sessPhone := fx.waitSession(earshot.SessionStarted, "sam")
	sess, err := fx.app.Browse(ctx, "sara", "ag19")
	if err != nil {
		t.Fatal(err)
	}
	link, err := fx.app.Media(sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	peer := phones.NewMediaPeer(link.Send, link.Frames(), phones.SupervisorHz)
	defer peer.Stop()
	if err := fx.app.SetMode(ctx, sess.ID, earshot.ModeWhisper); err != nil {
		t.Fatal(err)
	}
	if err := fx.app.SetMode(ctx, sessPhone.ID, earshot.ModeBarge); err != nil {
		t.Fatal(err)
	}
	legs := map[string]string{}
	for _, s := range fx.app.Sessions("") {
		legs[s.Supervisor] = s.Leg
	}
	if legs["sara"] != earshot.LegBrowser || legs["sam"] != earshot.LegPhone {
		t.Errorf("legs = %v", legs)
	}
	from, to := hold(1200 * time.Millisecond)
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	peer.Stop()
	rc, ra, rp := recording(t, call, "customer"), recording(t, call, "ag19"), recording(t, phone, "sam")
	assertMatrix(t, span{"browser whisper", from, to, earshot.ModeWhisper}, peer.Heard("sara (browser)"), rc, ra)
	iv := span{"phone barge", from, to, earshot.ModeBarge}
	audio.AssertHears(t, rp.Recording, "sam", phones.CustomerHz, iv.on(rp))
	audio.AssertHears(t, rp.Recording, "sam", phones.AgentHz, iv.on(rp))
	audio.AssertNotHears(t, rp.Recording, "sam (sara's whisper)", phones.SupervisorHz, iv.on(rp))
}

// Several Listen here requests of one supervisor for one call at the same
// moment (a double click, two tabs) make exactly one session; the others
// are refused as a conflict and leave nothing in Asterisk.
func TestBrowser_Racing(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, fixtureOpts{tone: "off"})
	ctx := context.Background()
	fx.serviceCall("ag26", phones.ViaDial)
	const n = 4
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := fx.app.Browse(ctx, "sara", "ag26")
			errs <- err
		}()
	}
	ok := 0
	for range n {
		switch err := <-errs; {
		case err == nil:
			ok++
		case earshot.ErrorCode(err) != earshot.ECONFLICT:
			t.Errorf("a racing Listen here: %v, want a conflict", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d racing Listen here connected, want 1", ok, n)
	}
	mine := 0
	for _, s := range fx.app.Sessions("sara") {
		if s.Agent == "ag26" {
			mine++
		}
	}
	if mine != 1 {
		t.Errorf("%d sessions on the call after the race, want 1", mine)
	}
}
