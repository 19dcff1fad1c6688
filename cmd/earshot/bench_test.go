package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/directory"
	"github.com/earshot/earshot/internal/phones"
	"github.com/earshot/earshot/push"
	"github.com/earshot/earshot/push/fcmtest"
	"github.com/earshot/earshot/store"
)

// TestBench is the benchmark command (scripts/bench.sh, make bench), not
// part of the suite: it runs only with EARSHOT_BENCH=1. It measures, on
// the sandbox Asterisk, Earshot against Asterisk's own ChanSpy on the same
// kind of calls, interleaved (EARSHOT_BENCH_N of each, default 30):
// time-to-audio, mode-switch latency and the supervisor's gap at a switch;
// then notification latency through the fake FCM, and the API's pool
// users view over 2,000 agents next to a bare Echo handler. It prints a
// table and writes JSON (EARSHOT_BENCH_OUT, default .cache/bench/bench.json).
// EARSHOT_BENCH_ONLY=api runs the API comparison alone and prints it.
func TestBench(t *testing.T) {
	if os.Getenv("EARSHOT_BENCH") == "" {
		t.Skip("benchmark: run scripts/bench.sh (EARSHOT_BENCH=1)")
	}
	if os.Getenv("EARSHOT_BENCH_ONLY") == "api" {
		benchAPIOnly(t)
		return
	}
	n := envInt("EARSHOT_BENCH_N", 30)
	if os.Getenv("EARSHOT_BENCH_ONLY") == "browser" {
		benchBrowserOnly(t, n)
		return
	}
	steps := []int{25, 50, 100, 200, 300}
	if v := os.Getenv("EARSHOT_BENCH_STEPS"); v != "" {
		steps = nil
		for f := range strings.SplitSeq(v, ",") {
			if k, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && k > capSamples {
				steps = append(steps, k)
			}
		}
	}
	// Capacity first, with nothing else attached to Asterisk but the
	// phones' harness.
	var capRes capacityResult
	if len(steps) > 0 {
		t.Run("capacity", func(t *testing.T) { capRes = capacity(t, steps) })
	}
	fake := fcmtest.New(t)
	e := startPushE2E(t, fake, fake.Endpoint(), "--directory", loadDirectory)
	b := &bench{t: t, e: e, fake: fake, ctx: context.Background()}
	b.res.Machine = b.machine()
	b.res.Capacity = capRes
	b.tok, _ = e.login("su01")

	var es, cs rounds
	for i := range n {
		agent := fmt.Sprintf("ag%02d", i%20+1)
		if r, ok := b.earshot(agent); ok {
			es.add(r)
		}
		if r, ok := b.chanSpy(agent); ok {
			cs.add(r)
		}
		t.Logf("round %d/%d done", i+1, n)
	}
	b.res.TimeToAudio = pair{Earshot: summary(es.tta), ChanSpy: summary(cs.tta)}
	from := "listen"
	for i, sw := range benchSwitches {
		r := switchResult{From: from, To: sw.to, Hears: sw.hears, Gap: pair{Earshot: summary(es.gap[i]), ChanSpy: summary(cs.gap[i])}}
		if sw.hears != "" {
			r.Heard = &pair{Earshot: summary(es.heard[i]), ChanSpy: summary(cs.heard[i])}
		}
		b.res.Switches = append(b.res.Switches, r)
		from = sw.to
	}
	tta, whisper := b.browser(n)
	b.res.BrowserTTA, b.res.BrowserWhisper = summary(tta), summary(whisper)
	b.res.Notification = summary(b.notifications(n))
	b.res.API = b.api()
	b.report()
}

type stats struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P95 float64 `json:"p95_ms"`
	P99 float64 `json:"p99_ms"`
}

type pair struct {
	Earshot stats `json:"earshot"`
	ChanSpy stats `json:"chanspy"`
}

type apiStats struct {
	Requests int     `json:"requests"`
	RPS      float64 `json:"rps"`
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
}

