package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/phones"
	"github.com/earshot/earshot/internal/sandbox"
)

// TestBenchSIP is the SIP load benchmark (scripts/bench.sh; alone with
// EARSHOT_BENCH_ONLY=sip), not part of the suite. The calls are real SIP
// and RTP from SIPp (sip-tester) on 127.0.0.2: a customer dials an agent
// (call-<agent>-<port> in testdata/asterisk/extensions_earshot_test.conf),
// Asterisk dials the agent's phone, another SIPp answering every call;
// both send G.711 µ-law RTP, bridged by Asterisk without transcoding. So
// what loads Asterisk is media work, not generators in Asterisk (the
// capacity steps' Local-channel phones). Per step of n calls, in one run:
// Asterisk's CPU for the calls alone; with Earshot supervising every call
// (SIPp supervisors dialling the supervising number after a "listen now"
// offer), listening and then switched to barge; then, those hung up, with
// ChanSpy on every call (SIPp dialling spy-<agent>, then spyb-<agent> for
// ChanSpy's barge). The difference over the calls alone, per call, is the
// per-supervision cost of each; their ratio says what Earshot's snoops and
// bridges cost against Asterisk's own spy. Hearing is checked on sampled
// sessions (recording Local-channel phones) while the n are supervised.
// It stops at the first step where the machine saturates.
func TestBenchSIP(t *testing.T) {
	if os.Getenv("EARSHOT_BENCH") == "" {
		t.Skip("benchmark: run scripts/bench.sh (EARSHOT_BENCH=1)")
	}
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Fatal("SIP benchmark: sipp not found (apt-get install sip-tester; scripts/bench.sh installs it)")
	}
	steps := []int{25, 50, 100, 150, 200, 300}
	if v := os.Getenv("EARSHOT_BENCH_SIP_STEPS"); v != "" {
		steps = nil
		for f := range strings.SplitSeq(v, ",") {
			if k, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && k > 0 {
				steps = append(steps, k)
			}
		}
	}
	res := sipCapacity(t, steps)
	sipReport(t, res)
}

// sipStep is one step of the SIP load benchmark. CPU in % of one core.
type sipStep struct {
	Calls    int     `json:"calls"`
	CallsCPU float64 `json:"calls_asterisk_cpu"` // Asterisk, the calls alone: the mean of the windows before and after the supervisions
	// The two windows of the calls alone, one before Earshot's, one after
	// ChanSpy's: their mean is the baseline of both, so that a change in
	// the machine's other work during the step weighs on both alike.
	CallsCPUBefore float64 `json:"calls_asterisk_cpu_before"`
	CallsCPUAfter  float64 `json:"calls_asterisk_cpu_after"`
	EarshotAst     float64 `json:"earshot_asterisk_cpu"` // Asterisk, Earshot supervising every call
	ChanSpyAst     float64 `json:"chanspy_asterisk_cpu"` // Asterisk, ChanSpy on every call
	EarshotPer     float64 `json:"earshot_per_supervision"`
	ChanSpyPer     float64 `json:"chanspy_per_supervision"`
	Ratio          float64 `json:"ratio"` // Earshot's per supervision over ChanSpy's
	// The same in barge: Earshot's sessions switched to barge (each with
	// its barge path), ChanSpy started with B.
	EarshotBargeAst float64 `json:"earshot_barge_asterisk_cpu"`
	ChanSpyBargeAst float64 `json:"chanspy_barge_asterisk_cpu"`
	EarshotBargePer float64 `json:"earshot_barge_per_supervision"`
	ChanSpyBargePer float64 `json:"chanspy_barge_per_supervision"`
	BargeRatio      float64 `json:"barge_ratio"`
	// Wake-ups of Asterisk's threads (voluntary and involuntary context
	// switches, /proc/<pid>/task/*/status) per second and supervision
	// above the calls alone, listening: where the CPU difference comes
	// from (docs/design.md §3.1).
	EarshotWakesPer float64 `json:"earshot_wakeups_per_s_per_supervision"`
	ChanSpyWakesPer float64 `json:"chanspy_wakeups_per_s_per_supervision"`
	EarshotCPU      float64 `json:"earshot_cpu"`
	EarshotRSSMB    float64 `json:"earshot_rss_mb"`
	SIPpCPU         float64 `json:"sipp_cpu"`     // the SIPp phones, highest of the windows
	Load            float64 `json:"load"`         // Asterisk, SIPp and Earshot together, highest of the windows
	MachineBusy     float64 `json:"machine_busy"` // all processes, % of all cores, highest of the windows
	EventsPerSec    float64 `json:"ari_events_per_s"`
	Corrections     int64   `json:"reconcile_corrections"` // reconciliation's corrections and reconnects
	AsteriskWarns   int     `json:"asterisk_warnings"`
	HearingOK       int     `json:"hearing_ok"`
	HearingOf       int     `json:"hearing_of"`
	Failure         string  `json:"failure,omitempty"`
	Saturated       bool    `json:"saturated,omitempty"` // its figures are capped by the machine
}

