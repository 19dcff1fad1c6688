package ariapp

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/CyCoreSystems/ari/v6"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/directory"
	"github.com/earshot/earshot/internal/feed"
)

// PoolVar is the channel variable a pool's dialplan sets (inherited, as
// __EARSHOT_POOL) to mark a service call; ari.conf's channelvars must list it.
const PoolVar = "EARSHOT_POOL"

// AgentVar is the channel variable that names the agent of an agent leg
// by user id, for legs whose channel names say nothing about the agent: a
// mobile reached over a trunk. A pre-dial handler or the queue member's
// dialplan sets it on the agent leg itself (never inherited, or the
// customer's channels would carry it too); ari.conf's channelvars must
// list it. It wins over the endpoint binding.
const AgentVar = "EARSHOT_AGENT"

// Tracker knows, for each agent, the live service call they are on. It is
// fed by the event pump (handle) and by reconciliation (rebuild), and read
// by the API and the supervising engine.
type Tracker struct {
	dir    earshot.Directory
	log    *slog.Logger
	isOurs func(id string) bool
	node   string // set once by onNode, before any event

	mu      sync.RWMutex
	calls   map[string]earshot.ServiceCall // by call id (the agent leg's channel id)
	byAgent map[string]string              // agent id → call id
	tracked map[string]time.Time           // call id → when this process began tracking it

	feed *feed.Feed[earshot.CallEvent]
}

var _ earshot.Calls = (*Tracker)(nil)

func newTracker(dir earshot.Directory, log *slog.Logger, isOurs func(string) bool) *Tracker {
	return &Tracker{
		dir:     dir,
		log:     log,
		isOurs:  isOurs,
		calls:   make(map[string]earshot.ServiceCall),
		byAgent: make(map[string]string),
		tracked: make(map[string]time.Time),
		feed:    feed.New[earshot.CallEvent](256),
	}
}

// onNode names the node the tracker follows; New calls it before the
// application runs, so calls carry the node from the first event.
func (t *Tracker) onNode(node string) *Tracker {
	t.node = node
	return t
}

// CallOf implements earshot.Calls.
func (t *Tracker) CallOf(agent string) (earshot.ServiceCall, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if id, ok := t.byAgent[agent]; ok {
		return t.calls[id], nil
	}
	return earshot.ServiceCall{}, earshot.ErrNotOnCall
}

// Call implements earshot.Calls.
func (t *Tracker) Call(id string) (earshot.ServiceCall, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if c, ok := t.calls[id]; ok {
		return c, nil
	}
	return earshot.ServiceCall{}, earshot.ErrNotOnCall
}

// List implements earshot.Calls.
func (t *Tracker) List() []earshot.ServiceCall {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]earshot.ServiceCall, 0, len(t.calls))
	for _, c := range t.calls {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b earshot.ServiceCall) int { return a.Since.Compare(b.Since) })
	return out
}

// Subscribe implements earshot.Calls.
func (t *Tracker) Subscribe(ctx context.Context) <-chan earshot.CallEvent {
	return t.feed.Subscribe(ctx)
}

// handle updates the view from one event. It runs on the event pump and
// makes no ARI requests.
func (t *Tracker) handle(e ari.Event) {
	switch e := e.(type) {
	case *ari.Dial:
		// The earliest sign of an answered service call; Queue() publishes
		// Dial events too. An empty caller is an originate, not a call.
		if e.Dialstatus == "ANSWER" && e.Caller.ID != "" {
			t.consider(e.Peer, time.Time(e.Timestamp))
		}
	case *ari.ChannelEnteredBridge:
		// Needed where the answered peer is a Local channel that Asterisk
		// optimises away: the device leg then enters the customer's bridge.
		if !t.isOurs(e.Bridge.ID) {
			t.consider(e.Channel, time.Time(e.Timestamp))
		}
	case *ari.ChannelDestroyed:
		t.end(e.Channel.ID)
	}
}

// agentLeg decides whether ch is the agent leg of a service call: bound to
// an agent's endpoint and carrying the pool marker (R6).
func (t *Tracker) agentLeg(ch ari.ChannelData) (earshot.User, string, bool) {
	pool := ch.ChannelVars[PoolVar]
	if pool == "" || ch.State != "Up" || strings.HasSuffix(ch.Name, ";2") {
		return earshot.User{}, "", false
	}
	ctx := context.Background()
	agent, ok := t.agentOf(ctx, ch)
	if !ok {
		return earshot.User{}, "", false
	}
	p, err := t.dir.Pool(ctx, pool)
	if err != nil || p.Org != agent.Org {
		t.log.Debug("service call of unknown pool ignored", "pool", pool, "channel", ch.Name)
		return earshot.User{}, "", false
	}
	return agent, pool, true
}

