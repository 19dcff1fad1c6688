package ariapp

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v6"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/directory"
	"github.com/earshot/earshot/internal/memdir"
)

func newTestTracker(t *testing.T) *Tracker {
	t.Helper()
	f, err := directory.Parse(strings.NewReader(`
users:
  - {id: alice, org: acme, name: Alice, roles: [agent], endpoint: "PJSIP/1001"}
  - {id: bob, org: acme, name: Bob, roles: [agent], endpoint: "Local/bob@phones"}
  - {id: carol, org: acme, name: Carol, roles: [agent], endpoints: ["PJSIP/1003", "PJSIP/1003-soft"]}
  - {id: dave, org: acme, name: Dave, roles: [agent]}
  - {id: sara, org: acme, name: Sara, roles: [supervisor]}
  - {id: olga, org: other, name: Olga, roles: [agent]}
organizations: [{id: acme, name: Acme, features: [supervising]}, {id: other}]
pools: [{id: sales, org: acme, name: Sales, number: "+35891234500", members: [alice, bob, carol, dave]}]
`), "FI")
	if err != nil {
		t.Fatal(err)
	}
	return NewTracker(memdir.New(f), "earshot", slog.New(slog.DiscardHandler))
}

func leg(id, name, state, pool string) ari.ChannelData {
	ch := ari.ChannelData{ID: id, Name: name, State: state, Connected: &ari.CallerID{Number: "+358501111111"}}
	if pool != "" {
		ch.ChannelVars = map[string]string{PoolVar: pool}
	}
	return ch
}

// named is a leg that names its agent in AgentVar.
func named(ch ari.ChannelData, agent string) ari.ChannelData {
	ch.ChannelVars[AgentVar] = agent
	return ch
}

func dial(peer ari.ChannelData) *ari.Dial {
	return &ari.Dial{Dialstatus: "ANSWER", Caller: ari.ChannelData{ID: "cust"}, Peer: peer}
}

func TestTracker_Handle(t *testing.T) {
	cases := []struct {
		name      string
		event     ari.Event
		wantAgent string // "" = no call
	}{
		{"DialAnswerOfDevice", dial(leg("c1", "PJSIP/1001-0000002a", "Up", "sales")), "alice"},
		{"LocalAgentLeg", dial(leg("c2", "Local/bob@phones-00000004;1", "Up", "sales")), "bob"},
		{"EnteredBridge", &ari.ChannelEnteredBridge{Bridge: ari.BridgeData{ID: "b1"}, Channel: leg("c3", "PJSIP/1001-0000002b", "Up", "sales")}, "alice"},
		{"DirectCallHasNoPool", dial(leg("c4", "PJSIP/1001-0000002c", "Up", "")), ""},
		{"NotAnswered", dial(leg("c5", "PJSIP/1001-0000002d", "Ringing", "sales")), ""},
		{"LocalSecondHalf", dial(leg("c6", "Local/bob@phones-00000004;2", "Up", "sales")), ""},
		{"UnknownPool", dial(leg("c7", "PJSIP/1001-0000002e", "Up", "nosuchpool")), ""},
		{"UnknownEndpoint", dial(leg("c8", "PJSIP/9999-0000002f", "Up", "sales")), ""},
		{"OriginateHasNoCaller", &ari.Dial{Dialstatus: "ANSWER", Peer: leg("c9", "PJSIP/1001-00000030", "Up", "sales")}, ""},
		{"FirstOfEndpoints", dial(leg("c11", "PJSIP/1003-00000032", "Up", "sales")), "carol"},
		{"SecondOfEndpoints", dial(leg("c12", "PJSIP/1003-soft-00000033", "Up", "sales")), "carol"},
		{"AgentVarOnTrunk", dial(named(leg("c13", "PJSIP/trunk-00000034", "Up", "sales"), "dave")), "dave"},
		{"AgentVarOnBridgeEntry", &ari.ChannelEnteredBridge{Bridge: ari.BridgeData{ID: "b2"}, Channel: named(leg("c14", "PJSIP/trunk-00000035", "Up", "sales"), "dave")}, "dave"},
		{"AgentVarWinsOverEndpoint", dial(named(leg("c15", "PJSIP/1001-00000036", "Up", "sales"), "carol")), "carol"},
		{"AgentVarUnknown", dial(named(leg("c16", "PJSIP/1001-00000037", "Up", "sales"), "nobody")), ""},
		{"AgentVarNotAnAgent", dial(named(leg("c17", "PJSIP/trunk-00000038", "Up", "sales"), "sara")), ""},
		{"AgentVarOtherOrg", dial(named(leg("c18", "PJSIP/trunk-00000039", "Up", "sales"), "olga")), ""},
		{"AgentVarHuge", dial(named(leg("c20", "PJSIP/trunk-0000003b", "Up", "sales"), strings.Repeat("dave", 1<<18))), ""},
		{"AgentVarWithoutPool", dial(leg("c19", "PJSIP/trunk-0000003a", "Up", "")), ""},
		{"OurOwnBridge", &ari.ChannelEnteredBridge{Bridge: ari.BridgeData{ID: "earshot.abc.bridge"}, Channel: leg("c10", "PJSIP/1001-00000031", "Up", "sales")}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTestTracker(t)
			tr.handle(tc.event)
			calls := tr.List()
			switch {
			case tc.wantAgent == "" && len(calls) != 0:
				t.Fatalf("tracked %+v, want no service call", calls)
			case tc.wantAgent != "" && (len(calls) != 1 || calls[0].Agent != tc.wantAgent || calls[0].Customer != "+358501111111"):
				t.Fatalf("tracked %+v, want one call of %s", calls, tc.wantAgent)
			}
		})
	}
}

