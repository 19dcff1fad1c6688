package ariapp_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/ariapp"
	"github.com/earshot/earshot/directory"
	"github.com/earshot/earshot/internal/audio"
	"github.com/earshot/earshot/internal/memdir"
	"github.com/earshot/earshot/internal/phones"
	"github.com/earshot/earshot/internal/sandbox"
	"github.com/earshot/earshot/offers"
	"github.com/earshot/earshot/phone"
)

// The supervising numbers of the two nodes in these tests.
const (
	numberA = "+35891234599"
	numberB = "+35891234598"
)

// nodesFixture is one Earshot over two sandbox Asterisk nodes, "a" and
// "b": one App per node, one offers service over both (as cmd/earshot
// wires them), a harness on each node.
type nodesFixture struct {
	t      *testing.T
	name   string
	h      map[string]*phones.Harness
	sb     map[string]sandbox.Env
	apps   ariapp.Apps
	offers *offers.Service
	audit  *memAudit
	events <-chan earshot.SessionEvent
}

func newNodesFixture(t *testing.T) *nodesFixture {
	t.Helper()
	sbB := sandbox.RequireNode2(t)
	sbA := sandbox.Require(t)
	fx := &nodesFixture{
		t: t, audit: &memAudit{},
		h:  map[string]*phones.Harness{"a": phones.New(t), "b": phones.NewOn(t, sbB)},
		sb: map[string]sandbox.Env{"a": sbA, "b": sbB},
	}
	f, err := directory.Load("../testdata/directory/load.yaml", "FI")
	if err != nil {
		t.Fatal(err)
	}
	dir := memdir.New(f)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	fx.name = "earshot-n" + hex.EncodeToString(b)
	level := slog.LevelWarn
	if os.Getenv("EARSHOT_TEST_LOG") == "info" {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level})).With("app", fx.name)
	trackers := ariapp.Calls{ariapp.NewTracker(dir, fx.name, log), ariapp.NewTracker(dir, fx.name, log)}
	numbers := map[string]string{"a": numberA, "b": numberB}
	fx.offers = offers.New(offers.Config{
		Directory: dir, Calls: trackers, Log: log,
		NumberOf: func(node string) string { return numbers[node] },
		Busy:     func(sup string, call earshot.ServiceCall) bool { return fx.apps.Busy(sup, call) },
	})
	for i, node := range []string{"a", "b"} {
		env := fx.h[node].Env()
		app, err := ariapp.New(ariapp.Config{
			URL: env.URL, User: env.User, Password: env.Password, App: fx.name, Node: node,
			Directory: dir, Tracker: trackers[i], Offers: fx.offers, Audit: fx.audit,
			DefaultRegion: "FI", Normalize: phone.Normalize, Log: log.With("node", node),
		})
		if err != nil {
			t.Fatal(err)
		}
		fx.apps = append(fx.apps, app)
	}
	ctx, cancel := context.WithCancel(context.Background())
	fx.events = fx.apps.Subscribe(ctx)
	var wg sync.WaitGroup
	for _, app := range fx.apps {
		wg.Go(func() { app.Run(ctx) })
	}
	wg.Go(func() { fx.offers.Run(ctx) })
	t.Cleanup(func() {
		for _, h := range fx.h {
			h.HangupAll()
		}
		cancel()
		wg.Wait()
		// Nothing of Earshot's stays on either node.
		for _, h := range fx.h {
			h.AssertNoLeaks(t, fx.name+".")
		}
	})
	phones.WaitFor(t, 10*time.Second, "both nodes connected", func() bool { ok, _ := fx.apps.Ready(); return ok })
	return fx
}

// serviceCall places a pool call on a node and waits until that node's
// application tracks it.
func (fx *nodesFixture) serviceCall(node, agent string) *phones.Call {
	fx.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := fx.apps.Node(node).Tracker().Subscribe(ctx)
	call, err := fx.h[node].Service(ctx, phones.ServiceOpts{Pool: "sales", Agent: agent, Via: phones.ViaDial})
	if err != nil {
		fx.t.Fatal(err)
	}
	if c := awaitCall(fx.t, events, agent); c.Node != node {
		fx.t.Errorf("call of %s on node %s says node %q", agent, node, c.Node)
	}
	return call
}

