package offers_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/directory"
	"github.com/earshot/earshot/internal/memdir"
	"github.com/earshot/earshot/offers"
	"github.com/earshot/earshot/store"
)

const dirYAML = `
organizations:
  - {id: acme, name: Acme, features: [supervising]}
  - {id: globex, name: Globex}
users:
  - {id: sara, org: acme, name: Sara, roles: [supervisor], phone_number: "+358401234567"}
  - {id: nonum, org: acme, name: No Number, roles: [supervisor]}
  - {id: scoped, org: acme, name: Scoped, roles: [supervisor], phone_number: "+358401234568", pools: [support]}
  - {id: gina, org: globex, name: Gina, roles: [supervisor], phone_number: "+358401234569"}
  - {id: alice, org: acme, name: Alice, roles: [agent], endpoint: "PJSIP/1001"}
  - {id: bob, org: acme, name: Bob, roles: [agent], endpoint: "PJSIP/1002"}
  - {id: dave, org: acme, name: Dave, roles: [agent], endpoint: "PJSIP/1003"}
pools:
  - {id: sales, org: acme, name: Sales, number: "+35891234500", members: [alice, bob, dave]}
  - {id: support, org: acme, name: Support, number: "+35891234501", members: [bob]}
`

// fakeCalls is a hand-written Calls with function fields' worth of state.
type fakeCalls struct {
	calls  map[string]earshot.ServiceCall
	events chan earshot.CallEvent
}

func (f *fakeCalls) CallOf(agent string) (earshot.ServiceCall, error) {
	if c, ok := f.calls[agent]; ok {
		return c, nil
	}
	return earshot.ServiceCall{}, earshot.ErrNotOnCall
}
func (f *fakeCalls) Call(id string) (earshot.ServiceCall, error) {
	for _, c := range f.calls {
		if c.ID == id {
			return c, nil
		}
	}
	return earshot.ServiceCall{}, earshot.ErrNotOnCall
}
func (f *fakeCalls) List() []earshot.ServiceCall { return nil }
func (f *fakeCalls) Subscribe(ctx context.Context) <-chan earshot.CallEvent {
	return f.events
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func setup(t *testing.T, codes bool) (*offers.Service, *fakeCalls, *clock) {
	t.Helper()
	return setupWith(t, func(c *offers.Config) { c.Codes = codes })
}

func setupWith(t *testing.T, change func(*offers.Config)) (*offers.Service, *fakeCalls, *clock) {
	t.Helper()
	f, err := directory.Parse(strings.NewReader(dirYAML), "FI", directory.WithBcryptCost(4))
	if err != nil {
		t.Fatal(err)
	}
	calls := &fakeCalls{calls: map[string]earshot.ServiceCall{
		"alice": {ID: "leg-1", Agent: "alice", Pool: "sales"},
		"bob":   {ID: "leg-2", Agent: "bob", Pool: "sales"},
	}, events: make(chan earshot.CallEvent, 4)}
	clk := &clock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	cfg := offers.Config{Directory: memdir.New(f), Calls: calls, Now: clk.now}
	change(&cfg)
	return offers.New(cfg), calls, clk
}

func TestService_Offer(t *testing.T) {
	cases := []struct {
		name, sup, agent string
		want             error
	}{
		{"OK", "sara", "alice", nil},
		{"ErrNotOnCall", "sara", "dave", earshot.ErrNotOnCall},
		{"ErrNoPhoneNumber", "nonum", "alice", earshot.ErrNoPhoneNumber},
		{"ErrNotPermitted/OutOfScope", "scoped", "alice", earshot.ErrNotPermitted},
		// The same answer whether or not the agent outside the scope is on
		// a call (idle is dave, outside too).
		{"ErrNotPermitted/OutOfScopeIdle", "scoped", "dave", earshot.ErrNotPermitted},
		// Bob is in scope (support) but on a call of sales: hidden.
		{"ErrNotOnCall/CallOutsideScope", "scoped", "bob", earshot.ErrNotOnCall},
		{"ErrNotPermitted/Self", "sara", "sara", earshot.ErrNotPermitted},
		{"ErrFeatureOff/OtherOrg", "gina", "alice", earshot.ErrFeatureOff},
		{"ErrUserNotFound", "nobody", "alice", earshot.ErrUserNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _ := setup(t, false)
			o, err := s.Offer(context.Background(), tc.sup, tc.agent, earshot.OfferAdHoc)
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want == nil && (o.CallID != "leg-1" || o.ExpiresAt.Sub(o.CreatedAt) != 2*time.Minute) {
				t.Fatalf("offer = %+v", o)
			}
		})
	}
}