// sipResult is the SIP benchmark: its steps, the summary figures and
// where (and why) the machine saturated.
type sipResult struct {
	Machine   map[string]string `json:"machine"`
	Steps     []sipStep         `json:"steps"`
	Largest   int               `json:"largest_step_both"` // largest step both supervisions reached unsaturated
	Saturated string            `json:"saturated,omitempty"`
}

// The machine's busy share (other processes included) is reported, not
// a reason to stop: on a shared machine others' work would end the run.
const (
	// Calls a second SIPp places: customers, and supervisors (Earshot's
	// and ChanSpy's alike). At 40 supervisor calls a second a few of
	// Earshot's answers of the supervisor's leg took Asterisk over the
	// ARI client's 5 s; no site sees such bursts, and the windows measure
	// the supervised calls, not their arrival.
	sipRate    = 40
	sipSupRate = 10
)

// sipRun is the benchmark's state: the earshot process under test (in a
// capRun, which also serves the sampled sessions), the SIPp agents' phone
// and the SIPp callers live.
type sipRun struct {
	*capRun
	sb        sandbox.Env
	dir       string // SIPp's working directory: scenarios and tones
	sipAddr   string // Asterisk's SIP address
	agentPort int
	agent     *exec.Cmd
	callers   []*exec.Cmd // the live SIPp UACs
	tokens    map[int]string
	calls     int // SIPp calls live
}

func sipCapacity(t *testing.T, steps []int) sipResult {
	h := phones.New(t)
	sb := sandbox.Require(t)
	astPID, err := sb.AsteriskPID()
	if err != nil {
		t.Fatal(err)
	}
	maxN := slices.Max(steps)
	dirFile := sipDirectory(t, maxN, capSamples*len(steps))
	app := newAppName("earshot-sip-")
	args := processArgs(t, app, filepath.Join(t.TempDir(), "earshot.db"))
	args[slices.Index(args, "--directory")+1] = dirFile
	c := &capRun{t: t, ctx: context.Background(), h: h, app: app, astPID: astPID,
		logFile: sb.HostPath("/var/log/asterisk/messages.log")}
	c.p = startProcess(t, args...)
	c.earshotPID = c.p.cmd.Process.Pid
	r := &sipRun{capRun: c, sb: sb, dir: sipWorkDir(t), sipAddr: os.Getenv("EARSHOT_SANDBOX_SIP"), tokens: map[int]string{}}
	if r.sipAddr == "" {
		r.sipAddr = "127.0.0.1:5060"
	}
	r.startAgents()
	defer r.end()
	if err := r.login(maxN); err != nil {
		t.Fatal(err)
	}
	res := sipResult{Machine: map[string]string{"cores": fmt.Sprint(runtime.NumCPU()), "cpu": cpuModel(), "date": time.Now().UTC().Format(time.RFC3339)}}
	for _, n := range steps {
		step := r.step(n)
		res.Steps = append(res.Steps, step)
		t.Logf("SIP %d calls: %+v", n, step)
		if res.Saturated = sipSaturation(step); res.Saturated != "" {
			res.Steps[len(res.Steps)-1].Saturated = true
			break
		}
		res.Largest = n
	}
	// Earshot's log beside the figures: what a correction or a failed
	// switch was is read there.
	if err := os.MkdirAll(benchDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(benchDir(), "sip-earshot.log"), []byte(c.p.out.String()), 0o644); err != nil {
		t.Logf("SIP: earshot's log: %v", err)
	}
	return res
}

