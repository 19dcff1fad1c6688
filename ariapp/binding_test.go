package ariapp_test

import (
	"context"
	"testing"
	"time"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/internal/phones"
)

// Agents are not one desk phone: ivan is bound to two endpoints and
// answers on the second (his softphone); judy has no endpoint and answers
// on a leg whose channel name binds nobody, named by the earshot-agent
// pre-dial handler of asterisk-conf/extensions.conf (EARSHOT_AGENT), as a
// mobile over a trunk is. On both, the recordings show the hearing matrix
// in listen and whisper: Earshot found the agent and snooped the right leg.
func TestSupervise_AgentBindings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, phone, agent, sup, number string
		via                             phones.Via
	}{
		{"SecondEndpoint", "ivansoft", "ivan", "sara", saraNumber, phones.ViaDial},
		{"AgentVariable", "judymobile", "judy", "sam", samNumber, phones.ViaMobile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t, fixtureOpts{})
			ctx := context.Background()
			call := fx.serviceCallWith(phones.ServiceOpts{Pool: "sales", Agent: tc.phone, AgentID: tc.agent, Via: tc.via})
			if c, err := fx.app.Tracker().CallOf(tc.agent); err != nil || c.Pool != "sales" {
				t.Fatalf("CallOf(%s) = %+v, %v", tc.agent, c, err)
			}
			sup, sess := fx.supervise(tc.sup, tc.sup, tc.number, tc.agent)
			from, to := hold(1000 * time.Millisecond)
			spans := []span{{"listen", from, to, earshot.ModeListen}}
			if err := fx.app.SetMode(ctx, sess.ID, earshot.ModeWhisper); err != nil {
				t.Fatal(err)
			}
			from, to = hold(1000 * time.Millisecond)
			spans = append(spans, span{"whisper", from, to, earshot.ModeWhisper})
			if err := call.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			fx.waitSession(earshot.SessionEnded, tc.sup)
			rs, rc, ra := recording(t, sup, tc.sup), recording(t, call, "customer"), recording(t, call, tc.phone)
			for _, s := range spans {
				assertMatrix(t, s, rs, rc, ra)
			}
		})
	}
}