func TestService_Resolve(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		s, _, _ := setup(t, false)
		o1, _ := s.Offer(context.Background(), "sara", "alice", earshot.OfferAdHoc)
		o2, _ := s.Offer(context.Background(), "sara", "alice", earshot.OfferAdHoc)
		if o1.ID != o2.ID {
			t.Error("a second Listen for the same call made a new offer instead of refreshing")
		}
		got, err := s.Resolve("sara")
		if err != nil || got.ID != o1.ID {
			t.Fatalf("Resolve = %+v, %v", got, err)
		}
	})
	t.Run("ErrNoOffer", func(t *testing.T) {
		s, _, _ := setup(t, false)
		if _, err := s.Resolve("sara"); !errors.Is(err, offers.ErrNoOffer) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrExpired", func(t *testing.T) {
		s, _, clk := setup(t, false)
		s.Offer(context.Background(), "sara", "alice", earshot.OfferAdHoc)
		clk.t = clk.t.Add(2 * time.Minute)
		if _, err := s.Resolve("sara"); !errors.Is(err, offers.ErrExpired) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Consumed", func(t *testing.T) {
		s, _, _ := setup(t, false)
		o, _ := s.Offer(context.Background(), "sara", "alice", earshot.OfferAdHoc)
		s.Consume(o.ID)
		if _, err := s.Resolve("sara"); !errors.Is(err, offers.ErrNoOffer) {
			t.Fatalf("offer usable after Consume: %v", err)
		}
	})
}

func TestService_CheckCode(t *testing.T) {
	s, _, _ := setup(t, true)
	o, err := s.Offer(context.Background(), "sara", "alice", earshot.OfferAdHoc)
	if err != nil || len(o.Code) != 4 {
		t.Fatalf("offer %+v, %v", o, err)
	}
	if err := s.CheckCode(o.ID, o.Code); err != nil {
		t.Fatalf("right code refused: %v", err)
	}
	for i := range 3 {
		if err := s.CheckCode(o.ID, "x"); !errors.Is(err, offers.ErrBadCode) && !(i == 3 && errors.Is(err, offers.ErrNoOffer)) {
			t.Fatalf("attempt %d: err = %v", i, err)
		}
	}
	// Burned after three wrong codes: even the right one no longer works.
	if err := s.CheckCode(o.ID, o.Code); !errors.Is(err, offers.ErrNoOffer) {
		t.Fatalf("after 3 wrong codes: err = %v, want ErrNoOffer", err)
	}
}

