package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/internal/audio"
	"github.com/earshot/earshot/internal/phones"
)

// fakeMic writes the supervisor's tone as a WAV file for Chromium's fake
// audio capture, which loops it as the microphone.
func fakeMic(t *testing.T) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "mic.wav")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := audio.WriteWAV(f, 48000, audio.Tone(48000, phones.SupervisorHz, -12, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestConsoleListenHere drives Listen here in Chromium on the real
// Asterisk, with Chromium's fake audio capture playing the supervisor's
// tone as the microphone: the page's audio state goes live, its level
// meter moves, the console's buttons switch listen → whisper → barge →
// listen, a dropped connection shows as reconnecting and comes back
// live, and the hearing matrix is exact on the agent's and the
// customer's recordings and on what the page received (every binary
// message of its media WebSocket, recorded through the DevTools
// protocol); the agent hears the join tone; Hang up ends it; nothing of
// Earshot's remains in Asterisk (startE2E's cleanup). It logs the time
// from the click on Listen here to the page's first call audio, and from
// the click on Whisper to the agent hearing the microphone.
func TestConsoleListenHere(t *testing.T) {
	if chromiumPath() == "" && os.Getenv("EARSHOT_BROWSER_REQUIRED") != "1" {
		t.Skip("browser test skipped: no chromium (apt-get install chromium, or run scripts/test.sh)")
	}
	e := startE2E(t)
	ctx := context.Background()
	shots := os.Getenv("EARSHOT_SCREENSHOTS")
	if shots == "" {
		shots = "../../docs"
	}
	b := newBrowser(t, e.api.URL, shots,
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-audio-capture", fakeMic(t)),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
	frames := make(chan []byte, 4096)
	var firstFrame time.Time
	b.mu.Lock()
	b.wsIn = func(at time.Time, f []byte) {
		if firstFrame.IsZero() {
			firstFrame = at
		}
		select {
		case frames <- f:
		default:
		}
	}
	b.mu.Unlock()
	page := phones.NewMediaPeer(nil, frames, 0)
	defer page.Stop()

	b.run("open the console", chromedp.Navigate(e.api.URL+"/"))
	b.wait("the sign-in form", `visible(document.querySelector('#username'))`)
	b.fill("#username", "sara")
	b.fill("#password", "change-me")
	b.click("Sign in", `button('Sign in')`)
	b.wait("the pools page", `heading('Service pools')`)
	call, err := e.h.Service(ctx, phones.ServiceOpts{Pool: "sales", Agent: "alice", Via: phones.ViaDial})
	if err != nil {
		t.Fatal(err)
	}
	b.run("alice's page", chromedp.Navigate(e.api.URL+"/#/users/alice"))
	b.wait("alice on a service call", `text('main').includes('On a service call')`)

	b.click("Listen here", `button('Listen here')`)
	clicked := time.Now()
	b.wait("the audio live", `document.querySelector('#leg-state')?.dataset.state === 'live'`)
	b.wait("the level meter moving", `document.querySelector('#leg-level').value > 0.2`)
	// A second Listen here on the call being supervised would only be
	// refused: the button says so by being off.
	b.wait("Listen here off while supervising alice", `document.querySelector('[data-listen-here="alice"]').disabled`)
	b.shot("listen-here")
	b.mu.Lock()
	toAudio := firstFrame.Sub(clicked)
	b.mu.Unlock()
	connected := clicked

	var spans []modeSpan
	from, to := hold(1200 * time.Millisecond)
	spans = append(spans, modeSpan{earshot.ModeListen, from, to})
	var whisperAt time.Time
	for _, m := range []earshot.Mode{earshot.ModeWhisper, earshot.ModeBarge, earshot.ModeListen} {
		name := string(m[0]-'a'+'A') + string(m[1:])
		b.click(name, `button('`+name+`', '#session')`)
		if m == earshot.ModeWhisper {
			whisperAt = time.Now()
		}
		b.wait(name+" pressed", `document.querySelector('#session button[data-mode="`+string(m)+`"]').getAttribute('aria-pressed') === 'true'`)
		from, to := hold(1500 * time.Millisecond)
		spans = append(spans, modeSpan{m, from, to})
	}
	b.mu.Lock()
	sent := b.wsSent
	b.mu.Unlock()
	if sent < 50 {
		t.Errorf("the page sent %d microphone frames, want a stream of them while talking", sent)
	}
	// The connection drops (closed by the page's side as a network
	// failure would): the page says so, reconnects, and is live again.
	if err := b.eval(`import('/console/leg.mjs').then((m) => { m.current().ws.close(4000); return true; })`, nil); err != nil {
		t.Fatal(err)
	}
	b.wait("the audio reconnecting", `document.querySelector('#leg-state')?.dataset.state === 'reconnecting' && text('#leg-state').includes('reconnecting')`)
	b.wait("the audio live again", `document.querySelector('#leg-state')?.dataset.state === 'live'`)
	b.click("Hang up", `button('Hang up', '#session')`)
	b.wait("the end, in words", `text('#session').includes('Supervising ended') && text('#session').includes('you hung up')`)
	b.wait("Listen here on again after hanging up", `!document.querySelector('[data-listen-here="alice"]').disabled`)
	page.Stop()
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	rs := page.Heard("the page")
	ra, _ := call.Recording(ctx, "alice")
	rc, _ := call.Recording(ctx, "customer")
	for _, s := range spans {
		// The microphone starts at the first Whisper (getUserMedia):
		// judge talk spans from 500 ms in.
		lead := 250 * time.Millisecond
		if s.mode != earshot.ModeListen {
			lead = 500 * time.Millisecond
		}
		s.assertMatrix(t, lead, "page", rs, ra, rc)
	}
	if at, ok := ra.FirstPresent(phones.BeepHz, ra.At(connected.Add(-100*time.Millisecond))); !ok || at > ra.At(connected.Add(1500*time.Millisecond)) {
		t.Errorf("agent did not hear the join tone after Listen here (first at %v, ok %v)", at, ok)
	}
	if at, ok := ra.FirstPresent(phones.SupervisorHz, ra.At(whisperAt)); ok {
		t.Logf("click on Listen here → the page's first call audio: %v; click on Whisper → the agent hears the microphone: %v",
			toAudio, at-ra.At(whisperAt))
	} else {
		t.Errorf("the agent never heard the microphone after Whisper")
	}
	b.checkConsole(nil)
}
