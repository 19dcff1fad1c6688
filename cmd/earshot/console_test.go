package main

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/earshot/earshot/internal/audio"
	"github.com/earshot/earshot/internal/phones"
)

// TestConsole drives the web console in Debian's Chromium (chromedp, Go
// alone) against a whole Earshot and the sandbox Asterisk: the signed-out
// page shows no menu, sign in, a call appears live, Listen, the
// supervisor dials in, Whisper (checked on the recordings), a change made
// elsewhere shows, Hang up with who ended it in words. It refreshes the
// screenshots of each page at phone and desktop width in docs/
// (EARSHOT_SCREENSHOTS overrides), checks that the page called only
// documented routes, and that the browser console showed no error.
func TestConsole(t *testing.T) {
	shots := os.Getenv("EARSHOT_SCREENSHOTS")
	if shots == "" {
		shots = "../../docs"
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	if chromiumPath() == "" && os.Getenv("EARSHOT_BROWSER_REQUIRED") != "1" {
		t.Skip("browser test skipped: no chromium (apt-get install chromium, or run scripts/test.sh)")
	}
	e := startE2E(t)
	ctx := context.Background()
	b := newBrowser(t, e.api.URL, shots)

	// Signed out: the sign-in form and no menu (before and after a wrong
	// password).
	b.run("open the console", chromedp.Navigate(e.api.URL+"/"))
	b.wait("the sign-in form", `visible(document.querySelector('#username'))`)
	noMenu := `!visible(document.querySelector('#nav')) && byName('a, button', /^(Pools|Supervised users|Settings|Sign out)$/).length === 0`
	b.wait("no menu while signed out", noMenu)
	b.shot("signin")
	b.fill("#username", "sara")
	b.fill("#password", "wrong")
	b.click("Sign in", `button('Sign in')`)
	b.wait("the wrong-password notice", `text('#notice').includes('Wrong user name or password')`)
	b.wait("no menu after a wrong password", noMenu)
	b.fill("#password", "change-me")
	b.click("Sign in", `button('Sign in')`)
	b.wait("the pools page", `heading('Service pools')`)
	b.wait("the menu once signed in", `link('Supervised users') && button('Sign out')`)
	b.shot("pools")
	// The user allows notifications (the prompt answered through the
	// DevTools protocol); the service worker takes over the page.
	b.grantNotifications()
	b.wait("the service worker", `navigator.serviceWorker.ready.then((r) => !!r.active && !!navigator.serviceWorker.controller)`)

	// A pool's users; alice's call appears live, without a reload.
	b.click("the Sales pool", `link('Sales')`)
	b.wait("the Sales page", `heading('Sales')`)
	call, err := e.h.Service(ctx, phones.ServiceOpts{Pool: "sales", Agent: "alice", Via: phones.ViaQueue})
	if err != nil {
		t.Fatal(err)
	}
	b.wait("alice on a service call", `text('li[data-user="alice"]').includes('On a service call')`)
	b.shot("pool")

	// Listen: the supervising number, a tel: link, a countdown and a QR code.
	b.click("Alice Agent", `link('Alice Agent')`)
	b.wait("alice's page", `heading('Alice Agent')`)
	b.click("Listen to Alice Agent", `button('Listen to Alice Agent')`)
	offer := `document.querySelector('section[aria-label="Listen offer"]')`
	b.wait("the offer", offer)
	b.wait("the dial link", offer+`.querySelector('a[href^="tel:+"]')`)
	b.wait("the QR code", offer+`.querySelector('[role=img][aria-label^="QR code of tel:"] svg')`)
	b.wait("the countdown", `/^[0-9]+:[0-9]{2}$/.test(`+offer+`.querySelector('.countdown').textContent)`)
	b.shot("offer")

	// The supervisor dials in: the session appears, in listen mode, with
	// people's and pools' names, and only one button named Listen.
	sup, err := e.h.Supervisor(ctx, phones.SupervisorOpts{Name: "sara", Number: "+358401234567", App: e.app})
	if err != nil {
		t.Fatal(err)
	}
	b.wait("the banner", `text('#session').includes('Supervising Alice Agent') && text('#session').includes('Sales')`)
	b.wait("listen mode", `button('Listen', '#session').getAttribute('aria-pressed') === 'true'`)
	b.wait("one button named Listen", `byName('button', 'Listen').length === 1`)
	b.shot("session")

	// Whisper from the page; the recordings tell who heard whom.
	b.click("Whisper", `button('Whisper', '#session')`)
	b.wait("whisper mode", `button('Whisper', '#session').getAttribute('aria-pressed') === 'true'`)
	whisperFrom, whisperTo := hold(1200 * time.Millisecond)

	// A change made elsewhere shows on the page.
	tok, _ := e.login("sara")
	id := e.waitSessions(tok, 1).Sessions[0].ID
	t0 := time.Now()
	e.call(tok, "PUT", "/api/v1/supervising/sessions/"+id+"/mode", `{"mode":"barge"}`, 200, nil)
	b.wait("barge mode", `button('Barge', '#session').getAttribute('aria-pressed') === 'true'`)
	t.Logf("a mode change made elsewhere showed on the page after %s", time.Since(t0).Round(time.Millisecond))

	// The pool users view: alice's call with its ticking duration, who
	// supervises it and how, and Listen one click away.
	b.click("Pools", `link('Pools')`)
	b.click("the Sales pool", `link('Sales')`)
	alice := `text('li[data-user="alice"]')`
	b.wait("who supervises alice's call", alice+`.includes('Supervised by you (barging in).')`)
	b.wait("Listen in the list", `button('Listen to Alice Agent', 'li[data-user="alice"]')`)
	var d1, d2 string
	b.eval(`document.querySelector('li[data-user="alice"] .since').textContent`, &d1)
	time.Sleep(2100 * time.Millisecond)
	b.eval(`document.querySelector('li[data-user="alice"] .since').textContent`, &d2)
	if d1 == d2 || !regexp.MustCompile(`^[0-9]+:[0-9]{2}$`).MatchString(d2) {
		t.Errorf("call duration %q then %q: not ticking", d1, d2)
	}
	b.shot("pool-live")
	b.click("Alice Agent", `link('Alice Agent')`)
	b.wait("alice's page", `heading('Alice Agent')`)

	// Supervise / Stop supervising, and the supervised-users list.
	b.click("Supervise", `button('Supervise')`)
	b.wait("Stop supervising", `button('Stop supervising')`)
	b.click("Supervised users", `link('Supervised users')`)
	b.wait("the supervised users", `heading('Supervised users') && link('Alice Agent')`)
	b.shot("supervised")

	// Hang up: the banner says it ended, and who ended it, in words.
	b.click("Hang up", `button('Hang up', '#session')`)
	b.wait("the end", `text('#session').includes('Supervising ended') && text('#session').includes('Alice Agent: you hung up.')`)
	if err := sup.WaitGone(ctx, sup.SupervisorLeg); err != nil {
		t.Fatal(err)
	}
	b.shot("ended")

	// The first call ends. Whisper from the page: the agent heard the
	// supervisor, the customer did not.
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	ra, _ := call.Recording(ctx, "alice")
	rc, _ := call.Recording(ctx, "customer")
	iv := func(r *phones.Heard) audio.Interval {
		return r.Between(whisperFrom.Add(250*time.Millisecond), whisperTo.Add(-50*time.Millisecond))
	}
	audio.AssertHears(t, ra.Recording, "agent (whisper from the console)", phones.SupervisorHz, iv(ra))
	audio.AssertNotHears(t, rc.Recording, "customer (whisper from the console)", phones.SupervisorHz, iv(rc))

	// Alice is on sara's list now: her next call brings the offer (R8) as
	// a notice on the page and a system notification, in the server's
	// words, both with Listen.
	const notifications = `navigator.serviceWorker.ready.then((r) => r.getNotifications())`
	b.eval(notifications+`.then((ns) => { ns.forEach((n) => n.close()); return true; })`, nil)
	call2, err := e.h.Service(ctx, phones.ServiceOpts{Pool: "sales", Agent: "alice", Via: phones.ViaQueue})
	if err != nil {
		t.Fatal(err)
	}
	notice := `document.querySelector('#alerts section[data-type="listen_offer"]')`
	b.wait("the offer notice", notice+` && `+notice+`.innerText.includes('Alice Agent is on a service call') && `+notice+`.innerText.includes('Sales')`)
	b.wait("the system notification", notifications+`.then((ns) => ns.some((n) => n.title === 'Alice Agent is on a service call' &&
		n.body.startsWith('Sales') && n.actions.length === 1 && n.actions[0].action === 'listen' && n.actions[0].title === 'Listen'))`)
	b.shot("notification")

	// Listen from the notice: the offer, with number, link, countdown, QR.
	b.click("the notice's Listen", `button('Listen: Alice Agent', '#alerts')`)
	b.wait("the offer page", `heading('Listen to Alice Agent')`)
	b.wait("the offer", offer+` && `+offer+`.querySelector('a[href^="tel:+"]') && `+offer+`.querySelector('[role=img] svg') && /^[0-9]+:[0-9]{2}$/.test(`+offer+`.querySelector('.countdown').textContent)`)
	sup2, err := e.h.Supervisor(ctx, phones.SupervisorOpts{Name: "sara", Number: "+358401234567", App: e.app})
	if err != nil {
		t.Fatal(err)
	}
	b.wait("listen mode", `button('Listen', '#session') && button('Listen', '#session').getAttribute('aria-pressed') === 'true'`)
	b.wait("the mode in the server's words", `text('#session').includes('Listening. Neither the agent nor the customer hears you.')`)

	// The same status as a Web Push message, delivered to the service
	// worker (no push service needed): it shows the notification with the
	// other modes as buttons.
	statusNote := notifications + `.then((ns) => ns.find((n) => n.data && n.data.type === 'supervising_status' && n.data.data.mode === 'listen'))`
	b.wait("the status notification", statusNote)
	var payload map[string]any
	if err := b.eval(statusNote+`.then((n) => n.data)`, &payload); err != nil {
		t.Fatal(err)
	}
	b.eval(notifications+`.then((ns) => { ns.forEach((n) => n.close()); return true; })`, nil)
	pj, _ := json.Marshal(payload)
	b.deliverPush(string(pj))
	b.wait("the pushed notification", notifications+`.then((ns) => ns.some((n) => n.title === 'Supervising Alice Agent: listen' &&
		n.actions.map((a) => a.title).join() === 'Whisper,Barge'))`)

	// Its Whisper button: a click on a system notification cannot be made
	// over the DevTools protocol, so the test dispatches the very event
	// the browser would (notificationclick, action whisper) to the
	// worker's own listener, which switches the mode with the sign-in the
	// console handed over.
	var dispatched bool
	b.inServiceWorker(`self.registration.getNotifications().then((ns) => {
		const n = ns.find((n) => n.data && n.data.type === 'supervising_status');
		if (!n) return false;
		self.dispatchEvent(new NotificationEvent('notificationclick', { notification: n, action: 'whisper' }));
		return true;
	})`, &dispatched)
	if !dispatched {
		t.Fatal("no status notification in the service worker")
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.waitSessions(tok, 1).Sessions[0].Mode != "whisper" {
		if time.Now().After(deadline) {
			t.Fatal("the notification's Whisper did not change the mode on the server")
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.wait("whisper mode on the page", `button('Whisper', '#session').getAttribute('aria-pressed') === 'true'`)
	b.click("Hang up", `button('Hang up', '#session')`)
	b.wait("the end", `text('#session').includes('Alice Agent: you hung up.')`)
	if err := sup2.WaitGone(ctx, sup2.SupervisorLeg); err != nil {
		t.Fatal(err)
	}
	if err := call2.Hangup(ctx); err != nil {
		t.Fatal(err)
	}

	// Settings: an invalid number is refused with a clear message.
	b.click("Settings", `link('Settings')`)
	b.wait("the phone field", `visible(document.querySelector('#phone'))`)
	var saved string
	b.eval(`document.querySelector('#phone').value`, &saved)
	b.fill("#phone", "12")
	b.click("Save", `button('Save')`)
	b.wait("the field's error", `text('#phone-error') !== ''`)
	b.shot("settings")
	b.fill("#phone", saved)
	b.click("Save", `button('Save')`)
	b.wait("saved", `text('#notice').includes('Saved')`)

	// Keyboard: the skip link moves focus to the content.
	b.run("skip link", chromedp.Focus(chromedp.CSS("a.skip")), chromedp.KeyEvent(kb.Enter))
	b.wait("focus on the content", `document.activeElement.id === 'main'`)

	// Sign out, then an expired token returns to sign-in with a message.
	b.click("Sign out", `button('Sign out')`)
	b.wait("the sign-in form", `visible(document.querySelector('#username'))`)
	b.wait("no menu after signing out", noMenu)
	b.eval(`sessionStorage.setItem('earshot.token', 'expired.token.value')`, nil)
	b.run("reload", chromedp.Reload())
	b.wait("the expired notice", `text('#notice').includes('expired')`)
	b.wait("the sign-in form", `visible(document.querySelector('#username'))`)

	// Earshot becomes unreachable: the installed console still opens (the
	// service worker's copy of the shell) and says what is wrong.
	signedIn, _ := e.login("sara")
	b.eval(`sessionStorage.setItem('earshot.token', `+jsonString(signedIn)+`)`, nil)
	requests := b.Requests() // made while the server was there
	documented := documentedRoutes(t, e)
	b.goOffline()
	e.api.Listener.Close()
	e.api.CloseClientConnections()
	b.run("reload offline", chromedp.Reload())
	b.wait("the console's shell", `visible(document.querySelector('#main'))`)
	b.wait("the unreachable notice", `text('#notice').includes('Earshot is unreachable')`)
	b.wait("live updates stopped", `text('#connection').includes('Live updates stopped')`)
	b.shot("offline")

	// Only documented routes; no console error but the failures the test
	// provoked (a wrong password, an invalid number, an expired token).
	if len(requests) < 8 {
		t.Errorf("only %d distinct requests recorded: %v", len(requests), requests)
	}
	for _, r := range requests {
		if !documented(r) {
			t.Errorf("the console called an undocumented route: %s", r)
		}
	}
	b.checkConsole(map[string][]int{
		"/api/v1/auth/login":           {401},
		"/api/v1/supervising/settings": {422},
		"/api/v1/supervising/sessions": {401},
		"/api/v1/events":               {401},
		"/api/v1/me":                   {401},
	})
}

// documentedRoutes reads the OpenAPI document and returns a matcher for
// "METHOD /path" against its path templates.
func documentedRoutes(t *testing.T, e *e2e) func(string) bool {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	e.call("", "GET", "/api/v1/openapi.json", "", 200, &doc)
	type route struct {
		method string
		re     *regexp.Regexp
	}
	var routes []route
	param := regexp.MustCompile(`\\\{[^}]+\\\}`)
	for p, ops := range doc.Paths {
		re := regexp.MustCompile("^" + param.ReplaceAllString(regexp.QuoteMeta(p), `[^/]+`) + "$")
		for m := range ops {
			routes = append(routes, route{strings.ToUpper(m), re})
		}
	}
	return func(r string) bool {
		method, path, _ := strings.Cut(r, " ")
		for _, rt := range routes {
			if rt.method == method && rt.re.MatchString(path) {
				return true
			}
		}
		return false
	}
}