type benchResult struct {
	Machine     map[string]string `json:"machine"`
	TimeToAudio pair              `json:"time_to_audio"`
	Switches    []switchResult    `json:"switches"`
	// The browser leg (Listen here): → first call audio on the media
	// link, and listen → whisper until the agent hears the microphone.
	BrowserTTA     stats               `json:"browser_time_to_audio"`
	BrowserWhisper stats               `json:"browser_listen_to_whisper"`
	Notification   stats               `json:"notification"`
	API            map[string]apiStats `json:"api"`
	Capacity       capacityResult      `json:"capacity"`
}

type bench struct {
	t    *testing.T
	e    *e2e
	fake *fcmtest.Server
	ctx  context.Context
	tok  string
	res  benchResult
}

// benchSwitches is the order in which each round switches after it has
// connected in listen: every change between the three modes once.
// Earshot switches through the API, ChanSpy (d) by its keys. hears names
// who starts hearing the supervisor at the switch, if anyone does.
var benchSwitches = []struct {
	to, key, hears string
}{
	{"whisper", "5", "agent"}, {"barge", "6", "customer"}, {"listen", "4", ""},
	{"barge", "6", "customer"}, {"whisper", "5", ""}, {"listen", "4", ""},
}

// switchResult is one switch of benchSwitches over all rounds: how soon
// the party it opens hears the supervisor, and the supervisor's longest
// silence of call audio around it.
type switchResult struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Hears string `json:"hears,omitempty"`
	Heard *pair  `json:"heard,omitempty"`
	Gap   pair   `json:"gap"`
}

// round is one supervised call's figures, in ms: the time to audio, and
// per switch of benchSwitches the time until its party hears the
// supervisor (when it opens one) and the supervisor's gap.
type round struct {
	tta        float64
	heard, gap []float64
}

type rounds struct {
	tta        []float64
	heard, gap [][]float64 // per switch
}

