package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/audio"
	"github.com/earshot/earshot/internal/phones"
	"github.com/earshot/earshot/internal/sandbox"
)

// numberB is the second node's supervising number in these tests.
const numberB = "+35891234598"

// nodesE2E is a whole Earshot over two sandbox Asterisk nodes: "a" (the
// ari-* settings) and "b" (the nodes setting), with a harness on each.
type nodesE2E struct {
	*e2e
	h2 *phones.Harness
	sb sandbox.Env // node b's
}

func startNodesE2E(t *testing.T) *nodesE2E {
	t.Helper()
	sb := sandbox.RequireNode2(t)
	h2 := phones.NewOn(t, sb)
	app := newAppName("earshot-e2e-")
	// Registered before Earshot starts, so it runs after Earshot stopped.
	t.Cleanup(func() {
		h2.HangupAll()
		h2.AssertNoLeaks(t, app+".")
	})
	e := startE2E(t, "--ari-app", app, "--node-id", "a", "--nodes",
		"id=b,ari-url="+sb.URL+",ari-user="+sb.User+",ari-password="+sb.Password+",supervising-number="+numberB)
	phones.WaitFor(t, 10*time.Second, "node b connected", func() bool { ok, _ := e.m.apps.Ready(); return ok })
	return &nodesE2E{e2e: e, h2: h2, sb: sb}
}

type nodesView struct {
	Users []struct {
		ID     string `json:"id"`
		OnCall *struct {
			Node   string `json:"node"`
			CallID string `json:"call_id"`
		} `json:"on_call"`
	} `json:"users"`
	Stale       bool   `json:"stale"`
	StaleReason string `json:"stale_reason"`
}

type nodesReadyz struct {
	Ready  bool              `json:"ready"`
	Checks map[string]string `json:"checks"`
	Nodes  map[string]string `json:"nodes"`
}

type offerView struct {
	Offer struct {
		Node              string `json:"node"`
		SupervisingNumber string `json:"supervising_number"`
		DialURI           string `json:"dial_uri"`
	} `json:"offer"`
}

