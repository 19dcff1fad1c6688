package main

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	Sessions      int     `json:"sessions"`          // supervised calls live in the window
	RampSeconds   float64 `json:"ramp_s"`            // placing the step's new calls and connecting them
	AsteriskCPU   float64 `json:"asterisk_cpu"`      // % of one core
	EarshotCPU    float64 `json:"earshot_cpu"`       // % of one core
	RampAsterisk  float64 `json:"ramp_asterisk_cpu"` // the same while the step's calls were placed and connected
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
	ctx := context.Background()
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
	p := startProcess(t, args...)
	earshotPID := p.cmd.Process.Pid
	logFile := sb.HostPath("/var/log/asterisk/messages.log")

	var res capacityResult
	type live struct{ call, sup *phones.Call }
	var sessions []live
	next := 0 // index of the next agent/supervisor pair
	defer func() {
		h.HangupAll()
		if err := p.signal(syscall.SIGTERM); err != nil {
			t.Errorf("earshot exit: %v", err)
		}
	}()
	for _, n := range steps {
		step := capStep{Sessions: n}
		logFrom := fileSize(logFile)
		m0 := scrape(t, p.url)
		start, ra0, re0 := time.Now(), cpuTicks(astPID), cpuTicks(earshotPID)
		// The step's new sessions; the first capSamples of them record.
		add := n - len(sessions)
		added := make([]live, add)
		var failed []error
		var mu sync.Mutex
		for from := 0; from < add; from += capBatch {
			var wg sync.WaitGroup
			for k := from; k < min(add, from+capBatch); k++ {
				i := next + k + 1
				wg.Go(func() {
					c, s, err := capSession(ctx, h, p, app, i, k >= capSamples)
					mu.Lock()
					defer mu.Unlock()
					added[k] = live{c, s}
					if err != nil {
						failed = append(failed, err)
					}
				})
			}
			wg.Wait()
		}
		next += add
		sessions = append(sessions, added...)
		want := float64(len(sessions))
		deadline := time.Now().Add(30 * time.Second)
		for sessionsOf(scrape(t, p.url)) < want && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		step.RampSeconds = time.Since(start).Seconds()
		step.RampAsterisk = float64(cpuTicks(astPID)-ra0) / clockTicks / step.RampSeconds * 100
		step.RampEarshot = float64(cpuTicks(earshotPID)-re0) / clockTicks / step.RampSeconds * 100
		step.RampEvents = (scrape(t, p.url)["earshot_ari_events_total"] - m0["earshot_ari_events_total"]) / step.RampSeconds
		if got := sessionsOf(scrape(t, p.url)); got < want || len(failed) > 0 {
			step.Failure = fmt.Sprintf("%v of %v sessions connected within 30 s (%d failed: %v)", got, want, len(failed), errors.Join(failed...))
			for line := range strings.Lines(p.out.String()) {
				if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") || strings.Contains(line, "reject") {
					t.Logf("earshot: %s", strings.TrimSpace(line))
				}
			}
		}

		// The window: CPU and events, while the sampled sessions listen.
		time.Sleep(2 * time.Second)
		a0, e0, w0 := cpuTicks(astPID), cpuTicks(earshotPID), time.Now()
		m1 := scrape(t, p.url)
		time.Sleep(capWindow)
		a1, e1, w1 := cpuTicks(astPID), cpuTicks(earshotPID), time.Now()
		m2 := scrape(t, p.url)
		secs := w1.Sub(w0).Seconds()
		step.AsteriskCPU = float64(a1-a0) / clockTicks / secs * 100
		step.EarshotCPU = float64(e1-e0) / clockTicks / secs * 100
		step.EarshotRSSMB = rssMB(earshotPID)
		step.EventsPerSec = (m2["earshot_ari_events_total"] - m1["earshot_ari_events_total"]) / secs

		// The sampled sessions end, and their recordings are checked.
		for _, s := range added[:capSamples] {
			step.HearingOf++
			if err := capHears(ctx, s.call, s.sup, w0, w1); err != nil {
				t.Logf("%d sessions: %v", n, err)
				continue
			}
			step.HearingOK++
		}
		sessions = slices.Delete(sessions, len(sessions)-add, len(sessions)-add+capSamples)

		// Dropped events show up as corrections at the next sweep.
		sweeps := m2["earshot_reconcile_sweeps_total"]
		deadline = time.Now().Add(20 * time.Second)
		m3 := scrape(t, p.url)
		for m3["earshot_reconcile_sweeps_total"] <= sweeps && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			m3 = scrape(t, p.url)
		}
		step.Dropped = int64(m3["earshot_reconciled_total"]-m0["earshot_reconciled_total"]) +
			int64(m3["earshot_ari_connects_total"]-m0["earshot_ari_connects_total"])
		step.AsteriskWarns = countWarnings(logFile, logFrom)
		res.Steps = append(res.Steps, step)
		t.Logf("capacity %d: %+v", n, step)

		switch {
		case step.Failure != "":
			res.Saturated = fmt.Sprintf("at %d sessions: %s", n, step.Failure)
		case step.HearingOK < step.HearingOf:
			res.Saturated = fmt.Sprintf("at %d sessions: %d of %d sampled sessions heard wrong", n, step.HearingOf-step.HearingOK, step.HearingOf)
		case step.AsteriskCPU > capSaturatedCPU*100*float64(runtime.NumCPU()):
			res.Saturated = fmt.Sprintf("at %d sessions: Asterisk used %.0f%% of %d cores", n, step.AsteriskCPU, runtime.NumCPU())
		}
		if res.Saturated != "" {
			break
		}
	}
	return res
}

// capSession places agent i's service call and has supervisor i listen
// to it through the API's "listen now"; only recording phones record.
func capSession(ctx context.Context, h *phones.Harness, p *process, app string, i int, quiet bool) (call, sup *phones.Call, err error) {
	ag, su := fmt.Sprintf("ca%03d", i), fmt.Sprintf("cs%03d", i)
	call, err = h.Service(ctx, phones.ServiceOpts{Pool: "sales", Agent: ag, Via: phones.ViaDial, NoRecord: quiet})
	if err != nil {
		return call, nil, err
	}
	var tok string
	if err := capAPI(p.url, "", "POST", "/api/v1/auth/login", `{"username":"`+su+`","password":"change-me"}`, &tok); err != nil {
		return call, nil, err
	}
	// Earshot learns of the call from its own events, a moment after the
	// harness does: "not on a service call" until then.
	for deadline := time.Now().Add(10 * time.Second); ; {
		err = capAPI(p.url, tok, "POST", "/api/v1/users/"+ag+"/listen", "", nil)
		if err == nil || !strings.Contains(err.Error(), ": 409 ") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return call, nil, err
	}
	sup, err = h.Supervisor(ctx, phones.SupervisorOpts{Name: su, Number: capNumber(i), App: app, NoRecord: quiet})
	return call, sup, err
}

// capAPI makes an API request that must succeed; with token non-nil it
// returns the login's token.
func capAPI(base, tok, method, path, body string, token *string) error {
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
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
