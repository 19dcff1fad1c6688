package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/phones"
)

// TestSoak is the soak command (scripts/soak.sh DURATION), not part of the
// suite: it runs only with EARSHOT_SOAK set to a duration. Simulated
// service calls are supervised without pause by EARSHOT_SOAK_WORKERS
// supervisors (default 4); each session switches modes through the API
// and ends from a random side (supervisor, API, customer, agent). Every
// EARSHOT_SOAK_EVERY (default 30 s) it prints the earshot process's
// goroutines and RSS (from its /metrics), open sessions, and Asterisk's
// channels and bridges; at the end it fails if anything of Earshot's is
// left in Asterisk or goroutines or RSS kept growing.
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("EARSHOT_SOAK"))
	if err != nil {
		t.Skip("soak: set EARSHOT_SOAK to a duration (scripts/soak.sh 20m)")
	}
	workers := envInt("EARSHOT_SOAK_WORKERS", 4)
	every, err := time.ParseDuration(os.Getenv("EARSHOT_SOAK_EVERY"))
	if err != nil {
		every = 30 * time.Second
	}
	h := phones.New(t)
	app := newAppName("earshot-soak-")
	p := startProcess(t, processArgs(t, app, filepath.Join(t.TempDir(), "earshot.db"))...)

	ctx, stop := context.WithTimeout(context.Background(), d)
	defer stop()
	var iterations, failures atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			s := soaker{t: t, h: h, p: p, app: app, w: w, rng: rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))}
			s.tok = p.login(s.sup())
			for i := 0; ctx.Err() == nil; i++ {
				if err := s.iteration(ctx, i); err != nil {
					failures.Add(1)
					t.Logf("worker %d iteration %d: %v", w, i, err)
					time.Sleep(time.Second)
				}
				iterations.Add(1)
			}
		})
	}

	var samples []soakSample
	start := time.Now()
	fmt.Printf("%8s %10s %10s %8s %10s %10s %8s %8s\n", "elapsed", "sessions", "iterations", "failed", "goroutines", "rss_mb", "chans", "bridges")
	sample := func() soakSample {
		s := soakSample{at: time.Since(start), iterations: iterations.Load(), failures: failures.Load()}
		m := scrape(t, p.url)
		s.goroutines, s.rss = m["go_goroutines"], m["process_resident_memory_bytes"]/1e6
		for _, mode := range []string{"listen", "whisper", "barge"} {
			s.sessions += m[`earshot_sessions{mode="`+mode+`"}`]
		}
		chs, _ := h.Client().Channels(context.Background())
		bridges, _ := h.Client().Bridges(context.Background())
		s.channels, s.bridges = len(chs), len(bridges)
		fmt.Printf("%8s %10.0f %10d %8d %10.0f %10.1f %8d %8d\n", s.at.Round(time.Second), s.sessions,
			s.iterations, s.failures, s.goroutines, s.rss, s.channels, s.bridges)
		return s
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick.C:
			samples = append(samples, sample())
		}
	}
	wg.Wait()
	h.HangupAll()
	time.Sleep(5 * time.Second) // let the last sessions end
	final := sample()
	left, _ := leftovers(t, h, app)

	fmt.Printf("soak: %s, %d workers, %d sessions run, %d failed iterations\n", d, workers, final.iterations, final.failures)
	fmt.Printf("soak: after the last call: %d sessions, Earshot objects in Asterisk %v\n", int(final.sessions), left)
	if len(left) > 0 || final.sessions != 0 {
		t.Errorf("leaks after the soak: %v, %v sessions", left, final.sessions)
	}
	if n := len(samples); n >= 6 {
		// Compare the last third with the first third (after warm-up):
		// growth without bound shows as a steady rise between them.
		first, last := samples[1:n/3+1], samples[n-n/3:]
		g0, g1 := maxOf(first, func(s soakSample) float64 { return s.goroutines }), maxOf(last, func(s soakSample) float64 { return s.goroutines })
		r0, r1 := maxOf(first, func(s soakSample) float64 { return s.rss }), maxOf(last, func(s soakSample) float64 { return s.rss })
		fmt.Printf("soak: goroutines max %0.f → %0.f, RSS max %.1f → %.1f MB (first third → last third)\n", g0, g1, r0, r1)
		if g1 > g0+20 {
			t.Errorf("goroutines grew: %v → %v", g0, g1)
		}
		if r1 > r0*1.25+5 {
			t.Errorf("RSS grew: %.1f → %.1f MB", r0, r1)
		}
	}
	if final.failures*20 > final.iterations {
		t.Errorf("%d of %d iterations failed", final.failures, final.iterations)
	}
	if err := p.signal(syscall.SIGTERM); err != nil {
		t.Errorf("exit: %v", err)
	}
}