// benchDir is where the SIP benchmark writes its files: beside
// EARSHOT_BENCH_SIP_OUT, by default .cache/bench.
func benchDir() string {
	if out := os.Getenv("EARSHOT_BENCH_SIP_OUT"); out != "" {
		return filepath.Dir(out)
	}
	return filepath.Join("..", "..", ".cache", "bench")
}

// step places n SIPp calls and measures the three windows.
func (r *sipRun) step(n int) sipStep {
	s := sipStep{Calls: n}
	logFrom := fileSize(r.logFile)
	m0 := scrape(r.t, r.p.url)
	defer func() {
		r.hangupAll()
		s.AsteriskWarns = countWarnings(r.logFile, logFrom)
	}()
	fail := func(format string, a ...any) sipStep {
		s.Failure = fmt.Sprintf(format, a...)
		r.t.Logf("SIP %d calls: %s", n, s.Failure)
		return s
	}

	// The calls alone.
	var lines []string
	for i := 1; i <= n; i++ {
		lines = append(lines, fmt.Sprintf("+35850%07d;call-sa%03d-%d;", i, i, r.agentPort))
	}
	if err := r.call("customers", lines, sipRate); err != nil {
		return fail("starting SIPp: %v", err)
	}
	if got := r.waitChannels(n, func(ch ariChannel) bool { return strings.HasPrefix(ch.Dialplan.Exten, "call-") && ch.State == "Up" }); got < n {
		return fail("%d of %d calls connected within 60 s", got, n)
	}
	if err := r.checkRTP(); err != nil {
		return fail("%v", err)
	}
	w := r.window()
	alone := w
	s.CallsCPUBefore, s.SIPpCPU, s.MachineBusy, s.Load = w.asterisk, w.sipp, w.busy, w.load()
	s.CallsCPU = w.asterisk // until the window after: a step that fails keeps this one

	// Earshot supervising every call.
	if err := r.batches(n, func(k int) error { return r.offer(k + 1) }); err != nil {
		return fail("offers: %s", firstLine(err))
	}
	lines = nil
	for i := 1; i <= n; i++ {
		lines = append(lines, fmt.Sprintf("%s;sup-%s;", sipNumber(i), r.app))
	}
	if err := r.call("supervisors", lines, sipSupRate); err != nil {
		return fail("starting SIPp: %v", err)
	}
	if got := r.waitSessions(float64(n)); got < float64(n) {
		r.logEarshotTrouble()
		return fail("%v of %d Earshot sessions connected within 60 s; %s", got, n, r.timeouts())
	}
	m1 := scrape(r.t, r.p.url)
	w = r.window()
	m2 := scrape(r.t, r.p.url)
	s.EarshotAst, s.EarshotCPU = w.asterisk, w.earshot
	earshotWakes := w.wakes
	s.SIPpCPU, s.MachineBusy, s.Load = max(s.SIPpCPU, w.sipp), max(s.MachineBusy, w.busy), max(s.Load, w.load())
	s.EarshotRSSMB = rssMB(r.earshotPID)
	s.EventsPerSec = (m2["earshot_ari_events_total"] - m1["earshot_ari_events_total"]) / w.secs
	s.HearingOK, s.HearingOf = r.samples(n)

	// The same sessions in barge: each has built its barge path.
	if err := r.batches(n, func(k int) error { return r.setMode(k+1, "barge") }); err != nil {
		return fail("barge: %s", firstLine(err))
	}
	w = r.window()
	s.EarshotBargeAst = w.asterisk
	s.SIPpCPU, s.MachineBusy, s.Load = max(s.SIPpCPU, w.sipp), max(s.MachineBusy, w.busy), max(s.Load, w.load())

	// The Earshot supervisors hang up; ChanSpy on every call instead,
	// listening (q), then barging (qB).
	r.hangup(func(ch ariChannel) bool { return strings.HasPrefix(ch.Dialplan.Exten, "sup-") })
	if got := r.waitSessions(0); got > 0 {
		return fail("%v Earshot sessions left 30 s after their supervisors hung up", got)
	}
	var chanSpyWakes float64
	for _, exten := range []string{"spy", "spyb"} {
		w, err := r.spies(n, exten)
		if err != nil {
			return fail("%v", err)
		}
		if exten == "spy" {
			s.ChanSpyAst, chanSpyWakes = w.asterisk, w.wakes
		} else {
			s.ChanSpyBargeAst = w.asterisk
		}
		s.SIPpCPU, s.MachineBusy, s.Load = max(s.SIPpCPU, w.sipp), max(s.MachineBusy, w.busy), max(s.Load, w.load())
	}

	// The calls alone again; the per-supervision figures are above the
	// mean of both windows.
	w = r.window()
	s.CallsCPUAfter = w.asterisk
	s.CallsCPU = (s.CallsCPUBefore + s.CallsCPUAfter) / 2
	baseWakes := (alone.wakes + w.wakes) / 2
	per := func(v, base float64) float64 { return (v - base) / float64(n) }
	s.EarshotPer, s.ChanSpyPer = per(s.EarshotAst, s.CallsCPU), per(s.ChanSpyAst, s.CallsCPU)
	s.EarshotBargePer, s.ChanSpyBargePer = per(s.EarshotBargeAst, s.CallsCPU), per(s.ChanSpyBargeAst, s.CallsCPU)
	s.EarshotWakesPer, s.ChanSpyWakesPer = per(earshotWakes, baseWakes), per(chanSpyWakes, baseWakes)
	if s.ChanSpyPer > 0 {
		s.Ratio = s.EarshotPer / s.ChanSpyPer
	}
	if s.ChanSpyBargePer > 0 {
		s.BargeRatio = s.EarshotBargePer / s.ChanSpyBargePer
	}

	// Dropped events show up as corrections at the next sweep.
	sweeps := scrape(r.t, r.p.url)["earshot_reconcile_sweeps_total"]
	m3 := scrape(r.t, r.p.url)
	for deadline := time.Now().Add(20 * time.Second); m3["earshot_reconcile_sweeps_total"] <= sweeps && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		m3 = scrape(r.t, r.p.url)
	}
	s.Corrections = int64(m3["earshot_reconciled_total"]-m0["earshot_reconciled_total"]) +
		int64(m3["earshot_ari_connects_total"]-m0["earshot_ari_connects_total"])
	return s
}

