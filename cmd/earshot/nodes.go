package main

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/ariapp"
	"github.com/earshot/earshot/metrics"
	"github.com/earshot/earshot/phone"
)

// Several Asterisk nodes under one Earshot (docs/design.md §2.12). The
// first node is the one the ari-* settings and supervising-number
// describe, named by node-id: an Earshot of one node is configured as
// before. The setting nodes adds the others, one spec each, separated by
// ";":
//
//	id=b,ari-url=http://10.0.0.2:8088,supervising-number=+35891234598
//
// ari-user, ari-password and ari-app default to the first node's. Each
// node has its own supervising number: an offer names the number of the
// node that holds the agent's call.

// NodeConfig is one Asterisk node.
type NodeConfig struct {
	ID                string
	ARIURL            string
	ARIUser           string
	ARIPassword       string // secret
	ARIApp            string
	SupervisingNumber string // E.164
}

// ARIBase is the node's ARI base URL (see Config.ARIBase).
func (n NodeConfig) ARIBase() string { return ariBase(n.ARIURL) }

var nodeIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// nodeKeys are the keys a node spec may set.
var nodeKeys = []string{"id", "ari-url", "ari-user", "ari-password", "ari-app", "supervising-number"}

// Nodes returns every node, the first one first.
func (c *Config) Nodes() []NodeConfig {
	first := NodeConfig{
		ID: c.NodeID, ARIURL: c.ARIURL, ARIUser: c.ARIUser, ARIPassword: c.ARIPassword,
		ARIApp: c.ARIApp, SupervisingNumber: c.SupervisingNumber,
	}
	return append([]NodeConfig{first}, c.ExtraNodes...)
}

// parseNodes reads the nodes setting against the first node's settings,
// returning the extra nodes and a problem for each bad spec, each naming
// the node (and never showing a password).
func parseNodes(raw string, c *Config, region string) ([]NodeConfig, []error) {
	var out []NodeConfig
	var problems []error
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf("nodes: "+format, args...))
	}
	ids := map[string]bool{c.NodeID: true}
	numbers := map[string]string{}
	if c.SupervisingNumber != "" {
		numbers[c.SupervisingNumber] = c.NodeID
	}
	for i, spec := range strings.Split(raw, ";") {
		spec = strings.TrimSpace(spec)
		if spec == "" {
			continue
		}
		kv := map[string]string{}
		for _, part := range strings.Split(spec, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			k = strings.TrimSpace(k)
			switch {
			case !ok:
				bad("node %d: %q is not key=value", i+1, clipSecret(k))
				continue
			case !slices.Contains(nodeKeys, k):
				bad("node %d: unknown key %q (want %s)", i+1, k, strings.Join(nodeKeys, ", "))
				continue
			case kv[k] != "":
				bad("node %d: %s is given twice", i+1, k)
			}
			kv[k] = strings.TrimSpace(v)
		}
		n := NodeConfig{
			ID: kv["id"], ARIURL: kv["ari-url"], ARIUser: cmp.Or(kv["ari-user"], c.ARIUser),
			ARIPassword: cmp.Or(kv["ari-password"], c.ARIPassword), ARIApp: cmp.Or(kv["ari-app"], c.ARIApp),
		}
		name := n.ID
		if name == "" {
			name = fmt.Sprint(i + 1)
		}
		switch {
		case n.ID == "":
			bad("node %d: id is missing", i+1)
		case !nodeIDPattern.MatchString(n.ID):
			bad("node %q: id is not 1 to 32 lower-case letters, digits or -", n.ID)
		case ids[n.ID]:
			bad("node %q: id is used twice (the first node is node-id %q)", n.ID, c.NodeID)
		}
		ids[n.ID] = true
		if !isHTTPURL(n.ARIURL) {
			bad("node %s: ari-url %q is not an http(s) URL", name, redactURL(n.ARIURL))
		}
		if n.ARIApp == "" || strings.ContainsAny(n.ARIApp, " \t/") {
			bad("node %s: ari-app %q is not a Stasis application name", name, n.ARIApp)
		}
		switch num, err := phone.Normalize(kv["supervising-number"], region); {
		case kv["supervising-number"] == "":
			bad("node %s: supervising-number is missing: each node has its own", name)
		case err != nil:
			bad("node %s: supervising-number: %s", name, earshot.ErrorMessage(err))
		case numbers[num] != "":
			bad("node %s: supervising-number %s is node %s's too; each node needs its own", name, num, numbers[num])
		default:
			n.SupervisingNumber = num
			numbers[num] = n.ID
		}
		out = append(out, n)
	}
	return out, problems
}

// redactedNodes shows the nodes setting without passwords.
func redactedNodes(nodes []NodeConfig) string {
	parts := make([]string, len(nodes))
	for i, n := range nodes {
		parts[i] = fmt.Sprintf("id=%s,ari-url=%s,ari-user=%s,ari-app=%s,supervising-number=%s",
			n.ID, redactURL(n.ARIURL), n.ARIUser, n.ARIApp, n.SupervisingNumber)
		if n.ARIPassword != "" {
			parts[i] += ",ari-password=***"
		}
	}
	return strings.Join(parts, ";")
}

// clipSecret shows at most a few characters of a malformed spec part: it
// may be a password missing its key.
func clipSecret(s string) string {
	if len(s) <= 4 {
		return s
	}
	return s[:4] + "…"
}

// appReady is one node's readiness, in ariReady's words.
func (m *Main) appReady(app *ariapp.App) (bool, string) {
	ok, why := app.Ready()
	if !ok && app.Stats().Connects == 0 {
		why = fmt.Sprintf("waiting for Asterisk: ari at %s has not answered since start (retrying): %s", redactURL(m.node(app.Node()).ARIBase()), why)
	}
	return ok, why
}

// nodesReady is /readyz's nodes: each node's state, "ok" or why not.
func (m *Main) nodesReady() map[string]string {
	out := make(map[string]string, len(m.apps))
	for _, app := range m.apps {
		ok, why := m.appReady(app)
		if ok {
			why = "ok"
		}
		out[app.Node()] = why
	}
	return out
}

// nodeMetrics reads each node for the earshot_node_* metrics.
func (m *Main) nodeMetrics() []metrics.Node {
	out := make([]metrics.Node, len(m.apps))
	for i, app := range m.apps {
		ok, _ := app.Ready()
		out[i] = metrics.Node{
			ID: app.Node(), Up: ok, Calls: len(app.Tracker().List()),
			Sessions: len(app.Sessions("")), ARI: app.Stats(),
		}
	}
	return out
}

// node returns a node's configuration.
func (m *Main) node(id string) NodeConfig {
	for _, n := range m.cfg.Nodes() {
		if n.ID == id {
			return n
		}
	}
	return NodeConfig{}
}

// nodePrefix names the node in a message when there are several.
func (m *Main) nodePrefix(id string) string {
	if len(m.apps) < 2 {
		return ""
	}
	return "node " + id + ": "
}
