package ariapp

import (
	"context"
	"slices"
	"strings"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/internal/feed"
)

// Several Asterisk nodes under one Earshot: each node has its own App
// (event stream, tracker, reconciliation, sessions), and the rest of
// Earshot (offers, the API, push, metrics) sees them through these merged
// views. A node's outage stays with its own App: the others' calls and
// sessions go on (docs/design.md §2.12).

// Calls is the service-call view of several nodes' trackers.
type Calls []*Tracker

var _ earshot.Calls = Calls(nil)

// CallOf implements earshot.Calls: an agent on calls on two nodes (a call
// moved by a transfer, before the old leg's end reached Earshot) is on
// the newer one.
func (cs Calls) CallOf(agent string) (earshot.ServiceCall, error) {
	var found []earshot.ServiceCall
	for _, t := range cs {
		if c, err := t.CallOf(agent); err == nil {
			found = append(found, c)
		}
	}
	if len(found) == 0 {
		return earshot.ServiceCall{}, earshot.ErrNotOnCall
	}
	return slices.MaxFunc(found, func(a, b earshot.ServiceCall) int { return a.Since.Compare(b.Since) }), nil
}

// Call implements earshot.Calls. Ids are channel ids, unique per node;
// nodes with distinct systemname settings (asterisk-conf/) keep them
// unique across nodes too; offers and sessions keep the node beside it.
func (cs Calls) Call(id string) (earshot.ServiceCall, error) {
	for _, t := range cs {
		if c, err := t.Call(id); err == nil {
			return c, nil
		}
	}
	return earshot.ServiceCall{}, earshot.ErrNotOnCall
}

// List implements earshot.Calls: every node's calls, oldest first.
func (cs Calls) List() []earshot.ServiceCall {
	var out []earshot.ServiceCall
	for _, t := range cs {
		out = append(out, t.List()...)
	}
	slices.SortFunc(out, func(a, b earshot.ServiceCall) int { return a.Since.Compare(b.Since) })
	return out
}

// Subscribe implements earshot.Calls: every node's events on one channel.
func (cs Calls) Subscribe(ctx context.Context) <-chan earshot.CallEvent {
	return subscribeAll[earshot.CallEvent](ctx, cs)
}

// Apps is the supervising view of several nodes' applications.
type Apps []*App

var _ earshot.Supervising = Apps(nil)

// Node returns the application of a node, or nil.
func (as Apps) Node(id string) *App {
	for _, a := range as {
		if a.cfg.Node == id {
			return a
		}
	}
	return nil
}

// Sessions implements earshot.Supervising: every node's, oldest first.
func (as Apps) Sessions(supervisor string) []earshot.Session {
	var out []earshot.Session
	for _, a := range as {
		out = append(out, a.Sessions(supervisor)...)
	}
	slices.SortFunc(out, func(x, y earshot.Session) int { return x.StartedAt.Compare(y.StartedAt) })
	return out
}

// owner returns the application running session id.
func (as Apps) owner(id string) (*App, error) {
	for _, a := range as {
		if _, err := a.connected(id); err == nil {
			return a, nil
		}
	}
	return nil, earshot.ErrSessionNotFound
}

// SetMode implements earshot.Supervising: ErrUnavailable only when the
// session's own node is unreachable.
func (as Apps) SetMode(ctx context.Context, id string, m earshot.Mode) error {
	if !m.Valid() {
		return earshot.Errorf(earshot.EINVALID, "mode %q is not one of listen, whisper, barge", m)
	}
	a, err := as.owner(id)
	if err != nil {
		return err
	}
	return a.SetMode(ctx, id, m)
}

// Hangup implements earshot.Supervising.
func (as Apps) Hangup(ctx context.Context, id string) error {
	a, err := as.owner(id)
	if err != nil {
		return err
	}
	return a.Hangup(ctx, id)
}

// EndWhere implements earshot.Supervising on every node.
func (as Apps) EndWhere(ctx context.Context, match func(earshot.Session) bool, reason earshot.EndReason) int {
	n := 0
	for _, a := range as {
		n += a.EndWhere(ctx, match, reason)
	}
	return n
}

// Subscribe implements earshot.Supervising: every node's session events.
func (as Apps) Subscribe(ctx context.Context) <-chan earshot.SessionEvent {
	return subscribeAll[earshot.SessionEvent](ctx, as)
}

// subscribeAll merges the events of every node's source into one channel.
func subscribeAll[E any, S interface {
	Subscribe(context.Context) <-chan E
}](ctx context.Context, srcs []S) <-chan E {
	ins := make([]<-chan E, len(srcs))
	for i, src := range srcs {
		ins[i] = src.Subscribe(ctx)
	}
	return feed.Merge(ctx, ins...)
}

// Busy reports whether supervisor already supervises the call: a session
// on the call's node with its id.
func (as Apps) Busy(supervisor string, call earshot.ServiceCall) bool {
	for _, a := range as {
		if a.cfg.Node == call.Node && a.Busy(supervisor, call.ID) {
			return true
		}
	}
	return false
}

var _ earshot.Browsing = Apps(nil)

// Browse implements earshot.Browsing on the node that holds the agent's
// newest call; the call-independent permission comes first, so the answer
// to a supervisor outside their scope says nothing of the agent's calls.
func (as Apps) Browse(ctx context.Context, supervisor, agent string) (earshot.Session, error) {
	if len(as) == 0 {
		return earshot.Session{}, earshot.ErrUnavailable
	}
	if _, _, _, err := as[0].mayBrowseAgent(ctx, supervisor, agent); err != nil {
		return earshot.Session{}, err
	}
	var holder *App
	var newest earshot.ServiceCall
	for _, a := range as {
		if c, err := a.tracker.CallOf(agent); err == nil && (holder == nil || c.Since.After(newest.Since)) {
			holder, newest = a, c
		}
	}
	if holder == nil {
		return earshot.Session{}, earshot.ErrNotOnCall
	}
	return holder.Browse(ctx, supervisor, agent)
}

// Media implements earshot.Browsing: the link of the node running the
// session.
func (as Apps) Media(sessionID string) (earshot.MediaLink, error) {
	a, err := as.owner(sessionID)
	if err != nil {
		return nil, err
	}
	return a.Media(sessionID)
}

// Stats returns the counters of every node added up.
func (as Apps) Stats() Stats {
	sum := Stats{Rejects: map[string]int64{}}
	for _, a := range as {
		s := a.Stats()
		sum.Events += s.Events
		sum.BadEvents += s.BadEvents
		sum.Connects += s.Connects
		sum.Sessions += s.Sessions
		sum.Reconciled += s.Reconciled
		sum.Sweeps += s.Sweeps
		for r, n := range s.Rejects {
			sum.Rejects[r] += n
		}
	}
	return sum
}

// Ready reports whether every node's event stream is connected; if not,
// it names the nodes that are not, and why.
func (as Apps) Ready() (bool, string) {
	var down []string
	for _, a := range as {
		if ok, why := a.Ready(); !ok {
			down = append(down, nodeWhy(a.cfg.Node, why))
		}
	}
	return len(down) == 0, strings.Join(down, "; ")
}

// AnyReady reports whether some node's event stream is connected; if
// none is, it says why for each.
func (as Apps) AnyReady() (bool, string) {
	var down []string
	for _, a := range as {
		ok, why := a.Ready()
		if ok {
			return true, ""
		}
		down = append(down, nodeWhy(a.cfg.Node, why))
	}
	return false, strings.Join(down, "; ")
}

func nodeWhy(node, why string) string {
	if node == "" {
		return why
	}
	return "node " + node + ": " + why
}
