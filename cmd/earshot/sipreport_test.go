package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// sipReport prints the SIP capacity table and writes
// .cache/bench/sip.json and sip.md (EARSHOT_BENCH_SIP_OUT).
func sipReport(t *testing.T, r sipResult) {
	var w strings.Builder
	cores := runtime.NumCPU()
	fmt.Fprintf(&w, "SIP load (SIPp, G.711 µ-law RTP; %d cores, %s, %s)\n\n", cores, r.Machine["cpu"], r.Machine["date"])
	fmt.Fprintf(&w, "| calls | Asterisk CPU %%: calls alone | + Earshot listening on every call | + ChanSpy listening | per supervision %%, listening: Earshot | ChanSpy | ratio | Asterisk thread wake-ups/s per supervision, listening: Earshot | ChanSpy | + Earshot barging on every call | + ChanSpy barging (B) | per supervision %%, barging: Earshot | ChanSpy | ratio | Earshot CPU %% | Earshot RSS MB | SIPp CPU %% | Asterisk+SIPp+Earshot %% | machine busy %% (all processes) | ARI events/s | corrections | Asterisk warnings | hearing ok |\n")
	fmt.Fprintf(&w, "|%s\n", strings.Repeat("---|", 23))
	var es, cs, rs, eb, cb, rb []float64
	for _, s := range r.Steps {
		mark := ""
		if s.Saturated {
			mark = " (saturated)"
		}
		fmt.Fprintf(&w, "| %d%s | %.0f | %.0f | %.0f | %.2f | %.2f | %.2f | %.0f | %.0f | %.0f | %.0f | %.2f | %.2f | %.2f | %.1f | %.1f | %.0f | %.0f | %.0f | %.0f | %d | %d | %d/%d |\n",
			s.Calls, mark, s.CallsCPU, s.EarshotAst, s.ChanSpyAst, s.EarshotPer, s.ChanSpyPer, s.Ratio, s.EarshotWakesPer, s.ChanSpyWakesPer,
			s.EarshotBargeAst, s.ChanSpyBargeAst, s.EarshotBargePer, s.ChanSpyBargePer, s.BargeRatio,
			s.EarshotCPU, s.EarshotRSSMB, s.SIPpCPU, s.Load, s.MachineBusy, s.EventsPerSec, s.Corrections, s.AsteriskWarns, s.HearingOK, s.HearingOf)
		if !s.Saturated && s.ChanSpyPer > 0 && s.ChanSpyBargePer > 0 {
			es, cs, rs = append(es, s.EarshotPer), append(cs, s.ChanSpyPer), append(rs, s.Ratio)
			eb, cb, rb = append(eb, s.EarshotBargePer), append(cb, s.ChanSpyBargePer), append(rb, s.BargeRatio)
		}
	}
	fmt.Fprintf(&w, "\nCPU in %% of one core (%d cores = %d%%), machine busy in %% of all cores; the machine is shared, so other processes weigh on every figure. A saturated step's figures are capped by the machine and left out of the summary. The calls alone: the mean of a window before Earshot's and one after ChanSpy's.\n", cores, 100*cores)
	for _, s := range r.Steps {
		if s.Calls == r.Largest {
			fmt.Fprintf(&w, "Asterisk CPU per supervision at %d calls (the largest step both reach unsaturated): listening Earshot %.2f%%, ChanSpy %.2f%%, ratio %.2f; barging Earshot %.2f%%, ChanSpy %.2f%%, ratio %.2f.\n",
				s.Calls, s.EarshotPer, s.ChanSpyPer, s.Ratio, s.EarshotBargePer, s.ChanSpyBargePer, s.BargeRatio)
		}
	}
	if len(rs) > 0 {
		fmt.Fprintf(&w, "Median of the steps: listening Earshot %.2f%%, ChanSpy %.2f%%, ratio %.2f; barging Earshot %.2f%%, ChanSpy %.2f%%, ratio %.2f.\n",
			median(es), median(cs), median(rs), median(eb), median(cb), median(rb))
	}
	sat := "not reached"
	if r.Saturated != "" {
		sat = r.Saturated
	}
	fmt.Fprintf(&w, "Saturation: %s.\n", sat)
	fmt.Print("\n" + w.String())
	out := os.Getenv("EARSHOT_BENCH_SIP_OUT")
	if out == "" {
		out = filepath.Join(benchDir(), "sip.json")
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	j, _ := json.MarshalIndent(r, "", "  ")
	if err := os.WriteFile(out, j, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(strings.TrimSuffix(out, ".json")+".md", []byte(w.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("\nbench: wrote %s\n", out)
}
