package ariapp

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v6"

	"github.com/earshot/earshot"
)

// peerVars makes the fake answer BRIDGEPEER for the agent leg with the
// channel id peer (named PJSIP/<peer>).
func peerVars(peer string) map[string]string {
	return map[string]string{
		agentLeg + " BRIDGEPEER":                          "PJSIP/" + peer,
		agentLeg + " IMPORT(PJSIP/" + peer + ",UNIQUEID)": peer,
	}
}

// setPeer changes who the agent leg is bridged with, for the variable
// lookups and for the sweep's bridge listing.
func (b *bench) setPeer(peer string) {
	b.ast.mu.Lock()
	b.ast.vars = peerVars(peer)
	b.ast.bridges = []ari.BridgeData{{ID: "dial-bridge", ChannelIDs: []string{agentLeg, peer}}}
	b.ast.channels = []ari.ChannelData{{ID: agentLeg}, {ID: custLeg}, {ID: "cust2"}, {ID: supLeg}}
	b.ast.mu.Unlock()
}

// feedOn says which channel the n-th barge path's feed whispers to, and
// whether it was opened (unmuted).
func (b *bench) feedOn(sessionID string, n int) (target string, open bool) {
	feed := b.app.objectID(sessionID, "feed", n)
	for _, c := range b.ast.Calls() {
		f := strings.Fields(c)
		if f[0] == "snoop" && f[2] == feed {
			target = f[1]
		}
		if c == "unmute "+feed+" out" {
			open = true
		}
	}
	return target, open
}

// sweepKeepsFeed runs a sweep and checks that the session's first barge
// path is still there.
func (b *bench) sweepKeepsFeed(sessionID string) {
	b.t.Helper()
	if err := b.app.Reconcile(context.Background()); err != nil {
		b.t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := b.ast.count("hangup " + b.app.objectID(sessionID, "feed", 2)); n != 0 {
		b.t.Fatalf("feed hung up %d times", n)
	}
}

// After a transfer that leaves the agent leg and the old customer side
// both up, the barge feed must not go on whispering to the old side: the
// reconciliation sweep finds the new peer and the path is rebuilt there.
func TestSession_CustomerSideChanged(t *testing.T) {
	t.Run("in barge, found by the sweep: rebuilt and opened on the new side", func(t *testing.T) {
		b := newBench(t, benchOpts{})
		b.setPeer(custLeg)
		s := b.connected()
		b.toMode(s.ID, earshot.ModeBarge)
		if on, open := b.feedOn(s.ID, 2); on != custLeg || !open {
			t.Fatalf("feed on %q (open %v)", on, open)
		}
		b.setPeer("cust2")
		if err := b.app.Reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
		b.eventually("a feed on the new side, open", func() bool {
			on, open := b.feedOn(s.ID, 3)
			return on == "cust2" && open
		})
		b.asked("hangup "+b.app.objectID(s.ID, "feed", 2), "hangup "+b.app.objectID(s.ID, "tap", 2))
		if b.mode(s.ID) != earshot.ModeBarge {
			t.Fatalf("mode %s", b.mode(s.ID))
		}
		b.supervisorHangsUp()
	})
	t.Run("in whisper, found by the sweep: prepared again, muted", func(t *testing.T) {
		b := newBench(t, benchOpts{})
		b.setPeer(custLeg)
		s := b.connected()
		b.toMode(s.ID, earshot.ModeWhisper)
		b.setPeer("cust2")
		if err := b.app.Reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
		b.eventually("a feed prepared on the new side", func() bool {
			on, _ := b.feedOn(s.ID, 3)
			return on == "cust2"
		})
		if _, open := b.feedOn(s.ID, 3); open {
			t.Fatal("the new feed is open in whisper")
		}
		b.supervisorHangsUp()
	})
	t.Run("the same side: nothing changes", func(t *testing.T) {
		b := newBench(t, benchOpts{})
		b.setPeer(custLeg)
		s := b.connected()
		b.toMode(s.ID, earshot.ModeBarge)
		b.sweepKeepsFeed(s.ID)
		b.supervisorHangsUp()
	})
	t.Run("a listing older than the path is not judged", func(t *testing.T) {
		b := newBench(t, benchOpts{})
		b.setPeer(custLeg)
		s := b.connected()
		b.toMode(s.ID, earshot.ModeBarge)
		b.app.mu.Lock()
		ses := b.app.sessions[s.ID]
		b.app.mu.Unlock()
		ses.inbox.put(&peerSeen{peer: "cust2", seen: time.Now().Add(-time.Minute)})
		time.Sleep(50 * time.Millisecond)
		if slices.Contains(b.ast.Calls(), "hangup "+b.app.objectID(s.ID, "feed", 2)) {
			t.Fatal("a path newer than the listing was rebuilt")
		}
		b.supervisorHangsUp()
	})
	t.Run("a feed through the agent leg follows the agent: not rebuilt", func(t *testing.T) {
		b := newBench(t, benchOpts{}) // no peer known: the feed whispers through the agent leg
		s := b.connected()
		b.toMode(s.ID, earshot.ModeBarge)
		if on, _ := b.feedOn(s.ID, 2); on != agentLeg {
			t.Fatalf("feed on %q", on)
		}
		b.setPeer("cust2")
		b.sweepKeepsFeed(s.ID)
		b.supervisorHangsUp()
	})
}

func TestSinglePeers(t *testing.T) {
	got := singlePeers([]ari.BridgeData{
		{ID: "b1", ChannelIDs: []string{"a", "b"}},
		{ID: "conf", ChannelIDs: []string{"c", "d", "e"}},
		{ID: "alone", ChannelIDs: []string{"f"}},
	})
	want := map[string]string{"a": "b", "b": "a"}
	if len(got) != len(want) || got["a"] != "b" || got["b"] != "a" {
		t.Fatalf("singlePeers = %v, want %v", got, want)
	}
}