// A call that ends withdraws its offers, and says so.
func TestService_Run_WithdrawsOnCallEnd(t *testing.T) {
	s, calls, _ := setup(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := s.Subscribe(ctx)
	go s.Run(ctx)
	o, _ := s.Offer(ctx, "sara", "alice", earshot.OfferAdHoc)
	<-events // the offer itself
	calls.events <- earshot.CallEvent{Call: earshot.ServiceCall{ID: "leg-1", Agent: "alice"}, Ended: true}
	select {
	case ev := <-events:
		if !ev.Withdrawn || ev.Offer.ID != o.ID {
			t.Fatalf("event = %+v, want the offer withdrawn", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no withdrawal")
	}
	if _, err := s.Resolve("sara"); !errors.Is(err, offers.ErrNoOffer) {
		t.Fatalf("withdrawn offer still resolves: %v", err)
	}
}

// Offers survive a restart through the store: a new service reads the
// valid ones back, and a consumed offer is gone from the store too.
func TestService_Load(t *testing.T) {
	ctx := context.Background()
	db := storeWithDirectory(t)
	calls := &fakeCalls{calls: map[string]earshot.ServiceCall{"alice": {ID: "leg-1", Agent: "alice", Pool: "sales"}}}
	clk := &clock{t: time.Now()}
	cfg := offers.Config{Directory: db, Calls: calls, Store: db, Now: clk.now}
	before := offers.New(cfg)
	o, err := before.Offer(ctx, "sara", "alice", earshot.OfferAdHoc)
	if err != nil {
		t.Fatal(err)
	}
	after := offers.New(cfg) // the restart
	if err := after.Load(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := after.Resolve("sara")
	if err != nil || got.ID != o.ID || got.CallID != "leg-1" {
		t.Fatalf("after restart Resolve = %+v, %v; want offer %s", got, err, o.ID)
	}
	after.Consume(o.ID)
	again := offers.New(cfg)
	if err := again.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := again.Resolve("sara"); !errors.Is(err, offers.ErrNoOffer) {
		t.Fatalf("a consumed offer came back after a restart: %v", err)
	}
}

// R8: a listed agent's call offers to each supervisor who lists them,
// once, and not to one already supervising the call.
func TestService_Run_SupervisedOffers(t *testing.T) {
	started := earshot.CallEvent{Call: earshot.ServiceCall{ID: "leg-1", Agent: "alice", Pool: "sales"}}
	for _, tc := range []struct {
		name     string
		busy     bool
		announce int
		want     int
	}{
		{name: "offered", announce: 1, want: 1},
		{name: "announced twice, offered once", announce: 2, want: 1},
		{name: "already supervising", busy: true, announce: 1, want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, calls, _ := setupWith(t, func(c *offers.Config) {
				c.SupervisorsOf = func(_ context.Context, agent string) ([]string, error) { return []string{"sara"}, nil }
				c.Busy = func(sup string, call earshot.ServiceCall) bool { return tc.busy && call.ID == "leg-1" }
			})
			// bob's call, announced last, is the sentinel: Run handles
			// events in order.
			calls.calls["bob"] = earshot.ServiceCall{ID: "leg-9", Agent: "bob", Pool: "sales"}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			events := s.Subscribe(ctx)
			go s.Run(ctx)
			for range tc.announce {
				calls.events <- started
			}
			calls.events <- earshot.CallEvent{Call: calls.calls["bob"]}
			got := 0
			for ev := range events {
				if ev.Offer.Agent == "bob" {
					break
				}
				if ev.Source == earshot.OfferSupervised && ev.Offer.Supervisor == "sara" {
					got++
				}
			}
			if got != tc.want {
				t.Errorf("%d supervised offers, want %d", got, tc.want)
			}
		})
	}
}

// One offer admits one call: of many claims at the same moment exactly
// one wins; a release makes it usable again; a claimed offer is out of
// the store, so a restart between claim and connect cannot give it twice.
func TestService_Claim(t *testing.T) {
	ctx := context.Background()
	db := storeWithDirectory(t)
	calls := &fakeCalls{calls: map[string]earshot.ServiceCall{"alice": {ID: "leg-1", Agent: "alice", Pool: "sales"}}}
	cfg := offers.Config{Directory: db, Calls: calls, Store: db}
	s := offers.New(cfg)
	o, err := s.Offer(ctx, "sara", "alice", earshot.OfferAdHoc)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	won := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if c, err := s.Claim(ctx, "sara"); err == nil {
				won <- c.ID
			} else if !errors.Is(err, offers.ErrClaimed) {
				t.Errorf("claim: %v, want ErrClaimed", err)
			}
		})
	}
	wg.Wait()
	close(won)
	if len(won) != 1 {
		t.Fatalf("%d claims won, want 1", len(won))
	}
	restarted := offers.New(cfg)
	if err := restarted.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := restarted.Claim(ctx, "sara"); !errors.Is(err, offers.ErrNoOffer) {
		t.Fatalf("a claimed offer after a restart: %v, want ErrNoOffer", err)
	}
	s.Release(ctx, o.ID)
	again := offers.New(cfg)
	if err := again.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := again.Resolve("sara"); err != nil {
		t.Fatalf("a released offer is not back in the store: %v", err)
	}
	if _, err := s.Claim(ctx, "sara"); err != nil {
		t.Fatalf("claim after release: %v", err)
	}
	s.Consume(o.ID)
	if _, err := s.Claim(ctx, "sara"); !errors.Is(err, offers.ErrNoOffer) {
		t.Fatalf("claim after consume: %v", err)
	}
}