// Through the API, one supervisor on each node: the offer of each names
// the node of the agent's call and that node's number, each supervisor
// dials it and hears the call (listen, then whisper on b); then node b
// dies: /readyz stays ready and reports b, /metrics reports each node,
// reads turn stale naming b, Listen for b's agent answers 503, and node
// a's session goes on and still switches modes. Nothing of Earshot's
// stays on either node (the cleanups).
func TestE2E_TwoNodes(t *testing.T) {
	e := startNodesE2E(t)
	ctx := context.Background()
	// gina's organization (globex, gus's helpdesk) supervises too.
	e.call(e.admin, "PUT", "/api/v1/admin/orgs/globex/features/supervising", "", 204, nil)
	sara, _ := e.login("sara")
	gina, _ := e.login("gina")

	callA := e.serviceCall("alice")
	callB, err := e.h2.Service(ctx, phones.ServiceOpts{Pool: "helpdesk", Agent: "gus", Via: phones.ViaDial})
	if err != nil {
		t.Fatal(err)
	}
	var v nodesView
	phones.WaitFor(t, 5*time.Second, "gus on a call on node b", func() bool {
		e.call(gina, "GET", "/api/v1/pools/helpdesk/users", "", 200, &v)
		return len(v.Users) == 1 && v.Users[0].OnCall != nil
	})
	if v.Users[0].OnCall.Node != "b" || v.Stale {
		t.Fatalf("gus's call: %+v, want on node b, not stale", v)
	}

	var oa, ob offerView
	e.call(sara, "POST", "/api/v1/users/alice/listen", "", 201, &oa)
	e.call(gina, "POST", "/api/v1/users/gus/listen", "", 201, &ob)
	if oa.Offer.Node != "a" || oa.Offer.SupervisingNumber != phones.SupervisingNumber || oa.Offer.DialURI != "tel:"+phones.SupervisingNumber {
		t.Errorf("alice's offer %+v, want node a and its number", oa.Offer)
	}
	if ob.Offer.Node != "b" || ob.Offer.SupervisingNumber != numberB || ob.Offer.DialURI != "tel:"+numberB {
		t.Errorf("gus's offer %+v, want node b and %s", ob.Offer, numberB)
	}
	supA, err := e.h.Supervisor(ctx, phones.SupervisorOpts{Name: "sara", Number: "+358401234567", App: e.app, Dial: oa.Offer.SupervisingNumber})
	if err != nil {
		t.Fatal(err)
	}
	supB, err := e.h2.Supervisor(ctx, phones.SupervisorOpts{Name: "gina", Number: "+358401234568", App: e.app, Dial: ob.Offer.SupervisingNumber})
	if err != nil {
		t.Fatal(err)
	}
	sa, sg := e.waitSessions(sara, 1).Sessions[0], e.waitSessions(gina, 1).Sessions[0]
	if sa.Node != "a" || sg.Node != "b" {
		t.Errorf("sessions on nodes %q and %q, want a and b", sa.Node, sg.Node)
	}
	e.call(gina, "PUT", "/api/v1/supervising/sessions/"+sg.ID+"/mode", `{"mode":"whisper"}`, 200, nil)
	fromB, toB := hold(1000 * time.Millisecond)
	e.waitMetric(`earshot_node_sessions{node="a"}`, 1)
	e.waitMetric(`earshot_node_sessions{node="b"}`, 1)
	e.waitMetric(`earshot_node_service_calls{node="b"}`, 1)
	e.waitMetric(`earshot_node_ari_up{node="b"}`, 1)
	if err := callB.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	e.waitSessions(gina, 0)
	rg, _ := supB.Recording(ctx, "gina")
	rgus, _ := callB.Recording(ctx, "gus")
	rcb, _ := callB.Recording(ctx, "customer")
	audio.AssertHears(t, rg.Recording, "supervisor on b", phones.AgentHz, iv(rg, fromB, toB))
	audio.AssertHears(t, rgus.Recording, "agent on b (whisper)", phones.SupervisorHz, iv(rgus, fromB, toB))
	audio.AssertNotHears(t, rcb.Recording, "customer on b (whisper)", phones.SupervisorHz, iv(rcb, fromB, toB))

	// A live session on b again, then node b dies under both sessions.
	if _, err := e.h2.Service(ctx, phones.ServiceOpts{Pool: "helpdesk", Agent: "gus", Via: phones.ViaDial, NoRecord: true}); err != nil {
		t.Fatal(err)
	}
	phones.WaitFor(t, 5*time.Second, "gus on a new call on node b", func() bool {
		var o offerView
		e.call(gina, "POST", "/api/v1/users/gus/listen", "", 0, &o)
		return o.Offer.Node == "b"
	})
	if _, err := e.h2.Supervisor(ctx, phones.SupervisorOpts{Name: "gina", Number: "+358401234568", App: e.app, Dial: numberB, NoRecord: true}); err != nil {
		t.Fatal(err)
	}
	e.waitSessions(gina, 1)
	crashed := time.Now()
	e.sb.Script(t, "crash")
	down := true
	t.Cleanup(func() {
		if down { // the test failed with b down: the leak checks need it
			e.sb.Script(t, "start")
		}
	})
	var ready nodesReadyz
	phones.WaitFor(t, 10*time.Second, "node b reported down", func() bool {
		e.call("", "GET", "/readyz", "", 0, &ready)
		return ready.Nodes["b"] != "ok"
	})
	if !ready.Ready || ready.Checks["ari"] != "ok" || ready.Nodes["a"] != "ok" || ready.Nodes["b"] == "ok" || ready.Nodes["b"] == "" {
		t.Errorf("readyz with node b down = %+v, want ready, a ok, b saying why", ready)
	}
	e.waitMetric(`earshot_node_ari_up{node="b"}`, 0)
	e.waitMetric(`earshot_node_ari_up{node="a"}`, 1)
	e.waitMetric("earshot_ari_up", 0)
	e.call(sara, "GET", "/api/v1/pools/sales/users", "", 200, &v)
	if !v.Stale || !strings.Contains(v.StaleReason, "node b") {
		t.Errorf("users view with node b down: stale %v (%q), want stale naming node b", v.Stale, v.StaleReason)
	}
	// gus's call is b's last known state: shown, but no offer for it
	// (its number could not connect while b is down).
	e.call(gina, "POST", "/api/v1/users/gus/listen", "", 503, nil)
	// As with one node, what b had stays listed, marked stale, until b
	// answers again and reconciliation ends it.
	if s := e.waitSessions(gina, 1); !s.Stale {
		t.Errorf("gina's session on the down node b not marked stale: %+v", s)
	}
	// Node a's session is untouched: listed, and it switches.
	if s := e.waitSessions(sara, 1); s.Sessions[0].ID != sa.ID {
		t.Fatalf("sara's sessions after b died: %+v", s)
	}
	e.call(sara, "PUT", "/api/v1/supervising/sessions/"+sa.ID+"/mode", `{"mode":"barge"}`, 200, nil)
	fromA, toA := hold(1000 * time.Millisecond)

	// Node b back: everything current again; a new call on b supervised.
	e.sb.Script(t, "start")
	down = false
	phones.WaitFor(t, 15*time.Second, "node b back", func() bool {
		e.call("", "GET", "/readyz", "", 200, &ready)
		return ready.Nodes["b"] == "ok"
	})
	e.waitSessions(gina, 0)
	e.call(sara, "GET", "/api/v1/pools/sales/users", "", 200, &v)
	if v.Stale {
		t.Errorf("users view stale after node b came back: %q", v.StaleReason)
	}

	if err := callA.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	e.waitSessions(sara, 0)
	rs, _ := supA.Recording(ctx, "sara")
	ra, _ := callA.Recording(ctx, "alice")
	rc, _ := callA.Recording(ctx, "customer")
	audio.AssertHears(t, rs.Recording, "supervisor on a, while b died", phones.CustomerHz, rs.Between(crashed, fromA))
	audio.AssertHears(t, ra.Recording, "agent on a (barge after b died)", phones.SupervisorHz, iv(ra, fromA, toA))
	audio.AssertHears(t, rc.Recording, "customer on a (barge after b died)", phones.SupervisorHz, iv(rc, fromA, toA))
}