type soakSample struct {
	at                   time.Duration
	iterations, failures int64
	goroutines, rss      float64
	sessions             float64
	channels, bridges    int
}

func maxOf(ss []soakSample, f func(soakSample) float64) float64 {
	m := 0.0
	for _, s := range ss {
		m = max(m, f(s))
	}
	return m
}

// soaker is one supervisor supervising call after call.
type soaker struct {
	t   *testing.T
	h   *phones.Harness
	p   *process
	app string
	w   int
	rng *rand.Rand
	tok string
}

func (s *soaker) sup() string { return fmt.Sprintf("su%02d", s.w+1) }

// iteration: a service call, Listen, dial in, 1–3 mode switches, and an
// end from a random side; every channel gone before the next.
func (s *soaker) iteration(ctx context.Context, i int) error {
	bg := context.Background()
	// Ten agents per worker, in turn, so an agent is never on two calls.
	agent := fmt.Sprintf("ag%02d", s.w*10+i%10+1)
	call, err := s.h.Service(bg, phones.ServiceOpts{Pool: "sales", Agent: agent, Via: phones.ViaDial})
	if err != nil {
		return err
	}
	defer call.Hangup(bg)
	if err := s.until(10*time.Second, func() bool { return s.status("POST", "/api/v1/users/"+agent+"/listen", "") == 201 }); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	sup, err := s.h.Supervisor(bg, phones.SupervisorOpts{Name: s.sup(), Number: supNumber(s.w + 1), App: s.app})
	if err != nil {
		return err
	}
	defer sup.Hangup(bg)
	var id string
	if err := s.until(15*time.Second, func() bool { id = s.session(); return id != "" }); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	modes := []string{"whisper", "barge", "listen"}
	for range 1 + s.rng.IntN(3) {
		time.Sleep(time.Duration(200+s.rng.IntN(400)) * time.Millisecond)
		s.status("PUT", "/api/v1/supervising/sessions/"+id+"/mode", `{"mode":"`+modes[s.rng.IntN(3)]+`"}`)
	}
	switch s.rng.IntN(4) {
	case 0:
		err = sup.HangupParty(bg, s.sup())
	case 1:
		s.status("DELETE", "/api/v1/supervising/sessions/"+id, "")
	case 2:
		err = call.HangupParty(bg, "customer")
	default:
		err = call.HangupParty(bg, agent)
	}
	if err != nil {
		return err
	}
	return s.until(10*time.Second, func() bool { return s.session() == "" })
}

func (s *soaker) status(method, path, body string) int {
	req, _ := http.NewRequest(method, s.p.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.tok)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (s *soaker) session() string {
	req, _ := http.NewRequest("GET", s.p.url+"/api/v1/supervising/sessions", nil)
	req.Header.Set("Authorization", "Bearer "+s.tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var v sessionsJSON
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || len(v.Sessions) == 0 {
		return ""
	}
	return v.Sessions[0].ID
}

func (s *soaker) until(d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// scrape reads a /metrics page into "name{labels}" → value. It sends
// the tests' admin token: /metrics on the API's address asks for it.
func scrape(t *testing.T, base string) map[string]float64 {
	out := map[string]float64{}
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Logf("scrape: %v", err)
		return out
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Logf("scrape: %s", resp.Status)
		return out
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
