package phones_test

import (
	"context"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/audio"
	"github.com/earshot/earshot/internal/phones"
)

// A pool call connects customer and agent: each hears the other's tone
// and not its own, whichever way the pool reaches the agent.
func TestService_Hearing(t *testing.T) {
	for _, via := range []phones.Via{phones.ViaDial, phones.ViaQueue, phones.ViaLocalQueue, phones.Direct} {
		t.Run(string(via), func(t *testing.T) {
			t.Parallel()
			h := phones.New(t)
			ctx := context.Background()
			agent := map[phones.Via]string{phones.ViaDial: "alice", phones.ViaQueue: "bob", phones.ViaLocalQueue: "carol", phones.Direct: "dave"}[via]
			call, err := h.Service(ctx, phones.ServiceOpts{Pool: "sales", Agent: agent, Via: via})
			if err != nil {
				t.Fatal(err)
			}
			// Let a second of call audio flow: there is no event to wait for.
			from := time.Now()
			time.Sleep(1200 * time.Millisecond)
			to := time.Now()
			if err := call.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			cust, err := call.Recording(ctx, "customer")
			if err != nil {
				t.Fatal(err)
			}
			ag, err := call.Recording(ctx, agent)
			if err != nil {
				t.Fatal(err)
			}
			iv := func(r *phones.Heard) audio.Interval {
				return r.Between(from.Add(200*time.Millisecond), to.Add(-100*time.Millisecond))
			}
			audio.AssertHears(t, cust.Recording, "customer", phones.AgentHz, iv(cust))
			audio.AssertNotHears(t, cust.Recording, "customer", phones.CustomerHz, iv(cust))
			audio.AssertHears(t, ag.Recording, "agent", phones.CustomerHz, iv(ag))
			audio.AssertNotHears(t, ag.Recording, "agent", phones.AgentHz, iv(ag))
		})
	}
}