func iv(r *phones.Heard, from, to time.Time) audio.Interval {
	return r.Between(from.Add(250*time.Millisecond), to.Add(-60*time.Millisecond))
}

// A node that does not answer at start holds up none of the others:
// Earshot serves node a, /readyz stays ready and says what it waits for
// on node b, and reads are stale naming b. Needs only the first sandbox.
func TestE2E_NodeNotAnswering(t *testing.T) {
	e := startE2E(t, "--node-id", "a", "--nodes", "id=b,ari-url=http://127.0.0.1:1,supervising-number="+numberB)
	var ready nodesReadyz
	e.call("", "GET", "/readyz", "", 200, &ready)
	if !ready.Ready || ready.Nodes["a"] != "ok" || !strings.Contains(ready.Nodes["b"], "waiting for Asterisk") || !strings.Contains(ready.Nodes["b"], "127.0.0.1:1") {
		t.Errorf("readyz = %+v, want ready, a ok, b waiting for Asterisk at its URL", ready)
	}
	sara, _ := e.login("sara")
	e.serviceCall("alice")
	var v nodesView
	phones.WaitFor(t, 5*time.Second, "alice on a call on node a", func() bool {
		e.call(sara, "GET", "/api/v1/pools/sales/users", "", 200, &v)
		for _, u := range v.Users {
			if u.ID == "alice" && u.OnCall != nil {
				return true
			}
		}
		return false
	})
	if !v.Stale || !strings.Contains(v.StaleReason, "node b") {
		t.Errorf("users view: stale %v (%q), want stale naming node b", v.Stale, v.StaleReason)
	}
	var o offerView
	e.call(sara, "POST", "/api/v1/users/alice/listen", "", 201, &o)
	if o.Offer.Node != "a" || o.Offer.SupervisingNumber != phones.SupervisingNumber {
		t.Errorf("offer %+v, want node a's", o.Offer)
	}
}

// Listen here for an agent whose call is on node b starts the browser
// session on node b: the session names b, the page's link carries b's
// call, and a whisper reaches the agent on b and not the customer.
func TestE2E_TwoNodesBrowser(t *testing.T) {
	e := startNodesE2E(t)
	ctx := context.Background()
	e.call(e.admin, "PUT", "/api/v1/admin/orgs/globex/features/supervising", "", 204, nil)
	e.call(e.admin, "PUT", "/api/v1/admin/orgs/globex/features/browser_supervising", "", 204, nil)
	gina, _ := e.login("gina")
	call, err := e.h2.Service(ctx, phones.ServiceOpts{Pool: "helpdesk", Agent: "gus", Via: phones.ViaDial})
	if err != nil {
		t.Fatal(err)
	}
	e.waitOnCall(gina, "gus")
	var here struct {
		Session struct {
			ID   string `json:"id"`
			Node string `json:"node"`
		} `json:"session"`
		Media string `json:"media"`
	}
	e.call(gina, "POST", "/api/v1/users/gus/listen-here", "", 201, &here)
	if here.Session.Node != "b" {
		t.Errorf("browser session on node %q, want b", here.Session.Node)
	}
	_, send, frames := mediaClient(t, e.api.URL, here.Media, gina)
	peer := phones.NewMediaPeer(send, frames, phones.SupervisorHz)
	defer peer.Stop()
	phones.WaitFor(t, 3*time.Second, "call audio on the media link", func() bool { return !peer.FirstFrame().IsZero() })
	e.call(gina, "PUT", "/api/v1/supervising/sessions/"+here.Session.ID+"/mode", `{"mode":"whisper"}`, 200, nil)
	from, to := hold(1000 * time.Millisecond)
	e.call(gina, "DELETE", "/api/v1/supervising/sessions/"+here.Session.ID, "", 204, nil)
	peer.Stop()
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	rs := peer.Heard("gina (browser)")
	rgus, _ := call.Recording(ctx, "gus")
	rc, _ := call.Recording(ctx, "customer")
	audio.AssertHears(t, rs.Recording, "browser on b", phones.AgentHz, iv(rs, from, to))
	audio.AssertHears(t, rgus.Recording, "agent on b (whisper)", phones.SupervisorHz, iv(rgus, from, to))
	audio.AssertNotHears(t, rc.Recording, "customer on b (whisper)", phones.SupervisorHz, iv(rc, from, to))
}
