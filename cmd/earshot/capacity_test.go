package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/phones"
	"github.com/earshot/earshot/internal/sandbox"
)

// capStep is one step of the capacity benchmark: n calls supervised at
// once, measured over capWindow.
type capStep struct {
	Sessions      int     `json:"sessions"`                 // supervised calls live in the window
	CallsCPU      float64 `json:"calls_asterisk_cpu"`       // Asterisk before the step's new calls were supervised
	PerSession    float64 `json:"asterisk_cpu_per_session"` // Asterisk's CPU for supervising one call (snoop, bridge, supervisor's phone)
	RampSeconds   float64 `json:"ramp_s"`                   // placing the step's new calls and connecting them
	AsteriskCPU   float64 `json:"asterisk_cpu"`             // % of one core
	EarshotCPU    float64 `json:"earshot_cpu"`              // % of one core
	RampAsterisk  float64 `json:"ramp_asterisk_cpu"`        // the same while the step's calls were placed and connected
	RampEarshot   float64 `json:"ramp_earshot_cpu"`
	RampEvents    float64 `json:"ramp_ari_events_per_s"`
	EarshotRSSMB  float64 `json:"earshot_rss_mb"` // resident memory at the window's end
	EventsPerSec  float64 `json:"ari_events_per_s"`
	Dropped       int64   `json:"ari_events_dropped"` // reconciliation's corrections and reconnects
	AsteriskWarns int     `json:"asterisk_warnings"`  // WARNING/ERROR lines Asterisk logged during the step
	HearingOK     int     `json:"hearing_ok"`         // sampled sessions whose hearing matrix held
	HearingOf     int     `json:"hearing_of"`
	Failure       string  `json:"failure,omitempty"`
}

// capacityResult is the capacity benchmark: its steps and where (and why)
// the machine saturated, if it did.
type capacityResult struct {
	Steps     []capStep `json:"steps"`
	Saturated string    `json:"saturated,omitempty"`
}

const (
	capWindow  = 5 * time.Second
	capSamples = 2 // sessions per step whose hearing is checked
	capBatch   = 25
	// saturation: Asterisk busier than this share of all cores.
	capSaturatedCPU = 0.85
)

// capacity runs a separate earshot process against the sandbox and
// raises the number of concurrently supervised calls step by step. Phones
// do not record (hundreds of MixMonitors would be the load), except the
// sampled sessions of each step, whose recordings are checked for the
// hearing matrix of listening: the supervisor hears customer and agent,
// neither of them hears the supervisor. It stops at the first step where
// the machine saturates: Asterisk above capSaturatedCPU of the cores,
// sessions failing to connect, or a sampled session hearing wrong.
func capacity(t *testing.T, steps []int) capacityResult {
	h := phones.New(t)
	sb := sandbox.Require(t)
	astPID, err := sb.AsteriskPID()
	if err != nil {
		t.Fatal(err)
	}
	dir := capacityDirectory(t, slices.Max(steps)+capSamples*len(steps))
	app := newAppName("earshot-cap-")
	args := processArgs(t, app, filepath.Join(t.TempDir(), "earshot.db"))
	args[slices.Index(args, "--directory")+1] = dir
	c := &capRun{t: t, ctx: context.Background(), h: h, app: app, astPID: astPID,
		logFile: sb.HostPath("/var/log/asterisk/messages.log")}
	c.p = startProcess(t, args...)
	c.earshotPID = c.p.cmd.Process.Pid
	defer c.end()
	var res capacityResult
	for _, n := range steps {
		step := c.step(n)
		res.Steps = append(res.Steps, step)
		t.Logf("capacity %d: %+v", n, step)
		if res.Saturated = saturation(step); res.Saturated != "" {
			break
		}
	}
	return res
}

// capRun is the capacity benchmark's state: the earshot process under
// test and the supervised calls live.
type capRun struct {
	t                  *testing.T
	ctx                context.Context
	h                  *phones.Harness
	p                  *process
	app                string
	astPID, earshotPID int
	logFile            string
	live               []*capSession // calls up (supervised once their step has ramped)
	next               int           // number of the last agent/supervisor pair used
}

// capSession is agent i's call and supervisor i's call to it.
type capSession struct {
	i         int
	call, sup *phones.Call
	quiet     bool // records nothing
}