// spies has a SIPp ChanSpy caller dial <exten>-<agent> for every call,
// measures a window and hangs them up.
func (r *sipRun) spies(n int, exten string) (sipWindow, error) {
	var lines []string
	for i := 1; i <= n; i++ {
		lines = append(lines, fmt.Sprintf("+35850900%04d;%s-sa%03d;", i, exten, i))
	}
	if err := r.call(exten, lines, sipSupRate); err != nil {
		return sipWindow{}, fmt.Errorf("starting SIPp: %w", err)
	}
	ours := func(ch ariChannel) bool { return strings.HasPrefix(ch.Dialplan.Exten, exten+"-") }
	if got := r.waitChannels(n, func(ch ariChannel) bool { return ours(ch) && ch.State == "Up" }); got < n {
		return sipWindow{}, fmt.Errorf("%d of %d ChanSpy calls (%s) connected within 60 s", got, n, exten)
	}
	w := r.window()
	r.hangup(ours)
	r.waitChannels(0, ours)
	return w, nil
}

// setMode switches supervisor ss<i>'s one session to mode through the API.
func (r *sipRun) setMode(i int, mode string) error {
	req, _ := http.NewRequest(http.MethodGet, r.p.url+"/api/v1/supervising/sessions", nil)
	req.Header.Set("Authorization", "Bearer "+r.tokens[i])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var list struct {
		Sessions []struct {
			ID string `json:"id"`
		} `json:"sessions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list.Sessions) != 1 {
		return fmt.Errorf("ss%03d's sessions: %d, %v", i, len(list.Sessions), err)
	}
	return capAPI(r.p.url, r.tokens[i], http.MethodPut, "/api/v1/supervising/sessions/"+list.Sessions[0].ID+"/mode", `{"mode":"`+mode+`"}`, nil)
}

// sipWindow is one measurement window: CPU in % of one core, busy in % of
// all cores.
type sipWindow struct {
	asterisk, earshot, sipp, busy, secs float64
	wakes                               float64 // Asterisk's threads' context switches a second
}

// load is what the benchmark's own processes used together.
func (w sipWindow) load() float64 { return w.asterisk + w.earshot + w.sipp }

// window settles for 2 s, then measures over capWindow.
func (r *sipRun) window() sipWindow {
	time.Sleep(2 * time.Second)
	pids := r.sippPIDs()
	sippTicks := func() (n int64) {
		for _, p := range pids {
			n += cpuTicks(p)
		}
		return n
	}
	a0, e0, s0, b0, w0, t0 := cpuTicks(r.astPID), cpuTicks(r.earshotPID), sippTicks(), machineTicks(), threadSwitches(r.astPID), time.Now()
	time.Sleep(capWindow)
	secs := time.Since(t0).Seconds()
	a1, e1, s1, b1, w1 := cpuTicks(r.astPID), cpuTicks(r.earshotPID), sippTicks(), machineTicks(), threadSwitches(r.astPID)
	return sipWindow{
		asterisk: cpuPercent(a1-a0, secs), earshot: cpuPercent(e1-e0, secs), sipp: cpuPercent(s1-s0, secs),
		busy: cpuPercent(b1-b0, secs) / float64(runtime.NumCPU()), secs: secs, wakes: float64(w1-w0) / secs,
	}
}

// samples places capSamples recording calls on Local-channel phones,
// has their supervisors listen through Earshot while the SIPp calls are
// supervised, and checks the hearing matrix on their recordings.
func (r *sipRun) samples(n int) (ok, of int) {
	calls, err := r.placeCalls(capSamples)
	if err != nil {
		r.t.Logf("SIP %d calls: sampled calls: %v", n, err)
	}
	for _, s := range calls {
		if s.call == nil {
			continue
		}
		if s.sup, err = r.supervise(s); err != nil {
			r.t.Logf("SIP %d calls: sampled supervisor: %v", n, err)
		}
	}
	time.Sleep(2 * time.Second)
	from := time.Now()
	time.Sleep(3 * time.Second)
	to := time.Now()
	for _, s := range calls {
		if s.sup == nil {
			continue
		}
		of++
		if err := capHears(r.ctx, s.call, s.sup, from, to); err != nil {
			r.t.Logf("SIP %d calls: %v", n, err)
			continue
		}
		ok++
	}
	// Whatever is left of them (a sample whose supervisor failed).
	for _, s := range calls {
		if s.call != nil {
			_ = s.call.Hangup(r.ctx)
		}
	}
	r.live = slices.DeleteFunc(r.live, func(s *capSession) bool { return slices.Contains(calls, s) })
	return ok, of
}

// timeouts says how many of Earshot's supervising calls failed because
// Asterisk answered an ARI request later than the client's 5 s.
func (r *sipRun) timeouts() string {
	n := 0
	for line := range strings.Lines(r.p.out.String()) {
		if strings.Contains(line, "failed before connecting") && strings.Contains(line, "Client.Timeout") {
			n++
		}
	}
	return fmt.Sprintf("%d failed on an ARI request Asterisk answered after more than 5 s", n)
}

// offer has supervisor ss<i> ask to listen to agent sa<i>'s call ("listen
// now"), retrying while Earshot has not yet seen the call.
func (r *sipRun) offer(i int) error {
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; {
		err = capAPI(r.p.url, r.tokens[i], "POST", fmt.Sprintf("/api/v1/users/sa%03d/listen", i), "", nil)
		if err == nil || !strings.Contains(err.Error(), ": 409 ") || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// login signs supervisors ss001..ss<n> in once, one after the other:
// sign-in attempts from one address are limited (20 in flight), and a
// success gives its attempt back only once it is done.
func (r *sipRun) login(n int) error {
	for i := 1; i <= n; i++ {
		var tok string
		if err := capAPI(r.p.url, "", "POST", "/api/v1/auth/login", fmt.Sprintf(`{"username":"ss%03d","password":"change-me"}`, i), &tok); err != nil {
			return err
		}
		r.tokens[i] = tok
	}
	return nil
}

// startAgents starts the SIPp that answers every agent's call.
func (r *sipRun) startAgents() {
	r.agentPort = freeUDPPort(r.t)
	r.agent = r.sipp("agents", "-sf", "agent.xml", "-p", strconv.Itoa(r.agentPort))
}

// call starts a SIPp placing one call per line (caller id; extension) at
// rate a second; it ends once Asterisk has hung them all up.
func (r *sipRun) call(name string, lines []string, rate int) error {
	csv := filepath.Join(r.dir, name+".csv")
	if err := os.WriteFile(csv, []byte("SEQUENTIAL\n"+strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	n := strconv.Itoa(len(lines))
	cmd := r.sipp(name, r.sipAddr, "-sf", "caller.xml", "-inf", csv, "-m", n, "-l", n, "-r", strconv.Itoa(rate))
	r.callers = append(r.callers, cmd)
	return nil
}

// sipp starts SIPp on 127.0.0.2 (the sippload endpoint) in r.dir.
func (r *sipRun) sipp(name string, args ...string) *exec.Cmd {
	args = append(args, "-i", "127.0.0.2", "-mi", "127.0.0.2", "-nostdin", "-trace_err", "-error_file", name+"-errors.log")
	cmd := exec.Command("sipp", args...)
	cmd.Dir = r.dir
	out, err := os.Create(filepath.Join(r.dir, name+".out"))
	if err != nil {
		r.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("sipp: %v", err)
	}
	go func() { _ = cmd.Wait(); out.Close() }()
	r.t.Cleanup(func() { stopSIPp(cmd) })
	return cmd
}

// threadSwitches is the context switches of all of pid's threads so far.
// A thread that ends between two readings takes its count with it; the
// windows measure steady calls, whose threads live on.
func threadSwitches(pid int) int64 {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0
	}
	var n int64
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(b)) {
			k, v, _ := strings.Cut(line, ":")
			if k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches" {
				c, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				n += c
			}
		}
	}
	return n
}

func stopSIPp(cmd *exec.Cmd) {
	if cmd.Process != nil && cmd.ProcessState == nil {
		_ = cmd.Process.Kill()
	}
}

func (r *sipRun) sippPIDs() []int {
	var pids []int
	for _, c := range append([]*exec.Cmd{r.agent}, r.callers...) {
		if c != nil && c.Process != nil {
			pids = append(pids, c.Process.Pid)
		}
	}
	return pids
}

// hangupAll hangs up every SIPp call, waits until Asterisk has let them
// go, and stops the step's SIPp callers.
func (r *sipRun) hangupAll() {
	r.hangup(func(ch ariChannel) bool { return ch.Dialplan.Context == "earshot-test-sipp" })
	r.waitChannels(0, func(ch ariChannel) bool { return strings.HasPrefix(ch.Name, "PJSIP/sippload-") })
	_ = r.waitSessions(0)
	for _, c := range r.callers {
		stopSIPp(c)
	}
	r.callers = nil
}

// end stops everything: the SIPp calls, the sampled sessions, earshot.
func (r *sipRun) end() {
	r.hangupAll()
	stopSIPp(r.agent)
	r.capRun.end()
}

// waitSessions waits up to 60 s until earshot reports want sessions and
// returns how many it reports.
func (r *sipRun) waitSessions(want float64) float64 {
	got := sessionsOf(scrape(r.t, r.p.url))
	for deadline := time.Now().Add(60 * time.Second); got != want && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		got = sessionsOf(scrape(r.t, r.p.url))
	}
	return got
}

// ariChannel is what the benchmark reads of an ARI channel.
type ariChannel struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	State    string `json:"state"`
	Dialplan struct {
		Context string `json:"context"`
		Exten   string `json:"exten"`
	} `json:"dialplan"`
}

func (r *sipRun) ari(method, path string, out any) error {
	req, _ := http.NewRequest(method, r.sb.URL+"/ari"+path, nil)
	req.SetBasicAuth(r.sb.User, r.sb.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("ARI %s %s: %s", method, path, resp.Status)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

func (r *sipRun) channels(match func(ariChannel) bool) []ariChannel {
	var all []ariChannel
	if err := r.ari("GET", "/channels", &all); err != nil {
		r.t.Logf("SIP: %v", err)
		return nil
	}
	return slices.DeleteFunc(all, func(ch ariChannel) bool { return !match(ch) })
}

// waitChannels waits up to 60 s until want channels match and returns
// how many did.
func (r *sipRun) waitChannels(want int, match func(ariChannel) bool) int {
	got := len(r.channels(match))
	for deadline := time.Now().Add(60 * time.Second); got != want && time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond)
		got = len(r.channels(match))
	}
	return got
}

// hangup hangs up the matching channels, capBatch at a time.
func (r *sipRun) hangup(match func(ariChannel) bool) {
	chs := r.channels(match)
	_ = r.batches(len(chs), func(k int) error { return r.ari("DELETE", "/channels/"+chs[k].ID, nil) })
}

// checkRTP makes sure media flows: a customer leg both received and sent
// RTP (else the CPU figures would measure signalling).
func (r *sipRun) checkRTP() error {
	chs := r.channels(func(ch ariChannel) bool { return strings.HasPrefix(ch.Dialplan.Exten, "call-") })
	if len(chs) == 0 {
		return fmt.Errorf("no SIPp call to check RTP on")
	}
	var st struct {
		TX int `json:"txcount"`
		RX int `json:"rxcount"`
	}
	if err := r.ari("GET", "/channels/"+chs[0].ID+"/rtp_statistics", &st); err != nil {
		return err
	}
	if st.TX == 0 || st.RX == 0 {
		return fmt.Errorf("no RTP on %s: sent %d, received %d packets", chs[0].Name, st.TX, st.RX)
	}
	return nil
}

// sipSaturation says why the machine is saturated at step, or "".
func sipSaturation(s sipStep) string {
	cores := runtime.NumCPU()
	peak := max(s.CallsCPU, s.EarshotAst, s.ChanSpyAst)
	switch {
	case s.Failure != "":
		return fmt.Sprintf("at %d calls: %s (Asterisk at %.0f%% of %d cores, machine %.0f%% busy)", s.Calls, s.Failure, peak, cores, s.MachineBusy)
	case s.HearingOK < s.HearingOf:
		return fmt.Sprintf("at %d calls: %d of %d sampled sessions heard wrong", s.Calls, s.HearingOf-s.HearingOK, s.HearingOf)
	case peak > capSaturatedCPU*100*float64(cores):
		return fmt.Sprintf("at %d calls: Asterisk's media work, %.0f%% of %d cores", s.Calls, peak, cores)
	case s.Load > capSaturatedCPU*100*float64(cores):
		return fmt.Sprintf("at %d calls: the machine, Asterisk (%.0f%%), SIPp (%.0f%%) and Earshot (%.0f%%) together %.0f%% of %d cores",
			s.Calls, peak, s.SIPpCPU, s.EarshotCPU, s.Load, cores)
	}
	return ""
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// sipDirectory writes the benchmark's directory: SIPp agents sa001..
// (no endpoint: the dialplan names their leg with EARSHOT_AGENT) and
// their supervisors ss001.., plus capacityDirectory's agents ca001.. on
// Local-channel phones and supervisors cs001.. for the sampled sessions.
func sipDirectory(t *testing.T, n, samples int) string {
	var y strings.Builder
	y.WriteString("organizations:\n  - {id: cap, name: Capacity, features: [supervising]}\nusers:\n")
	var members []string
	const hash = "$2a$04$N7IECl.dSoQVto.jerqaN.46rzGLMp0cLL4KF7BBxB4GF58csVjr6"
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&y, "  - {id: sa%03d, org: cap, name: SIP Agent %d, roles: [agent]}\n", i, i)
		fmt.Fprintf(&y, "  - {id: ss%03d, org: cap, name: SIP Supervisor %d, roles: [supervisor], phone_number: %q, password_hash: %q}\n", i, i, sipNumber(i), hash)
		members = append(members, fmt.Sprintf("sa%03d", i))
	}
	for i := 1; i <= samples; i++ {
		fmt.Fprintf(&y, "  - {id: ca%03d, org: cap, name: Agent %d, roles: [agent], endpoint: \"Local/ca%03d@earshot-test-phones\"}\n", i, i, i)
		fmt.Fprintf(&y, "  - {id: cs%03d, org: cap, name: Supervisor %d, roles: [supervisor], phone_number: %q, password_hash: %q}\n", i, i, capNumber(i), hash)
		members = append(members, fmt.Sprintf("ca%03d", i))
	}
	fmt.Fprintf(&y, "pools:\n  - {id: sales, org: cap, name: Sales, number: \"+35891234500\", members: [%s]}\n", strings.Join(members, ", "))
	file := filepath.Join(t.TempDir(), "sip.yaml")
	if err := os.WriteFile(file, []byte(y.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func sipNumber(i int) string { return fmt.Sprintf("+358409920%04d", i) }

// sipWorkDir is SIPp's working directory: the scenarios from
// testdata/sipp and the parties' tones as raw µ-law (rtp_stream loops
// them), one second each.
func sipWorkDir(t *testing.T) string {
	dir := t.TempDir()
	for _, f := range []string{"caller.xml", "agent.xml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sipp", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for f, hz := range map[string]float64{"caller.ulaw": phones.CustomerHz, "agent.ulaw": phones.AgentHz} {
		if err := os.WriteFile(filepath.Join(dir, f), ulawTone(hz, 8000), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// ulawTone is n samples of a sine at hz (8 kHz, about -10 dBFS) in G.711
// µ-law.
func ulawTone(hz float64, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = linearToULaw(int16(10000 * math.Sin(2*math.Pi*hz*float64(i)/8000)))
	}
	return b
}

// linearToULaw encodes a 16-bit sample in G.711 µ-law.
func linearToULaw(s int16) byte {
	const bias, clip = 0x84, 32635
	x := int(s)
	sign := 0
	if x < 0 {
		x, sign = -x, 0x80
	}
	x = min(x, clip) + bias
	exp := 7
	for mask := 0x4000; x&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (x >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}

// freeUDPPort is a UDP port free on 127.0.0.2.
func freeUDPPort(t *testing.T) int {
	c, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// machineTicks is the machine's busy CPU time (all cores, not idle or
// iowait) in clock ticks, from /proc/stat.
func machineTicks() int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var busy int64
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseInt(f, 10, 64)
		if i != 3 && i != 4 && i < 8 { // idle, iowait; guest is in user already
			busy += v
		}
	}
	return busy
}