// agentOf finds the agent a leg belongs to: the one AgentVar names, or
// else the one bound to the channel's endpoint.
func (t *Tracker) agentOf(ctx context.Context, ch ari.ChannelData) (earshot.User, bool) {
	if id := ch.ChannelVars[AgentVar]; id != "" {
		agent, err := t.dir.User(ctx, id)
		if err != nil || !agent.HasRole(earshot.RoleAgent) {
			// A dialplan naming nobody is a configuration error worth
			// seeing; the endpoint is not consulted, as the variable
			// says whose leg this is.
			t.log.Warn("agent leg names no agent", "variable", AgentVar, "value", clip(id, 64), "channel", ch.Name)
			return earshot.User{}, false
		}
		return agent, true
	}
	ep := directory.EndpointOfChannel(ch.Name)
	if ep == "" {
		return earshot.User{}, false
	}
	agent, err := t.dir.AgentByEndpoint(ctx, ep)
	return agent, err == nil
}

func (t *Tracker) consider(ch ari.ChannelData, at time.Time) {
	agent, pool, ok := t.agentLeg(ch)
	if !ok {
		return
	}
	customer := ""
	if ch.Connected != nil {
		customer = ch.Connected.Number
	}
	t.start(earshot.ServiceCall{ID: ch.ID, Node: t.node, Agent: agent.ID, Pool: pool, Customer: customer, Since: at})
}

func (t *Tracker) start(c earshot.ServiceCall) {
	t.mu.Lock()
	if _, ok := t.calls[c.ID]; ok {
		t.mu.Unlock()
		return
	}
	var replaced *earshot.ServiceCall
	if old, ok := t.byAgent[c.Agent]; ok {
		// An agent on two service calls at once is on the newer one.
		o := t.calls[old]
		replaced = &o
		delete(t.calls, old)
		delete(t.tracked, old)
	}
	t.calls[c.ID] = c
	t.byAgent[c.Agent] = c.ID
	t.tracked[c.ID] = time.Now()
	t.mu.Unlock()
	if replaced != nil {
		t.feed.Publish(earshot.CallEvent{Call: *replaced, Ended: true})
	}
	t.log.Info("service call started", "call", c.ID, "agent", c.Agent, "pool", c.Pool)
	t.feed.Publish(earshot.CallEvent{Call: c})
}

func (t *Tracker) end(id string) {
	t.mu.Lock()
	c, ok := t.calls[id]
	if ok {
		delete(t.calls, id)
		delete(t.tracked, id)
		if t.byAgent[c.Agent] == id {
			delete(t.byAgent, c.Agent)
		}
	}
	t.mu.Unlock()
	if ok {
		t.log.Info("service call ended", "call", id, "agent", c.Agent)
		t.feed.Publish(earshot.CallEvent{Call: c, Ended: true})
	}
}

// rebuild makes the view match Asterisk's channels and bridges, listed at
// listed, for when events were missed (a reconnect, a dropped event). A
// call tracked after the listing was asked for may be missing from it
// without having ended, so it stays. It returns how many calls it had to
// start or end: each one is an event that did not arrive.
func (t *Tracker) rebuild(listed time.Time, channels []ari.ChannelData, bridges []ari.BridgeData) int {
	byID := make(map[string]ari.ChannelData, len(channels))
	for _, ch := range channels {
		byID[ch.ID] = ch
	}
	fixed := 0
	t.mu.RLock()
	var gone []string
	for id := range t.calls {
		if _, ok := byID[id]; !ok && t.tracked[id].Before(listed) {
			gone = append(gone, id)
		}
	}
	t.mu.RUnlock()
	for _, id := range gone {
		t.end(id)
		fixed++
	}
	for _, b := range bridges {
		if t.isOurs(b.ID) || len(b.ChannelIDs) < 2 {
			continue
		}
		for _, id := range b.ChannelIDs {
			ch, ok := byID[id]
			if !ok {
				continue
			}
			if _, err := t.Call(id); err == nil {
				continue
			}
			if _, _, ok := t.agentLeg(ch); ok {
				t.consider(ch, channelCreated(ch))
				fixed++
			}
		}
	}
	return fixed
}

func channelCreated(ch ari.ChannelData) time.Time {
	if ch.Creationtime != nil {
		return time.Unix(ch.Creationtime.Seconds, int64(ch.Creationtime.Nanos)).UTC()
	}
	return time.Now().UTC()
}

// clip cuts a value from the dialplan to at most n bytes for a log line:
// a dialplan may fill a variable from what a caller sent.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