// step raises the supervised calls to n and measures them: first the
// new calls alone (Asterisk's CPU for the calls themselves), then with
// their supervisors connected.
func (c *capRun) step(n int) capStep {
	step := capStep{Sessions: n}
	logFrom := fileSize(c.logFile)
	m0 := scrape(c.t, c.p.url)
	calls, err := c.placeCalls(n - len(c.live))
	if err != nil {
		c.t.Logf("capacity: placing calls: %v", err)
		err = fmt.Errorf("placing calls: %s", firstLine(err))
	} else {
		step.CallsCPU, _, _ = c.window()
		start, ast0, ear0 := time.Now(), cpuTicks(c.astPID), cpuTicks(c.earshotPID)
		m1 := scrape(c.t, c.p.url)
		err = c.superviseAll(calls)
		step.RampSeconds = time.Since(start).Seconds()
		step.RampAsterisk = cpuPercent(cpuTicks(c.astPID)-ast0, step.RampSeconds)
		step.RampEarshot = cpuPercent(cpuTicks(c.earshotPID)-ear0, step.RampSeconds)
		step.RampEvents = (scrape(c.t, c.p.url)["earshot_ari_events_total"] - m1["earshot_ari_events_total"]) / step.RampSeconds
	}
	if err != nil {
		step.Failure = err.Error()
		c.logEarshotTrouble()
	}

	// The window: CPU and events, while the sampled sessions listen.
	m1 := scrape(c.t, c.p.url)
	var w0 time.Time
	step.AsteriskCPU, step.EarshotCPU, w0 = c.window()
	w1 := time.Now()
	m2 := scrape(c.t, c.p.url)
	step.EarshotRSSMB = rssMB(c.earshotPID)
	if step.CallsCPU > 0 {
		step.PerSession = (step.AsteriskCPU - step.CallsCPU) / float64(len(calls))
	}
	step.EventsPerSec = (m2["earshot_ari_events_total"] - m1["earshot_ari_events_total"]) / w1.Sub(w0).Seconds()

	// The sampled sessions end, and their recordings are checked.
	sampled := calls[:min(capSamples, len(calls))]
	for _, s := range sampled {
		if s.sup == nil {
			continue
		}
		step.HearingOf++
		if err := capHears(c.ctx, s.call, s.sup, w0, w1); err != nil {
			c.t.Logf("%d sessions: %v", n, err)
			continue
		}
		step.HearingOK++
	}
	c.live = slices.DeleteFunc(c.live, func(s *capSession) bool { return slices.Contains(sampled, s) })

	// Dropped events show up as corrections at the next sweep.
	sweeps := m2["earshot_reconcile_sweeps_total"]
	m3 := scrape(c.t, c.p.url)
	for deadline := time.Now().Add(20 * time.Second); m3["earshot_reconcile_sweeps_total"] <= sweeps && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		m3 = scrape(c.t, c.p.url)
	}
	step.Dropped = int64(m3["earshot_reconciled_total"]-m0["earshot_reconciled_total"]) +
		int64(m3["earshot_ari_connects_total"]-m0["earshot_ari_connects_total"])
	step.AsteriskWarns = countWarnings(c.logFile, logFrom)
	return step
}

// window settles for 2 s, then measures Asterisk's and earshot's CPU over
// capWindow; it returns when the window began.
func (c *capRun) window() (asterisk, earshot float64, began time.Time) {
	time.Sleep(2 * time.Second)
	ast0, ear0, began := cpuTicks(c.astPID), cpuTicks(c.earshotPID), time.Now()
	time.Sleep(capWindow)
	secs := time.Since(began).Seconds()
	return cpuPercent(cpuTicks(c.astPID)-ast0, secs), cpuPercent(cpuTicks(c.earshotPID)-ear0, secs), began
}

// placeCalls places add service calls, capBatch at a time; the first
// capSamples of them record.
func (c *capRun) placeCalls(add int) ([]*capSession, error) {
	calls := make([]*capSession, add)
	for k := range calls {
		calls[k] = &capSession{i: c.next + k + 1, quiet: k >= capSamples}
	}
	err := c.batches(add, func(k int) error {
		var err error
		s := calls[k]
		s.call, err = c.h.Service(c.ctx, phones.ServiceOpts{Pool: "sales", Agent: fmt.Sprintf("ca%03d", s.i), Via: phones.ViaDial, NoRecord: s.quiet})
		return err
	})
	c.next += add
	c.live = append(c.live, calls...)
	return calls, err
}

