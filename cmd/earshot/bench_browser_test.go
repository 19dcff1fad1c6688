package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/phones"
	"github.com/earshot/earshot/push/fcmtest"
)

// browserRound is one Listen here through the API and the media
// WebSocket, with a Go client in the page's place (the page's own audio
// stack — AudioContext, worklet — is not counted; TestConsoleListenHere
// logs the whole click-to-audio in Chromium): Listen here → the first
// frame of call audio on the link; listen → whisper → the agent hears the
// client's tone.
func (b *bench) browserRound(agent string) (tta, whisper float64, ok bool) {
	e := b.e
	call, err := e.h.Service(b.ctx, phones.ServiceOpts{Pool: "sales", Agent: agent, Via: phones.ViaDial})
	if err != nil {
		b.t.Logf("browser round: %v", err)
		return 0, 0, false
	}
	defer call.Hangup(b.ctx)
	e.waitOnCall(b.tok, agent)
	var here struct {
		Session struct{ ID string } `json:"session"`
		Media   string              `json:"media"`
	}
	clicked := time.Now()
	e.call(b.tok, "POST", "/api/v1/users/"+agent+"/listen-here", "", 201, &here)
	closed, send, frames := mediaClient(b.t, e.api.URL, here.Media, b.tok)
	peer := phones.NewMediaPeer(send, frames, phones.SupervisorHz)
	deadline := time.Now().Add(3 * time.Second)
	for peer.FirstFrame().IsZero() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	first := peer.FirstFrame()
	time.Sleep(1200 * time.Millisecond)
	at := time.Now()
	e.call(b.tok, "PUT", "/api/v1/supervising/sessions/"+here.Session.ID+"/mode", `{"mode":"whisper"}`, 200, nil)
	time.Sleep(1200 * time.Millisecond)
	e.call(b.tok, "DELETE", "/api/v1/supervising/sessions/"+here.Session.ID, "", 204, nil)
	select {
	case <-closed:
	case <-time.After(3 * time.Second):
	}
	peer.Stop()
	if err := call.Hangup(b.ctx); err != nil {
		b.t.Logf("hang up: %v", err)
	}
	ra, err := call.Recording(b.ctx, agent)
	if err != nil || first.IsZero() {
		b.t.Logf("browser round: recording %v, first frame %v", err, first)
		return 0, 0, false
	}
	heard, ok := ra.Recording.FirstPresent(phones.SupervisorHz, ra.At(at))
	if !ok {
		b.t.Log("browser round: the agent never heard the whisper")
		return 0, 0, false
	}
	return ms(first.Sub(clicked)), ms(ra.Start.Add(heard).Sub(at)), true
}

func (b *bench) browser(n int) (tta, whisper []float64) {
	for i := range n {
		agent := fmt.Sprintf("ag%02d", i%20+1)
		if a, w, ok := b.browserRound(agent); ok {
			tta, whisper = append(tta, a), append(whisper, w)
		}
	}
	return tta, whisper
}

// browserTable is the browser leg's figures next to the phone leg's.
func browserTable(r benchResult) string {
	phone := func(s stats) string {
		if s.N == 0 {
			return "–" // not measured in this run (EARSHOT_BENCH_ONLY=browser)
		}
		return fmt.Sprintf("%.0f", s.P50)
	}
	return fmt.Sprintf("\n| browser leg (Listen here, Go client in the page's place) | p50 | p95 | n | phone leg p50 |\n|---|---|---|---|---|\n"+
		"| Listen here → first call audio on the media link (ms) | %.0f | %.0f | %d | %s (time to audio) |\n"+
		"| listen → whisper: the agent hears the microphone (ms) | %.0f | %.0f | %d | %s |\n",
		r.BrowserTTA.P50, r.BrowserTTA.P95, r.BrowserTTA.N, phone(r.TimeToAudio.Earshot),
		r.BrowserWhisper.P50, r.BrowserWhisper.P95, r.BrowserWhisper.N, phone(r.phoneWhisper()))
}

// benchBrowserOnly runs the browser leg's rounds alone
// (EARSHOT_BENCH_ONLY=browser) and prints them.
func benchBrowserOnly(t *testing.T, n int) {
	fake := fcmtest.New(t)
	e := startPushE2E(t, fake, fake.Endpoint(), "--directory", loadDirectory)
	b := &bench{t: t, e: e, fake: fake, ctx: context.Background()}
	b.tok, _ = e.login("su01")
	tta, w := b.browser(n)
	b.res.BrowserTTA, b.res.BrowserWhisper = summary(tta), summary(w)
	fmt.Print(browserTable(b.res))
}

// phoneWhisper is the phone leg's listen → whisper, when measured.
func (r benchResult) phoneWhisper() stats {
	for _, sw := range r.Switches {
		if sw.From == "listen" && sw.To == "whisper" && sw.Heard != nil {
			return sw.Heard.Earshot
		}
	}
	return stats{}
}
