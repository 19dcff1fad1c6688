package ariapp_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/internal/phones"
)

// burstSize is how many supervised calls end at once.
const burstSize = 50

// 50 supervised calls hung up within 100 ms, a third each by the
// supervisor, the customer and the agent: within 5 s nothing of Earshot's
// is left in Asterisk, every supervisor leg whose call ended is hung up,
// and no session remains. Measured before the one-pump design: 6 of 20
// sessions leaked their snoop and bridge when events were dropped.
func TestReliability_Burst(t *testing.T) {
	fx := newFixture(t, fixtureOpts{})
	ctx := context.Background()
	calls := make([]*phones.Call, burstSize)
	sups := make([]*phones.Call, burstSize)
	agent := func(i int) string { return fmt.Sprintf("ag%02d", i+1) }
	phones.Parallel(t, burstSize, func(i int) error {
		c, err := fx.h.Service(ctx, phones.ServiceOpts{Pool: "sales", Agent: agent(i), Via: phones.ViaDial})
		calls[i] = c
		return err
	})
	phones.WaitFor(t, 10*time.Second, "every call tracked", func() bool { return len(fx.app.Tracker().List()) == burstSize })
	phones.Parallel(t, burstSize, func(i int) error {
		sup := fmt.Sprintf("su%02d", i+1)
		if _, err := fx.offers.Offer(ctx, sup, agent(i), earshot.OfferAdHoc); err != nil {
			return err
		}
		c, err := fx.h.Supervisor(ctx, phones.SupervisorOpts{Name: sup, Number: fmt.Sprintf("+3584099000%02d", i+1), App: fx.name})
		sups[i] = c
		return err
	})
	phones.WaitFor(t, 30*time.Second, "every session connected", func() bool { return len(fx.app.Sessions("")) == burstSize })

	// The burst: one goroutine per call, released at once.
	var start sync.WaitGroup
	start.Add(1)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first, last time.Time
	for i := range burstSize {
		wg.Go(func() {
			start.Wait()
			var id string
			switch i % 3 {
			case 0:
				id = sups[i].SupervisorLeg
			case 1:
				id = calls[i].Phones["customer"]
			default:
				id = calls[i].Phones[agent(i)]
			}
			mu.Lock()
			last = time.Now()
			mu.Unlock()
			if err := fx.h.Client().Hangup(ctx, id); err != nil {
				t.Errorf("hang up %s: %v", id, err)
			}
		})
	}
	first = time.Now()
	start.Done()
	wg.Wait()
	t.Logf("%d hang-ups started within %s", burstSize, last.Sub(first).Round(time.Millisecond))

	deadline := first.Add(5 * time.Second)
	for {
		left, live, err := leftovers(ctx, fx)
		if err != nil {
			t.Fatal(err)
		}
		var legs []string
		for i, s := range sups {
			if i%3 != 0 && live[s.SupervisorLeg] {
				legs = append(legs, s.SupervisorLeg)
			}
		}
		sessions := fx.app.Sessions("")
		if len(left) == 0 && len(legs) == 0 && len(sessions) == 0 {
			t.Logf("clean %s after the burst", time.Since(first).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("5 s after the burst: Earshot's objects %v, supervisor legs up %v, sessions %d", left, legs, len(sessions))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// leftovers lists channels and bridges of the application under test,
// and every live channel's id.
func leftovers(ctx context.Context, fx *fixture) ([]string, map[string]bool, error) {
	c := fx.h.Client()
	chs, err := c.Channels(ctx)
	if err != nil {
		return nil, nil, err
	}
	bridges, err := c.Bridges(ctx)
	if err != nil {
		return nil, nil, err
	}
	var out []string
	live := map[string]bool{}
	for _, ch := range chs {
		live[ch.ID] = true
		if strings.HasPrefix(ch.ID, fx.name+".") {
			out = append(out, "channel "+ch.ID)
		}
	}
	for _, b := range bridges {
		if strings.HasPrefix(b.ID, fx.name+".") {
			out = append(out, "bridge "+b.ID)
		}
	}
	return out, live, nil
}