func TestTracker_Lifecycle(t *testing.T) {
	tr := newTestTracker(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := tr.Subscribe(ctx)
	tr.handle(dial(leg("c1", "PJSIP/1001-0000002a", "Up", "sales")))
	tr.handle(&ari.ChannelEnteredBridge{Bridge: ari.BridgeData{ID: "b1"}, Channel: leg("c1", "PJSIP/1001-0000002a", "Up", "sales")})
	if c, err := tr.CallOf("alice"); err != nil || c.ID != "c1" || c.Pool != "sales" {
		t.Fatalf("CallOf = %+v, %v", c, err)
	}
	tr.handle(&ari.ChannelDestroyed{Channel: ari.ChannelData{ID: "c1"}})
	if _, err := tr.CallOf("alice"); !errors.Is(err, earshot.ErrNotOnCall) {
		t.Fatalf("call survived its leg: %v", err)
	}
	var got []bool
	for range 2 {
		select {
		case ev := <-events:
			got = append(got, ev.Ended)
		case <-time.After(time.Second):
			t.Fatal("missing event")
		}
	}
	if got[0] || !got[1] {
		t.Fatalf("events ended = %v, want one start then one end (no duplicate start)", got)
	}
}

// Reconciliation repairs what events missed: a call whose leg is gone
// ends; a bridged agent leg nobody announced starts.
func TestTracker_Rebuild(t *testing.T) {
	tr := newTestTracker(t)
	tr.handle(dial(leg("gone", "PJSIP/1001-0000002a", "Up", "sales")))
	bob := leg("c2", "Local/bob@phones-00000004;1", "Up", "sales")
	fixed := tr.rebuild(time.Now(),
		[]ari.ChannelData{bob, leg("cust", "PJSIP/trunk-00000001", "Up", "sales")},
		[]ari.BridgeData{{ID: "b1", ChannelIDs: []string{"cust", "c2"}}},
	)
	if fixed != 2 {
		t.Errorf("fixed = %d, want 2", fixed)
	}
	if _, err := tr.CallOf("alice"); err == nil {
		t.Error("alice's call survived although her leg is gone")
	}
	if c, err := tr.CallOf("bob"); err != nil || c.ID != "c2" {
		t.Errorf("bob's bridged call not found: %+v, %v", c, err)
	}
}

// A call that began after the sweep asked for its listing is not in it,
// and has not ended: it stays.
func TestTracker_RebuildKeepsCallsNewerThanTheListing(t *testing.T) {
	tr := newTestTracker(t)
	listed := time.Now()
	tr.handle(dial(leg("new", "PJSIP/1001-0000002a", "Up", "sales")))
	if fixed := tr.rebuild(listed, nil, nil); fixed != 0 {
		t.Errorf("fixed = %d, want 0", fixed)
	}
	if _, err := tr.CallOf("alice"); err != nil {
		t.Fatalf("a call newer than the listing was ended: %v", err)
	}
	if fixed := tr.rebuild(time.Now(), nil, nil); fixed != 1 {
		t.Errorf("the next sweep: fixed = %d, want 1", fixed)
	}
}