// offer makes sup an offer for agent's call and checks it names the node
// and its number.
func (fx *nodesFixture) offer(sup, agent, node string) earshot.Offer {
	fx.t.Helper()
	o, err := fx.offers.Offer(context.Background(), sup, agent, earshot.OfferAdHoc)
	if err != nil {
		fx.t.Fatalf("offer %s → %s: %v", sup, agent, err)
	}
	want := map[string]string{"a": numberA, "b": numberB}[node]
	if o.Node != node || o.SupervisingNumber != want {
		fx.t.Fatalf("offer for %s's call on node %s: node %q number %q, want %s", agent, node, o.Node, o.SupervisingNumber, want)
	}
	return o
}

// dial has a supervisor's phone call a number on a node.
func (fx *nodesFixture) dial(node, sup, number, dial string) *phones.Call {
	fx.t.Helper()
	call, err := fx.h[node].Supervisor(context.Background(), phones.SupervisorOpts{Name: sup, Number: number, App: fx.name, Dial: dial})
	if err != nil {
		fx.t.Fatal(err)
	}
	return call
}

// waitSession waits for a session event of kind for sup.
func (fx *nodesFixture) waitSession(kind, sup string) earshot.Session {
	fx.t.Helper()
	return awaitSession(fx.t, fx.events, kind, sup)
}

// A supervisor on each node, each with the hearing matrix exact in every
// mode; a supervisor who dials the number of the node without their call
// is refused without hearing anything, and the offer stays theirs for
// the right number.
func TestNodes_SupervisorOnEach(t *testing.T) {
	fx := newNodesFixture(t)
	ctx := context.Background()
	callA := fx.serviceCall("a", "alice")
	callB := fx.serviceCall("b", "bob")
	if calls := (ariapp.Calls{fx.apps[0].Tracker(), fx.apps[1].Tracker()}).List(); len(calls) != 2 {
		t.Fatalf("merged calls %+v, want two", calls)
	}

	fx.offer("sara", "alice", "a")
	supA := fx.dial("a", "sara", saraNumber, numberA)
	sessA := fx.waitSession(earshot.SessionStarted, "sara")

	// sam's offer is for bob's call on node b. sam's phone calls node
	// a's number and node b's at the same moment: node a refuses (it has
	// no offer for sam) without claiming the offer, so node b connects.
	fx.offer("sam", "bob", "b")
	wrong := fx.dial("a", "sam", samNumber, numberA)
	supB := fx.dial("b", "sam", samNumber, numberB)
	sessB := fx.waitSession(earshot.SessionStarted, "sam")
	phones.WaitFor(t, 10*time.Second, "the wrong-node call refused", func() bool { return slices.Contains(fx.audit.rejects(), earshot.RejectNoOffer) })
	if err := wrong.WaitGone(ctx); err != nil {
		t.Fatal(err)
	}
	if sessA.Node != "a" || sessB.Node != "b" {
		t.Fatalf("sessions on nodes %q and %q, want a and b", sessA.Node, sessB.Node)
	}
	if got := fx.apps.Sessions(""); len(got) != 2 {
		t.Fatalf("merged sessions %+v, want two", got)
	}

	var spans []struct {
		a, b span
	}
	from, to := hold(1000 * time.Millisecond)
	spans = append(spans, struct{ a, b span }{span{"a listen", from, to, earshot.ModeListen}, span{"b listen", from, to, earshot.ModeListen}})
	for _, m := range [][2]earshot.Mode{{earshot.ModeWhisper, earshot.ModeBarge}, {earshot.ModeBarge, earshot.ModeWhisper}} {
		// Through the merged view, as the API switches them.
		if err := fx.apps.SetMode(ctx, sessA.ID, m[0]); err != nil {
			t.Fatal(err)
		}
		if err := fx.apps.SetMode(ctx, sessB.ID, m[1]); err != nil {
			t.Fatal(err)
		}
		from, to := hold(1000 * time.Millisecond)
		spans = append(spans, struct{ a, b span }{span{"a " + string(m[0]), from, to, m[0]}, span{"b " + string(m[1]), from, to, m[1]}})
	}
	if err := callA.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if err := callB.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	rsA, rcA, raA := recording(t, supA, "sara"), recording(t, callA, "customer"), recording(t, callA, "alice")
	rsB, rcB, raB := recording(t, supB, "sam"), recording(t, callB, "customer"), recording(t, callB, "bob")
	for _, s := range spans {
		assertMatrix(t, s.a, rsA, rcA, raA)
		assertMatrix(t, s.b, rsB, rcB, raB)
	}
	// The wrong-node caller heard nothing of either call.
	rw := recording(t, wrong, "sam")
	for _, hz := range []float64{phones.CustomerHz, phones.AgentHz} {
		if at, ok := rw.FirstPresent(hz, 0); ok {
			t.Errorf("the call on the wrong node's number heard %v Hz at %v", hz, at)
		}
	}
	fx.waitSession(earshot.SessionEnded, "sara")
	fx.waitSession(earshot.SessionEnded, "sam")
	// The audit names the node of each connect and of the refusal.
	nodes := map[string]string{}
	fx.audit.mu.Lock()
	for _, e := range fx.audit.e {
		nodes[e.Kind+" "+e.Supervisor] = e.Node
	}
	fx.audit.mu.Unlock()
	if nodes["connect sara"] != "a" || nodes["connect sam"] != "b" || nodes["reject sam"] != "a" {
		t.Errorf("audit nodes %v, want sara's connect on a, sam's reject on a and connect on b", nodes)
	}
}

