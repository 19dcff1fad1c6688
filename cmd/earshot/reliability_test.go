package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/internal/phones"
	"github.com/earshot/earshot/internal/sandbox"
)

// loadDirectory has agents ag01..ag50 and supervisors su01..su50.
const loadDirectory = "../../testdata/directory/load.yaml"

func supNumber(i int) string { return fmt.Sprintf("+3584099000%02d", i) }

// superviseMany connects su<i> to ag<i>'s service call for i in 1..n,
// all at once, and returns the service and supervisor calls.
func (e *e2e) superviseMany(n int) (calls, sups []*phones.Call) {
	e.t.Helper()
	ctx := context.Background()
	calls, sups = make([]*phones.Call, n), make([]*phones.Call, n)
	phones.Parallel(e.t, n, func(i int) error {
		c, err := e.h.Service(ctx, phones.ServiceOpts{Pool: "sales", Agent: fmt.Sprintf("ag%02d", i+1), Via: phones.ViaDial})
		calls[i] = c
		return err
	})
	phones.WaitFor(e.t, 10*time.Second, "every call tracked", func() bool { return len(e.m.app.Tracker().List()) == n })
	phones.Parallel(e.t, n, func(i int) error {
		if _, err := e.m.offers.Offer(ctx, fmt.Sprintf("su%02d", i+1), fmt.Sprintf("ag%02d", i+1), earshot.OfferAdHoc); err != nil {
			return err
		}
		s, err := e.h.Supervisor(ctx, phones.SupervisorOpts{Name: fmt.Sprintf("su%02d", i+1), Number: supNumber(i + 1), App: e.app})
		sups[i] = s
		return err
	})
	phones.WaitFor(e.t, 30*time.Second, "every session connected", func() bool { return len(e.m.app.Sessions("")) == n })
	return calls, sups
}

type poolView struct {
	Stale       bool   `json:"stale"`
	StaleReason string `json:"stale_reason"`
	Users       []struct {
		ID     string `json:"id"`
		OnCall *struct {
			CallID string `json:"call_id"`
		} `json:"on_call"`
	} `json:"users"`
}

func (v poolView) onCall() []string {
	var out []string
	for _, u := range v.Users {
		if u.OnCall != nil {
			out = append(out, u.ID)
		}
	}
	return out
}

// Asterisk restarted (SIGKILL) under 20 live sessions: Earshot reconnects,
// the pool users view is right again soon after ARI is back, the sessions
// are gone, and nothing leaks (checked at cleanup).
func TestReliability_AsteriskRestart(t *testing.T) {
	e := startE2E(t, "--directory", loadDirectory)
	tok, _ := e.login("su01")
	e.superviseMany(20)
	var before poolView
	e.call(tok, "GET", "/api/v1/pools/sales/users", "", 200, &before)
	if n := len(before.onCall()); n != 20 {
		t.Fatalf("%d agents on call before the restart, want 20", n)
	}

	sandbox.Require(t).Crash(t) // returns once ARI answers again
	took := phones.WaitFor(t, 4*time.Second, "pool users view right after the restart", func() bool {
		var v poolView
		e.call(tok, "GET", "/api/v1/pools/sales/users", "", 200, &v)
		return !v.Stale && len(v.onCall()) == 0
	})
	t.Logf("pool users view right %s after ARI was back", took.Round(time.Millisecond))
	phones.WaitFor(t, 5*time.Second, "sessions ended", func() bool { return len(e.m.app.Sessions("")) == 0 })

	// And it works again.
	e.superviseMany(1)
}

// proxy forwards TCP to target until cut; while cut it refuses.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *proxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		if !down {
			p.conns[c] = true
		}
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		go p.pipe(c)
	}
}

func (p *proxy) pipe(c net.Conn) {
	u, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[u] = true
	p.mu.Unlock()
	go func() { io.Copy(u, c); u.Close() }()
	io.Copy(c, u)
	c.Close()
}

// cut drops every connection and refuses new ones.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

func (p *proxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// ARI unreachable (the network to Asterisk cut, Asterisk itself fine):
// reads answer from the last known state marked stale, actions answer
// 503, /readyz says why; all of it recovers when ARI is back.
func TestReliability_ARIUnreachable(t *testing.T) {
	sb := sandbox.Require(t)
	p := newProxy(t, strings.TrimPrefix(sb.URL, "http://"))
	e := startE2E(t, "--ari-url", p.URL())
	ctx := context.Background()
	tok, _ := e.login("sara")
	call := e.serviceCall("alice")
	var v poolView
	phones.WaitFor(t, 5*time.Second, "alice on call", func() bool {
		e.call(tok, "GET", "/api/v1/pools/sales/users", "", 200, &v)
		return len(v.onCall()) == 1
	})

	p.cut()
	var ready struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	phones.WaitFor(t, 5*time.Second, "/readyz unready", func() bool {
		e.call("", "GET", "/readyz", "", 0, &ready)
		return !ready.Ready
	})
	if ready.Checks["ari"] == "ok" || ready.Checks["ari"] == "" {
		t.Errorf("readyz checks = %v, want the ARI reason", ready.Checks)
	}
	e.call(tok, "GET", "/api/v1/pools/sales/users", "", 200, &v)
	if !v.Stale || v.StaleReason == "" || len(v.onCall()) != 1 {
		t.Errorf("while unreachable: %+v, want alice still on call, marked stale with a reason", v)
	}
	e.call(tok, "POST", "/api/v1/users/alice/listen", "", 503, nil)

	p.restore()
	phones.WaitFor(t, 5*time.Second, "ready again", func() bool {
		e.call("", "GET", "/readyz", "", 0, &ready)
		return ready.Ready
	})
	e.call(tok, "GET", "/api/v1/pools/sales/users", "", 200, &v)
	if v.Stale || len(v.onCall()) != 1 {
		t.Errorf("after recovery: %+v, want alice on call, not stale", v)
	}
	e.call(tok, "POST", "/api/v1/users/alice/listen", "", 201, nil)
	if _, err := e.h.Supervisor(ctx, phones.SupervisorOpts{Name: "sara", Number: "+358401234567", App: e.app}); err != nil {
		t.Fatal(err)
	}
	e.waitSessions(tok, 1)
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}

// /readyz follows Asterisk: unready with the reason while it is stopped,
// ready again once it is back.
func TestReliability_ReadyzFollowsAsterisk(t *testing.T) {
	e := startE2E(t)
	var ready struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	e.call("", "GET", "/readyz", "", 200, &ready)
	if ready.Checks["store"] != "ok" || ready.Checks["ari"] != "ok" {
		t.Fatalf("checks = %v, want ari and store ok", ready.Checks)
	}
	sb := sandbox.Require(t)
	sb.Script(t, "stop")
	phones.WaitFor(t, 10*time.Second, "unready while Asterisk is stopped", func() bool {
		e.call("", "GET", "/readyz", "", 0, &ready)
		return !ready.Ready && ready.Checks["ari"] != "ok" && ready.Checks["store"] == "ok"
	})
	t.Logf("while stopped: %v", ready.Checks)
	sb.Script(t, "start")
	took := phones.WaitFor(t, 10*time.Second, "ready again", func() bool {
		e.call("", "GET", "/readyz", "", 0, &ready)
		return ready.Ready
	})
	t.Logf("ready %s after Asterisk answered again", took.Round(time.Millisecond))
}