func (rs *rounds) add(r round) {
	if rs.heard == nil {
		rs.heard, rs.gap = make([][]float64, len(benchSwitches)), make([][]float64, len(benchSwitches))
	}
	rs.tta = append(rs.tta, r.tta)
	for i := range benchSwitches {
		if benchSwitches[i].hears != "" {
			rs.heard[i] = append(rs.heard[i], r.heard[i])
		}
		rs.gap[i] = append(rs.gap[i], r.gap[i])
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// earshot: su01 listens to agent's call through Earshot, switches
// through benchSwitches by the API, and hangs up.
func (b *bench) earshot(agent string) (round, bool) {
	e, h := b.e, b.e.h
	call, err := h.Service(b.ctx, phones.ServiceOpts{Pool: "sales", Agent: agent, Via: phones.ViaDial})
	if err != nil {
		b.t.Logf("earshot round: %v", err)
		return round{}, false
	}
	defer call.Hangup(b.ctx)
	if _, err := e.m.offers.Offer(b.ctx, "su01", agent, earshot.OfferAdHoc); err != nil {
		b.t.Logf("offer: %v", err)
		return round{}, false
	}
	sup, err := h.Supervisor(b.ctx, phones.SupervisorOpts{Name: "su01", Number: supNumber(1), App: e.app, FileVoice: true})
	if err != nil {
		b.t.Logf("supervisor: %v", err)
		return round{}, false
	}
	var id string
	deadline := time.Now().Add(10 * time.Second)
	for id == "" && time.Now().Before(deadline) {
		if ss := e.m.app.Sessions("su01"); len(ss) == 1 {
			id = ss[0].ID
		}
		time.Sleep(10 * time.Millisecond)
	}
	if id == "" {
		b.t.Log("earshot round: no session")
		return round{}, false
	}
	at := make([]time.Time, len(benchSwitches))
	for i, sw := range benchSwitches {
		time.Sleep(1200 * time.Millisecond)
		at[i] = time.Now()
		e.call(b.tok, "PUT", "/api/v1/supervising/sessions/"+id+"/mode", `{"mode":"`+sw.to+`"}`, 200, nil)
	}
	time.Sleep(1200 * time.Millisecond)
	return b.measure(call, sup, agent, "Stasis", at)
}

// chanSpy: the same through ChanSpy(<agent leg>,qd): listen by DTMF 4,
// whisper by 5, barge by 6. A switch counts from the key's end reaching ChanSpy (it
// acts on the release), not from the press: in ChanSpy's favour by the
// key's length.
func (b *bench) chanSpy(agent string) (round, bool) {
	h := b.e.h
	call, err := h.Service(b.ctx, phones.ServiceOpts{Pool: "sales", Agent: agent, Via: phones.ViaDial})
	if err != nil {
		b.t.Logf("chanspy round: %v", err)
		return round{}, false
	}
	defer call.Hangup(b.ctx)
	target := h.ChannelName(call.AgentLeg)
	if target == "" {
		b.t.Logf("chanspy round: agent leg %s unknown", call.AgentLeg)
		return round{}, false
	}
	sup, err := h.Spy(b.ctx, phones.SpyOpts{Name: "su01", Number: supNumber(1), Target: target, Options: "d"})
	if err != nil {
		b.t.Logf("spy: %v", err)
		return round{}, false
	}
	if err := h.WaitApp(b.ctx, sup.SupervisorLeg, "ChanSpy"); err != nil {
		b.t.Logf("chanspy round: %v", err)
		return round{}, false
	}
	at := make([]time.Time, len(benchSwitches))
	for i, sw := range benchSwitches {
		key := sw.key
		time.Sleep(1200 * time.Millisecond)
		if _, err := sup.PressKeys(b.ctx, "su01", key); err != nil {
			b.t.Logf("chanspy round: %v", err)
			return round{}, false
		}
		deadline := time.Now().Add(3 * time.Second)
		for at[i].IsZero() && time.Now().Before(deadline) {
			if keys := h.KeysAt(sup.SupervisorLeg); len(keys) > i {
				at[i] = keys[i]
			}
			time.Sleep(5 * time.Millisecond)
		}
		if at[i].IsZero() {
			b.t.Logf("chanspy round: key %s never reached ChanSpy", key)
			return round{}, false
		}
	}
	time.Sleep(1200 * time.Millisecond)
	return b.measure(call, sup, agent, "ChanSpy", at)
}

// measure hangs up and reads the recordings: time from the supervisor's
// call reaching app (Stasis or ChanSpy: the Local leg itself is "answered"
// by the phone at once) to the first 20 ms block of call audio it hears;
// from each switch (at[i]) that opens a party to the first block in which
// that party hears the supervisor; and the supervisor's longest silence
// of call audio around each switch.
func (b *bench) measure(call, sup *phones.Call, agent, app string, at []time.Time) (round, bool) {
	h := b.e.h
	if err := sup.Hangup(b.ctx); err != nil {
		b.t.Logf("hang up: %v", err)
	}
	if err := call.Hangup(b.ctx); err != nil {
		b.t.Logf("hang up: %v", err)
	}
	up, ok := h.AppAt(sup.SupervisorLeg, app)
	rs, err1 := sup.Recording(b.ctx, "su01")
	ra, err2 := call.Recording(b.ctx, agent)
	rc, err3 := call.Recording(b.ctx, "customer")
	if !ok || err1 != nil || err2 != nil || err3 != nil {
		b.t.Logf("measure: up %v, %v, %v, %v", ok, err1, err2, err3)
		return round{}, false
	}
	callAudio := []float64{phones.CustomerHz, phones.AgentHz}
	first := time.Duration(-1)
	for _, hz := range callAudio {
		if d, ok := rs.Recording.FirstPresent(hz, rs.At(up)); ok && (first < 0 || d < first) {
			first = d
		}
	}
	if first < 0 {
		b.t.Log("measure: no call audio")
		return round{}, false
	}
	r := round{tta: ms(rs.Start.Add(first).Sub(up)), heard: make([]float64, len(at)), gap: make([]float64, len(at))}
	for i, t := range at {
		r.gap[i] = ms(rs.Recording.LongestGap(callAudio, rs.Between(t.Add(-300*time.Millisecond), t.Add(time.Second))))
		party := map[string]*phones.Heard{"agent": ra, "customer": rc}[benchSwitches[i].hears]
		if party == nil {
			continue
		}
		d, ok := party.Recording.FirstPresent(phones.SupervisorHz, party.At(t))
		if !ok {
			b.t.Logf("measure: the %s never heard switch %d", benchSwitches[i].hears, i+1)
			return round{}, false
		}
		r.heard[i] = ms(party.Start.Add(d).Sub(t))
	}
	return r, true
}

// notifications: su02 lists agents; each service call's agent answer
// (Dial ANSWER) → the fake FCM receiving the listen offer.
func (b *bench) notifications(n int) []float64 {
	e, h := b.e, b.e.h
	if err := e.m.db.PutDevice(b.ctx, store.Device{Token: "bench-su02", User: "su02", Platform: "android"}); err != nil {
		b.t.Fatal(err)
	}
	for i := 21; i <= 30; i++ {
		if err := e.m.db.Supervise(b.ctx, "su02", fmt.Sprintf("ag%02d", i)); err != nil {
			b.t.Fatal(err)
		}
	}
	var out []float64
	for i := range n {
		agent := fmt.Sprintf("ag%02d", 21+i%10)
		before := len(b.fake.Received())
		call, err := h.Service(b.ctx, phones.ServiceOpts{Pool: "sales", Agent: agent, Via: phones.ViaDial})
		if err != nil {
			b.t.Logf("notification round: %v", err)
			continue
		}
		var got *fcmtest.Received
		deadline := time.Now().Add(10 * time.Second)
		for got == nil && time.Now().Before(deadline) {
			for _, m := range b.fake.Received()[before:] {
				if m.Data["type"] == push.TypeListenOffer && m.Data["agent_id"] == agent {
					got = &m
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
		answered, ok := h.AnsweredAt(call.AgentLeg)
		if got != nil && ok {
			out = append(out, ms(got.At.Sub(answered)))
		}
		call.Hangup(b.ctx)
	}
	return out
}

// api: the pool users view of 20 agents, out of 2,000 in 100 pools, under
// 8 concurrent clients on loopback; next to a bare Echo handler sending
// the same bytes, in the same run.
func (b *bench) api() map[string]apiStats {
	f := b.apiFixture()
	bare := echo.New()
	bare.GET("/bare", func(c echo.Context) error { return c.JSONBlob(http.StatusOK, f.body) })
	bareSrv := httptest.NewServer(bare)
	defer bareSrv.Close()
	return map[string]apiStats{
		"pool_users": load(b.e.api.URL, f.tok, f.path),
		"bare_echo":  load(bareSrv.URL, "", func(int) string { return "/bare" }),
	}
}

// benchAPIOnly runs the API comparison alone (EARSHOT_BENCH_ONLY=api), a
// quick measure while working on the API: it prints the API table and
// writes no files.
func benchAPIOnly(t *testing.T) {
	fake := fcmtest.New(t)
	e := startPushE2E(t, fake, fake.Endpoint(), "--directory", loadDirectory)
	b := &bench{t: t, e: e, fake: fake, ctx: context.Background()}
	fmt.Print(apiTable(b.api()))
}

// apiTable is the API comparison: the pool users view and the bare
// handler, and the view's figures as a share of the handler's.
func apiTable(api map[string]apiStats) string {
	var w strings.Builder
	fmt.Fprintf(&w, "\n| API (8 clients, loopback) | requests/s | p50 ms | p99 ms |\n|---|---|---|---|\n")
	for _, k := range []string{"pool_users", "bare_echo"} {
		a := api[k]
		fmt.Fprintf(&w, "| %s | %.0f | %.2f | %.2f |\n", k, a.RPS, a.P50, a.P99)
	}
	ratio := func(f func(apiStats) float64) string {
		if f(api["bare_echo"]) == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f", f(api["pool_users"])/f(api["bare_echo"]))
	}
	fmt.Fprintf(&w, "| ratio (pool users ÷ bare) | %s | %s | %s |\n", ratio(func(a apiStats) float64 { return a.RPS }),
		ratio(func(a apiStats) float64 { return a.P50 }), ratio(func(a apiStats) float64 { return a.P99 }))
	return w.String()
}

// apiFixture is what the API benchmark requests: a signed-in supervisor's
// token, the pool users view of the i-th request, and the view's answer.
type apiFixture struct {
	tok  string
	path func(i int) string
	body []byte
}

// apiFixture imports 2,000 agents in 100 pools of 20 and a supervisor of
// every pool, signs the supervisor in and reads one view.
func (b *bench) apiFixture() apiFixture {
	var y strings.Builder
	y.WriteString("organizations:\n  - {id: bench, name: Bench, features: [supervising]}\nusers:\n")
	y.WriteString(`  - {id: bsup, org: bench, name: Bench Supervisor, roles: [supervisor], password_hash: "$2a$04$N7IECl.dSoQVto.jerqaN.46rzGLMp0cLL4KF7BBxB4GF58csVjr6"}` + "\n")
	for i := 1; i <= 2000; i++ {
		fmt.Fprintf(&y, "  - {id: b%04d, org: bench, name: Bench Agent %d, roles: [agent], endpoint: PJSIP/b%04d}\n", i, i, i)
	}
	y.WriteString("pools:\n")
	for p := 1; p <= 100; p++ {
		var members []string
		for i := (p-1)*20 + 1; i <= p*20; i++ {
			members = append(members, fmt.Sprintf("b%04d", i))
		}
		fmt.Fprintf(&y, "  - {id: bp%03d, org: bench, name: Pool %d, number: \"+3589800%04d\", members: [%s]}\n", p, p, p, strings.Join(members, ", "))
	}
	f, err := directory.Parse(strings.NewReader(y.String()), "FI")
	if err != nil {
		b.t.Fatal(err)
	}
	if _, err := b.e.m.db.ImportDirectory(b.ctx, f); err != nil {
		b.t.Fatal(err)
	}
	tok, _ := b.e.login("bsup")
	path := func(i int) string { return fmt.Sprintf("/api/v1/pools/bp%03d/users", i%100+1) }
	req, _ := http.NewRequest("GET", b.e.api.URL+path(0), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return apiFixture{tok: tok, path: path, body: body}
}

// load sends GETs from 8 clients for 4 s and summarises them.
func load(base, tok string, path func(int) string) apiStats {
	const clients, dur = 8, 4 * time.Second
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	var mu sync.Mutex
	var lat []float64
	var wg sync.WaitGroup
	end := time.Now().Add(dur)
	for c := range clients {
		wg.Go(func() {
			var mine []float64
			for i := c; time.Now().Before(end); i += clients {
				req, _ := http.NewRequest("GET", base+path(i), nil)
				if tok != "" {
					req.Header.Set("Authorization", "Bearer "+tok)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mine = append(mine, ms(time.Since(t0)))
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	s := summary(lat)
	return apiStats{Requests: s.N, RPS: float64(s.N) / dur.Seconds(), P50: s.P50, P99: s.P99}
}

func summary(xs []float64) stats {
	if len(xs) == 0 {
		return stats{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	q := func(p float64) float64 { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return stats{N: len(s), P50: q(.50), P95: q(.95), P99: q(.99)}
}

func (b *bench) machine() map[string]string {
	info, err := b.e.h.Client().Info(b.ctx)
	version := "?"
	if err == nil {
		version = info.SystemInfo.Version
	}
	host, _ := os.Hostname()
	return map[string]string{
		"cores": fmt.Sprint(runtime.NumCPU()), "cpu": cpuModel(), "go": runtime.Version(), "asterisk": version,
		"host": host, "date": time.Now().UTC().Format(time.RFC3339),
	}
}

// cpuModel is the processor's name from /proc/cpuinfo.
func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func (b *bench) report() {
	r := b.res
	ratio := func(p pair, f func(stats) float64) string {
		if f(p.ChanSpy) == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f", f(p.Earshot)/f(p.ChanSpy))
	}
	var w strings.Builder
	fmt.Fprintf(&w, "machine: %d cores (%s), Asterisk %s, %s, %s\n\n", runtime.NumCPU(), r.Machine["cpu"], r.Machine["asterisk"], r.Machine["go"], r.Machine["date"])
	fmt.Fprintf(&w, "| measure | Earshot p50 | p95 | ChanSpy p50 | p95 | ratio p50 | ratio p95 | n |\n|---|---|---|---|---|---|---|---|\n")
	type row struct {
		name string
		p    pair
	}
	rows := []row{{"time to audio (ms)", r.TimeToAudio}}
	for _, sw := range r.Switches {
		if sw.Heard != nil {
			rows = append(rows, row{fmt.Sprintf("%s → %s: the %s hears the supervisor (ms)", sw.From, sw.To, sw.Hears), *sw.Heard})
		}
		rows = append(rows, row{fmt.Sprintf("%s → %s: the supervisor's gap in call audio (ms)", sw.From, sw.To), sw.Gap})
	}
	for _, row := range rows {
		fmt.Fprintf(&w, "| %s | %.0f | %.0f | %.0f | %.0f | %s | %s | %d/%d |\n", row.name, row.p.Earshot.P50, row.p.Earshot.P95,
			row.p.ChanSpy.P50, row.p.ChanSpy.P95, ratio(row.p, func(s stats) float64 { return s.P50 }),
			ratio(row.p, func(s stats) float64 { return s.P95 }), row.p.Earshot.N, row.p.ChanSpy.N)
	}
	w.WriteString(browserTable(r))
	fmt.Fprintf(&w, "\n| notification: agent answers → FCM receives the offer | p50 %.0f ms | p99 %.0f ms | n %d |\n|---|---|---|---|\n",
		r.Notification.P50, r.Notification.P99, r.Notification.N)
	w.WriteString(apiTable(r.API))
	if c := r.Capacity; len(c.Steps) > 0 {
		fmt.Fprintf(&w, "\n| supervised calls | Asterisk CPU %% | of which per supervision %% | Earshot CPU %% | Earshot RSS MB | connecting: s | Asterisk CPU %% | Earshot CPU %% | ARI events/s | events dropped | Asterisk warnings | hearing ok |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, s := range c.Steps {
			fmt.Fprintf(&w, "| %d | %.0f | %.2f | %.1f | %.1f | %.1f | %.0f | %.1f | %.0f | %d | %d | %d/%d |\n", s.Sessions, s.AsteriskCPU, s.PerSession, s.EarshotCPU,
				s.EarshotRSSMB, s.RampSeconds, s.RampAsterisk, s.RampEarshot, s.RampEvents, s.Dropped, s.AsteriskWarns, s.HearingOK, s.HearingOf)
		}
		sat := "not reached"
		if c.Saturated != "" {
			sat = c.Saturated
		}
		fmt.Fprintf(&w, "\nCPU in %% of one core (%d cores = %d%%). Saturation: %s.\n", runtime.NumCPU(), 100*runtime.NumCPU(), sat)
	}
	fmt.Print(w.String())
	out := os.Getenv("EARSHOT_BENCH_OUT")
	if out == "" {
		out = "../../.cache/bench/bench.json"
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		b.t.Fatal(err)
	}
	j, _ := json.MarshalIndent(r, "", "  ")
	if err := os.WriteFile(out, j, 0o644); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(strings.TrimSuffix(out, ".json")+".md", []byte(w.String()), 0o644); err != nil {
		b.t.Fatal(err)
	}
	fmt.Printf("\nbench: wrote %s\n", out)
}