// Node b dies (SIGKILL: no hang-ups, no events) under a live session on
// each node: b's session ends, a's goes on untouched — its stream never
// drops, its audio keeps flowing, it still switches modes — and nothing
// of Earshot's stays on either node (the fixture's cleanup). Not
// parallel: it takes node b away from everyone.
func TestNodes_NodeDiesOthersGoOn(t *testing.T) {
	fx := newNodesFixture(t)
	ctx := context.Background()
	callA := fx.serviceCall("a", "alice")
	fx.serviceCall("b", "bob")
	fx.offer("sara", "alice", "a")
	supA := fx.dial("a", "sara", saraNumber, numberA)
	sessA := fx.waitSession(earshot.SessionStarted, "sara")
	fx.offer("sam", "bob", "b")
	fx.dial("b", "sam", samNumber, numberB)
	fx.waitSession(earshot.SessionStarted, "sam")
	connectsA := fx.apps[0].Stats().Connects

	crashed := time.Now()
	fx.sb["b"].Crash(t) // returns once b's ARI answers again
	ended := fx.waitSession(earshot.SessionEnded, "sam")
	if ended.Node != "b" {
		t.Errorf("ended session on node %q, want b", ended.Node)
	}
	phones.WaitFor(t, 15*time.Second, "node b reconnected and reconciled", func() bool {
		ok, _ := fx.apps[1].Ready()
		return ok && len(fx.apps[1].Sessions("")) == 0 && len(fx.apps[1].Tracker().List()) == 0
	})

	// Node a: the same session, still live, switching modes.
	if got := fx.apps.Sessions("sara"); len(got) != 1 || got[0].ID != sessA.ID {
		t.Fatalf("node a's sessions after b died: %+v", got)
	}
	if err := fx.apps.SetMode(ctx, sessA.ID, earshot.ModeBarge); err != nil {
		t.Fatalf("switch on node a after b died: %v", err)
	}
	from, to := hold(1000 * time.Millisecond)
	if got := fx.apps[0].Stats().Connects; got != connectsA {
		t.Errorf("node a's event stream reconnected (%d → %d connects): b's death reached it", connectsA, got)
	}
	if err := callA.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	fx.waitSession(earshot.SessionEnded, "sara")
	rs, rc, ra := recording(t, supA, "sara"), recording(t, callA, "customer"), recording(t, callA, "alice")
	// Through the crash itself the supervisor on a kept hearing the call.
	through := rs.Between(crashed, from)
	audio.AssertHears(t, rs.Recording, "supervisor on a while b died", phones.CustomerHz, through)
	audio.AssertHears(t, rs.Recording, "supervisor on a while b died", phones.AgentHz, through)
	assertMatrix(t, span{"a barge after b died", from, to, earshot.ModeBarge}, rs, rc, ra)
}
