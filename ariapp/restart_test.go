package ariapp_test

import (
	"context"
	"testing"
	"time"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/internal/audio"
	"github.com/earshot/earshot/internal/phones"
	"github.com/earshot/earshot/internal/sandbox"
)

// Asterisk dies (SIGKILL: no hang-ups, no events) under a live session
// and comes back: Earshot reconnects, and reconciliation alone ends the
// session and the call, keeps nothing stale, and a new session works.
// Not parallel: it takes Asterisk away from everyone.
func TestSupervise_AsteriskRestart(t *testing.T) {
	fx := newFixture(t, fixtureOpts{})
	ctx := context.Background()
	fx.serviceCall("ag20", phones.ViaDial)
	fx.supervise("sara", "sara", saraNumber, "ag20")

	sandbox.Require(t).Crash(t)

	fx.waitSession(earshot.SessionEnded, "sara")
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, _ := fx.app.Ready()
		if ok && len(fx.app.Sessions("")) == 0 && len(fx.app.Tracker().List()) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart: ready %v, sessions %v, calls %v", ok, fx.app.Sessions(""), fx.app.Tracker().List())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := fx.app.Stats(); st.Reconciled < 2 {
		t.Errorf("reconciliation should have ended the session and the call: %+v", st)
	}

	// A new session works on the new Asterisk.
	call := fx.serviceCall("ag21", phones.ViaDial)
	sup, _ := fx.supervise("sara", "sara", saraNumber, "ag21")
	from, to := hold(1000 * time.Millisecond)
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	rs := recording(t, sup, "sara")
	audio.AssertHears(t, rs.Recording, "supervisor after restart", phones.CustomerHz, rs.Between(from.Add(250*time.Millisecond), to.Add(-60*time.Millisecond)))
}