// superviseAll has each call's supervisor listen to it, capBatch at a
// time, and waits until earshot has every session connected.
func (c *capRun) superviseAll(calls []*capSession) error {
	err := c.batches(len(calls), func(k int) error {
		var err error
		calls[k].sup, err = c.supervise(calls[k])
		return err
	})
	want := float64(len(c.live))
	deadline := time.Now().Add(30 * time.Second)
	for sessionsOf(scrape(c.t, c.p.url)) < want && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := sessionsOf(scrape(c.t, c.p.url)); got < want || err != nil {
		if err != nil {
			c.t.Logf("capacity: supervising: %v", err)
		}
		return fmt.Errorf("%v of %v sessions connected within 30 s (%s)", got, want, firstLine(err))
	}
	return nil
}

// firstLine is an error's first line and how many more there are.
func firstLine(err error) string {
	if err == nil {
		return "no request failed"
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) == 1 {
		return lines[0]
	}
	return fmt.Sprintf("%s; and %d more", lines[0], len(lines)-1)
}

// batches runs f(0..n-1), capBatch at once, and joins their errors.
func (c *capRun) batches(n int, f func(k int) error) error {
	errs := make([]error, n)
	for from := 0; from < n; from += capBatch {
		var wg sync.WaitGroup
		for k := from; k < min(n, from+capBatch); k++ {
			wg.Go(func() { errs[k] = f(k) })
		}
		wg.Wait()
	}
	return errors.Join(errs...)
}

// end hangs every call up, capBatch at a time (a saturated Asterisk
// answers slowly), waits until Asterisk has let them all go, and stops
// earshot: what follows the capacity steps must find a quiet Asterisk.
func (c *capRun) end() {
	err := c.batches(len(c.live), func(k int) error {
		ctx, cancel := context.WithTimeout(c.ctx, time.Minute)
		defer cancel()
		s := c.live[k]
		if s.sup != nil {
			if err := s.sup.Hangup(ctx); err != nil {
				return err
			}
		}
		if s.call == nil {
			return nil
		}
		return s.call.Hangup(ctx)
	})
	if err != nil {
		c.t.Errorf("capacity: hanging up: %v", err)
	}
	c.live = nil
	if err := c.p.signal(syscall.SIGTERM); err != nil {
		c.t.Errorf("earshot exit: %v", err)
	}
}

// logEarshotTrouble logs what earshot warned about and rejected.
func (c *capRun) logEarshotTrouble() {
	for line := range strings.Lines(c.p.out.String()) {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") || strings.Contains(line, "reject") {
			c.t.Logf("earshot: %s", strings.TrimSpace(line))
		}
	}
}

// saturation says why the machine is saturated at step, or "".
func saturation(step capStep) string {
	n := step.Sessions
	switch {
	case step.Failure != "":
		return fmt.Sprintf("at %d sessions: %s", n, step.Failure)
	case step.HearingOK < step.HearingOf:
		return fmt.Sprintf("at %d sessions: %d of %d sampled sessions heard wrong", n, step.HearingOf-step.HearingOK, step.HearingOf)
	case step.AsteriskCPU > capSaturatedCPU*100*float64(runtime.NumCPU()):
		return fmt.Sprintf("at %d sessions: Asterisk used %.0f%% of %d cores", n, step.AsteriskCPU, runtime.NumCPU())
	}
	return ""
}

// supervise has supervisor i listen to agent i's call through the API's
// "listen now" and call the supervising number.
func (c *capRun) supervise(s *capSession) (*phones.Call, error) {
	ag, su := fmt.Sprintf("ca%03d", s.i), fmt.Sprintf("cs%03d", s.i)
	// Each supervisor signs in from a phone of their own: a loopback
	// address per supervisor, as sign-in limits count per address (a
	// burst of 25 from one address is more than one address may try).
	var tok string
	phone := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, byte(1+s.i/250), byte(1+s.i%250))},
	}).DialContext}}
	defer phone.CloseIdleConnections()
	if err := capAPIWith(phone, c.p.url, "", "POST", "/api/v1/auth/login", `{"username":"`+su+`","password":"change-me"}`, &tok); err != nil {
		return nil, err
	}
	// Earshot learns of the call from its own events, a moment after the
	// harness does: "not on a service call" until then.
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; {
		err = capAPI(c.p.url, tok, "POST", "/api/v1/users/"+ag+"/listen", "", nil)
		if err == nil || !strings.Contains(err.Error(), ": 409 ") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return nil, err
	}
	return c.h.Supervisor(c.ctx, phones.SupervisorOpts{Name: su, Number: capNumber(s.i), App: c.app, NoRecord: s.quiet})
}

