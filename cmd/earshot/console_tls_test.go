package main

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/earshot/earshot/internal/audio"
	"github.com/earshot/earshot/internal/phones"
)

// Browsers give a page audio worklets and the microphone only in a secure
// context (HTTPS, or localhost). Reached by a site's name over plain HTTP,
// the console keeps Listen here off and says why; served over HTTPS by
// Earshot itself (tls-cert, tls-key), Listen here joins the call and
// Whisper carries the microphone to the agent, not to the customer.
func TestConsoleSecureContext(t *testing.T) {
	if chromiumPath() == "" && os.Getenv("EARSHOT_BROWSER_REQUIRED") != "1" {
		t.Skip("browser test skipped: no chromium (apt-get install chromium, or run scripts/test.sh)")
	}
	e, addr, _, _ := startTLSE2E(t, "earshot.test")
	_, port, _ := net.SplitHostPort(addr)
	secure := "https://earshot.test:" + port
	plain := strings.Replace(e.api.URL, "127.0.0.1", "earshot.test", 1) // the same handler over HTTP
	insecure := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	phones.WaitFor(t, 5*time.Second, "earshot serving HTTPS", func() bool {
		resp, err := insecure.Get("https://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})

	b := newBrowser(t, secure, "",
		// earshot.test is the site's name: not localhost, so only HTTPS
		// makes the page a secure context.
		chromedp.Flag("host-resolver-rules", "MAP earshot.test 127.0.0.1"),
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-audio-capture", fakeMic(t)),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
	ctx := context.Background()
	call, err := e.h.Service(ctx, phones.ServiceOpts{Pool: "sales", Agent: "alice", Via: phones.ViaDial})
	if err != nil {
		t.Fatal(err)
	}
	signIn := func(base string) {
		b.run("open the console at "+base, chromedp.Navigate(base+"/"))
		b.wait("the sign-in form", `visible(document.querySelector('#username'))`)
		b.fill("#username", "sara")
		b.fill("#password", "change-me")
		b.click("Sign in", `button('Sign in')`)
		b.wait("the pools page", `heading('Service pools')`)
		b.run("alice's page", chromedp.Navigate(base+"/#/users/alice"))
		b.wait("alice on a service call", `text('main').includes('On a service call')`)
	}

	signIn(plain)
	b.wait("Listen here off over plain HTTP, and why", `!window.isSecureContext &&
		document.querySelector('[data-listen-here="alice"]').disabled &&
		text('main').includes('Listen here needs the console over HTTPS')`)

	signIn(secure)
	b.wait("Listen here on over HTTPS", `window.isSecureContext &&
		!document.querySelector('[data-listen-here="alice"]').disabled &&
		!document.querySelector('[data-secure-hint]')`)
	b.click("Listen here", `button('Listen here')`)
	b.wait("the audio live", `document.querySelector('#leg-state')?.dataset.state === 'live'`)
	b.click("Whisper", `button('Whisper', '#session')`)
	b.wait("Whisper pressed", `document.querySelector('#session button[data-mode="whisper"]').getAttribute('aria-pressed') === 'true'`)
	from, to := hold(1500 * time.Millisecond)
	b.click("Hang up", `button('Hang up', '#session')`)
	b.wait("the end", `text('#session').includes('Supervising ended')`)
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	ra, _ := call.Recording(ctx, "alice")
	rc, _ := call.Recording(ctx, "customer")
	// The microphone starts at the click on Whisper: judge from 500 ms in.
	audio.AssertHears(t, ra.Recording, "agent (whisper over HTTPS)", phones.SupervisorHz, ra.Between(from.Add(500*time.Millisecond), to.Add(-60*time.Millisecond)))
	audio.AssertNotHears(t, rc.Recording, "customer (whisper over HTTPS)", phones.SupervisorHz, rc.Between(from.Add(500*time.Millisecond), to.Add(-60*time.Millisecond)))
}
