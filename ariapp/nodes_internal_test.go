package ariapp

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/earshot/earshot"
)

// The merged view of two nodes' trackers: an agent on calls on both (a
// transfer between nodes, before the old leg's end arrived) is on the
// newer; ids are found on either node; events of both arrive on one
// channel, each call naming its node.
func TestCalls_Merged(t *testing.T) {
	never := func(string) bool { return false }
	a := newTracker(nil, slog.New(slog.DiscardHandler), never).onNode("a")
	b := newTracker(nil, slog.New(slog.DiscardHandler), never).onNode("b")
	cs := Calls{a, b}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := cs.Subscribe(ctx)
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	a.start(earshot.ServiceCall{ID: "1.1", Node: "a", Agent: "alice", Pool: "sales", Since: t0})
	b.start(earshot.ServiceCall{ID: "1.1", Node: "b", Agent: "bob", Pool: "sales", Since: t0.Add(time.Second)})
	b.start(earshot.ServiceCall{ID: "1.2", Node: "b", Agent: "alice", Pool: "sales", Since: t0.Add(2 * time.Second)})

	for _, tc := range []struct {
		agent, wantID, wantNode string
	}{
		{"alice", "1.2", "b"}, // the newer of her two calls
		{"bob", "1.1", "b"},
	} {
		c, err := cs.CallOf(tc.agent)
		if err != nil || c.ID != tc.wantID || c.Node != tc.wantNode {
			t.Errorf("CallOf(%s) = %+v, %v; want %s on %s", tc.agent, c, err, tc.wantID, tc.wantNode)
		}
	}
	if _, err := cs.CallOf("carol"); err != earshot.ErrNotOnCall {
		t.Errorf("CallOf(carol) error %v, want ErrNotOnCall", err)
	}
	if c, err := cs.Call("1.2"); err != nil || c.Node != "b" {
		t.Errorf("Call(1.2) = %+v, %v", c, err)
	}
	list := cs.List()
	if len(list) != 3 || list[0].Node != "a" || list[2].ID != "1.2" {
		t.Errorf("List() = %+v, want three, oldest first", list)
	}
	seen := map[string]int{}
	for range 3 {
		select {
		case ev := <-events:
			seen[ev.Call.Node]++
		case <-time.After(time.Second):
			t.Fatalf("merged events: %v, want three", seen)
		}
	}
	if seen["a"] != 1 || seen["b"] != 2 {
		t.Errorf("merged events by node %v, want a 1, b 2", seen)
	}
}