// capAPI makes an API request that must succeed; with token non-nil it
// returns the login's token.
func capAPI(base, tok, method, path, body string, token *string) error {
	return capAPIWith(http.DefaultClient, base, tok, method, path, body, token)
}

func capAPIWith(client *http.Client, base, tok, method, path, body string, token *string) error {
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if token != nil {
		i := strings.Index(string(b), `"token":"`)
		if i < 0 {
			return fmt.Errorf("login: no token in %s", b)
		}
		rest := string(b[i+len(`"token":"`):])
		*token = rest[:strings.IndexByte(rest, '"')]
	}
	return nil
}

// capHears hangs up a sampled session and checks what its phones heard
// during [from, to]: the supervisor both parties, neither party the
// supervisor.
func capHears(ctx context.Context, call, sup *phones.Call, from, to time.Time) error {
	if err := sup.Hangup(ctx); err != nil {
		return err
	}
	if err := call.Hangup(ctx); err != nil {
		return err
	}
	var su string
	for name := range sup.Phones {
		su = name
	}
	checks := []struct {
		c     *phones.Call
		party string
		hz    float64
		hear  bool
	}{
		{sup, su, phones.CustomerHz, true},
		{sup, su, phones.AgentHz, true},
		{call, "customer", phones.SupervisorHz, false},
		{call, call.Agent, phones.SupervisorHz, false},
	}
	var errs []error
	for _, c := range checks {
		r, err := c.c.Recording(ctx, c.party)
		if err != nil {
			return err
		}
		v := r.Recording.Hears(c.hz, r.Between(from.Add(200*time.Millisecond), to.Add(-200*time.Millisecond)))
		if ok := v.Heard(); c.hear && !ok || !c.hear && !v.NotHeard() {
			errs = append(errs, fmt.Errorf("%s hearing %v Hz: %v", c.party, c.hz, v))
		}
	}
	return errors.Join(errs...)
}

// capacityDirectory writes a directory of n agents ca001.. in pool sales
// and n supervisors cs001.. (password "change-me").
func capacityDirectory(t *testing.T, n int) string {
	var y strings.Builder
	y.WriteString("organizations:\n  - {id: cap, name: Capacity, features: [supervising]}\nusers:\n")
	var members []string
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&y, "  - {id: ca%03d, org: cap, name: Agent %d, roles: [agent], endpoint: \"Local/ca%03d@earshot-test-phones\"}\n", i, i, i)
		fmt.Fprintf(&y, "  - {id: cs%03d, org: cap, name: Supervisor %d, roles: [supervisor], phone_number: %q, password_hash: %q}\n",
			i, i, capNumber(i), "$2a$04$N7IECl.dSoQVto.jerqaN.46rzGLMp0cLL4KF7BBxB4GF58csVjr6")
		members = append(members, fmt.Sprintf("ca%03d", i))
	}
	fmt.Fprintf(&y, "pools:\n  - {id: sales, org: cap, name: Sales, number: \"+35891234500\", members: [%s]}\n", strings.Join(members, ", "))
	file := filepath.Join(t.TempDir(), "capacity.yaml")
	if err := os.WriteFile(file, []byte(y.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func capNumber(i int) string { return fmt.Sprintf("+358409910%04d", i) }

func sessionsOf(m map[string]float64) float64 {
	var n float64
	for k, v := range m {
		if strings.HasPrefix(k, "earshot_sessions{") {
			n += v
		}
	}
	return n
}

// clockTicks is Linux's USER_HZ, the unit of /proc/<pid>/stat times.
const clockTicks = 100

// cpuTicks returns a process's user+system CPU time in clock ticks.
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name "(...)": state is the first, utime
	// the 12th and stime the 13th.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// cpuPercent is CPU ticks over secs as a percentage of one core.
func cpuPercent(ticks int64, secs float64) float64 { return float64(ticks) / clockTicks / secs * 100 }

// rssMB returns a process's resident memory.
func rssMB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func fileSize(name string) int64 {
	fi, err := os.Stat(name)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// countWarnings counts WARNING and ERROR lines in a log from offset on.
func countWarnings(name string, from int64) int {
	f, err := os.Open(name)
	if err != nil {
		return 0
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return 0
	}
	b, _ := io.ReadAll(f)
	n := 0
	for line := range strings.Lines(string(b)) {
		if strings.Contains(line, "WARNING[") || strings.Contains(line, "ERROR[") {
			n++
		}
	}
	return n
}