// storeWithDirectory opens a store in a temporary folder holding dirYAML.
func storeWithDirectory(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "earshot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f, err := directory.Parse(strings.NewReader(dirYAML), "FI", directory.WithBcryptCost(4))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportDirectory(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	return db
}

// With several Asterisk nodes an offer names the node of the call and
// that node's number; a call on a node that is down gets no offer (after
// the permission checks, so ErrUnavailable tells nothing to a supervisor
// out of scope); a call of the same id ending on another node withdraws
// nothing.
func TestService_Nodes(t *testing.T) {
	numbers := map[string]string{"a": "+35891234599", "b": "+35891234598"}
	up := map[string]bool{"a": true, "b": true}
	svc, calls, _ := setupWith(t, func(c *offers.Config) {
		c.NumberOf = func(node string) string { return numbers[node] }
		c.Reachable = func(node string) bool { return up[node] }
	})
	calls.calls["alice"] = earshot.ServiceCall{ID: "leg-1", Node: "a", Agent: "alice", Pool: "sales"}
	calls.calls["bob"] = earshot.ServiceCall{ID: "leg-1", Node: "b", Agent: "bob", Pool: "sales"}
	ctx := context.Background()
	for _, tc := range []struct {
		name, sup, agent, downNode string
		wantNode, wantNumber       string
		wantErr                    error
	}{
		{"NodeA", "sara", "alice", "", "a", "+35891234599", nil},
		{"NodeB", "sara", "bob", "", "b", "+35891234598", nil},
		{"NodeDown", "sara", "bob", "b", "", "", earshot.ErrUnavailable},
		{"OtherNodeDown", "sara", "alice", "b", "a", "+35891234599", nil},
		{"OutOfScopeFirst", "scoped", "alice", "a", "", "", earshot.ErrNotPermitted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up["a"], up["b"] = true, true
			if tc.downNode != "" {
				up[tc.downNode] = false
			}
			o, err := svc.Offer(ctx, tc.sup, tc.agent, earshot.OfferAdHoc)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if err == nil && (o.Node != tc.wantNode || o.SupervisingNumber != tc.wantNumber) {
				t.Errorf("offer on node %q number %q, want %q %q", o.Node, o.SupervisingNumber, tc.wantNode, tc.wantNumber)
			}
		})
	}

	// sara's newest offer is for bob's leg-1 on b. alice's leg-1 on a
	// ending withdraws nothing of b's.
	up["a"], up["b"] = true, true
	o, err := svc.Offer(ctx, "sara", "bob", earshot.OfferAdHoc)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go svc.Run(runCtx)
	has := func(match func(earshot.Offer) bool) bool {
		for _, x := range svc.Live("") {
			if match(x) {
				return true
			}
		}
		return false
	}
	waitGone := func(what string, match func(earshot.Offer) bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); has(match); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s never withdrawn", what)
			}
		}
	}
	calls.events <- earshot.CallEvent{Call: calls.calls["alice"], Ended: true}
	waitGone("alice's offers", func(x earshot.Offer) bool { return x.Agent == "alice" })
	if !has(func(x earshot.Offer) bool { return x.ID == o.ID }) {
		t.Fatal("leg-1 ending on node a withdrew node b's offer for its own leg-1")
	}
	calls.events <- earshot.CallEvent{Call: calls.calls["bob"], Ended: true}
	waitGone("bob's offers", func(x earshot.Offer) bool { return x.Node == "b" })
}
