package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// browser is Debian's Chromium driven over the DevTools protocol
// (chromedp): no Node, no downloaded browser. It records every request
// the page makes to the server under test and every error the browser
// console shows.
type browser struct {
	t     *testing.T
	ctx   context.Context // the page's
	base  *url.URL
	shots string

	mu       sync.Mutex
	requests map[string]bool // "METHOD /path"
	errors   []consoleError
	swRegs   map[string]serviceworker.RegistrationID // scope URL → the service worker registration
	// offline is set once the test takes the server away: the browser's
	// own messages about failed loads are then expected.
	offline bool
	// wsIn is told every binary WebSocket message the page receives, and
	// wsSent counts those it sends (the media link of Listen here).
	wsIn   func(at time.Time, b []byte)
	wsSent int
}

// consoleError is one error line of the browser console; for a failed
// request, the URL's path and the status.
type consoleError struct {
	text, path string
	status     int
}

// chromiumPath finds Debian's Chromium (CHROMIUM overrides).
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts a headless Chromium with an empty profile and opens a
// page; everything ends with the test.
func newBrowser(t *testing.T, base, shots string, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("EARSHOT_BROWSER_REQUIRED") == "1" {
			t.Fatal("browser test: chromium is missing (scripts/test.sh installs it with apt)")
		}
		t.Skip("browser test skipped: no chromium (apt-get install chromium, or run scripts/test.sh)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800),
	}
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, base: u, shots: shots, requests: map[string]bool{}, swRegs: map[string]serviceworker.RegistrationID{}}
	b.wsIn = func(time.Time, []byte) {}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(b.listen))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b.ctx = ctx
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, t, log.Enable, cdp.Empty{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, serviceworker.Enable, cdp.Empty{})
		return err
	}), chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return b
}

var statusOf = regexp.MustCompile(`status of ([0-9]{3})`)

func (b *browser) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *serviceworker.EventWorkerRegistrationUpdated:
		for _, r := range ev.Registrations {
			if !r.IsDeleted {
				b.swRegs[r.ScopeURL] = r.RegistrationID
			}
		}
	case *network.EventWebSocketFrameReceived:
		if ev.Response != nil && ev.Response.Opcode == 2 {
			b.wsIn(time.Now(), ev.Response.PayloadData) // decoded from base64 by cdproto
		}
	case *network.EventWebSocketFrameSent:
		if ev.Response != nil && ev.Response.Opcode == 2 {
			b.wsSent++
		}
	case *network.EventRequestWillBeSent:
		if u, err := url.Parse(ev.Request.URL); err == nil && u.Host == b.base.Host {
			b.requests[ev.Request.Method+" "+u.Path] = true
		}
	case *log.EventEntryAdded:
		if ev.Entry.Level != log.EntryLevelError || b.offline {
			return
		}
		e := consoleError{text: fmt.Sprintf("%s: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)}
		if u, err := url.Parse(ev.Entry.URL); err == nil {
			e.path = u.Path
		}
		if m := statusOf.FindStringSubmatch(ev.Entry.Text); m != nil {
			fmt.Sscan(m[1], &e.status)
		}
		b.errors = append(b.errors, e)
	case *runtime.EventExceptionThrown:
		b.errors = append(b.errors, consoleError{text: "exception: " + exceptionText(ev.ExceptionDetails)})
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			b.errors = append(b.errors, consoleError{text: "console.error: " + strings.Join(parts, " ")})
		}
	}
}

// run runs actions on the page, failing the test on an error.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail("%s: %v", what, err)
	}
}

// fail saves a screenshot of the page as it is, then fails the test.
func (b *browser) fail(format string, args ...any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		os.WriteFile(filepath.Join(b.t.TempDir(), "failure.png"), png, 0o644)
		if dir := os.Getenv("EARSHOT_SCREENSHOTS"); dir != "" {
			os.WriteFile(filepath.Join(dir, "console-failure.png"), png, 0o644)
		}
	}
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	b.t.Fatalf(format+"\npage text:\n%s", append(args, text)...)
}

// jsPrelude gives expressions helpers to find elements as a person (or a
// screen reader) would: by role and accessible name.
const jsPrelude = `
const accName = (el) => (el.getAttribute('aria-label') || el.textContent || '').replace(/\s+/g, ' ').trim();
const visible = (el) => !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
const all = (sel, scope) => [...(typeof scope === 'string' ? document.querySelector(scope) || document : scope || document).querySelectorAll(sel)];
const byName = (sel, name, scope) => all(sel, scope).filter((el) => visible(el) && (name instanceof RegExp ? name.test(accName(el)) : accName(el) === name));
const button = (name, scope) => byName('button', name, scope)[0];
const link = (name, scope) => byName('a', name, scope)[0];
const heading = (name) => byName('h1', name)[0];
const text = (sel) => { const el = document.querySelector(sel); return el && visible(el) ? el.innerText : ''; };
`

// eval evaluates expr (with the prelude's helpers; a promise is awaited)
// and decodes its value into out.
func (b *browser) eval(expr string, out any) error {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[any]("(async () => {"+jsPrelude+"return ("+expr+");})()",
		chromedp.EvalAwaitPromise))
	if err != nil || out == nil {
		return err
	}
	j, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(j, out)
}

// wait polls expr (awaited, so it may be a promise) until it is true
// (10 s at most).
func (b *browser) wait(what, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ok bool
		err := b.eval("!!(await ("+expr+"))", &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			b.fail("waiting for %s: %s (%v)", what, expr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var clickSeq int

// click clicks, with the mouse, the element expr finds (waiting for it).
// A live page may redraw between finding and clicking: then it finds the
// element again.
func (b *browser) click(what, expr string) {
	b.t.Helper()
	for attempt := 1; ; attempt++ {
		clickSeq++
		id := fmt.Sprint(clickSeq)
		b.wait(what, fmt.Sprintf(`(() => { const el = %s; if (el && !el.disabled) el.dataset.click = %q; return el && !el.disabled; })()`, expr, id))
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-click="%s"]`, id)), chromedp.NodeVisible))
		cancel()
		if err == nil {
			return
		}
		if attempt == 3 {
			b.fail("click %s: %v", what, err)
		}
	}
}

// fill types text into the input sel, replacing what it held.
func (b *browser) fill(sel, text string) {
	b.t.Helper()
	if err := b.eval(`document.querySelector(`+jsonString(sel)+`).value = ''`, nil); err != nil {
		b.fail("clear %s: %v", sel, err)
	}
	b.run("fill "+sel, chromedp.SendKeys(chromedp.CSS(sel), text))
}

// shot saves the page at phone and desktop width as
// console-<name>-phone.png and console-<name>-desktop.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	for _, size := range []struct {
		label string
		w, h  int64
	}{{"phone", 390, 844}, {"desktop", 1280, 800}} {
		b.run("screenshot "+name, chromedp.EmulateViewport(size.w, size.h), chromedp.Sleep(150*time.Millisecond))
		ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		if err != nil {
			b.fail("screenshot %s: %v", name, err)
		}
		file := filepath.Join(b.shots, fmt.Sprintf("console-%s-%s.png", name, size.label))
		if err := os.WriteFile(file, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
		b.t.Logf("screenshot %s", file)
	}
}

// goOffline marks the server as gone from here on (see offline).
func (b *browser) goOffline() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.offline = true
}

// Requests returns the distinct requests made so far, sorted.
func (b *browser) Requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for r := range b.requests {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// checkConsole fails the test for every browser-console error except the
// failed requests the test provoked on purpose (expected: path → status).
func (b *browser) checkConsole(expected map[string][]int) {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		ok := false
		for _, st := range expected[e.path] {
			ok = ok || (e.status == st && st != 0)
		}
		if !ok {
			b.t.Errorf("browser console error: %s", e.text)
		}
	}
}

// jsonString quotes s for a JavaScript expression.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return ""
	}
	if d.Exception != nil && d.Exception.Description != "" {
		return d.Exception.Description
	}
	return fmt.Sprintf("%s at %s:%d", d.Text, d.URL, d.LineNumber)
}

// grantNotifications answers the page's notification permission prompt
// with yes, as a user would, through the DevTools protocol.
func (b *browser) grantNotifications() {
	b.t.Helper()
	_, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
		Permission: &cdpbrowser.PermissionDescriptor{Name: "notifications"},
		Setting:    cdpbrowser.PermissionSettingGranted,
		Origin:     b.base.Scheme + "://" + b.base.Host,
	})
	if err != nil {
		b.t.Fatalf("grant notifications: %v", err)
	}
}

// deliverPush hands the service worker a push message, as the push
// service would (ServiceWorker.deliverPushMessage: no push service needed).
func (b *browser) deliverPush(data string) {
	b.t.Helper()
	b.mu.Lock()
	id, ok := b.swRegs[b.base.String()+"/"]
	b.mu.Unlock()
	if !ok {
		b.t.Fatalf("no service worker registration for %s/ (have %v)", b.base, b.swRegs)
	}
	_, err := chromedp.Call(b.ctx, serviceworker.DeliverPushMessage, serviceworker.DeliverPushMessageParams{
		Origin: b.base.Scheme + "://" + b.base.Host, RegistrationID: id, Data: data,
	})
	if err != nil {
		b.t.Fatalf("deliver push: %v", err)
	}
}

// inServiceWorker evaluates expr in the console's service worker (a
// promise is awaited) and decodes its value into out.
func (b *browser) inServiceWorker(expr string, out any) {
	b.t.Helper()
	// An idle worker stops; a message from the page starts it again.
	b.eval(`navigator.serviceWorker.ready.then((r) => { r.active.postMessage({ type: 'wake' }); return true; })`, nil)
	var targets []*target.Info
	var seen []string
	for deadline := time.Now().Add(5 * time.Second); ; {
		var err error
		if targets, err = chromedp.Targets(b.ctx); err != nil {
			b.t.Fatal(err)
		}
		seen = seen[:0]
		found := false
		for _, tg := range targets {
			seen = append(seen, tg.Type+" "+tg.URL)
			found = found || tg.Type == "service_worker"
		}
		if found || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, tg := range targets {
		if tg.Type != "service_worker" || !strings.HasPrefix(tg.URL, b.base.String()+"/console/sw.js") {
			continue
		}
		// Detach, not close, afterwards: closing the target would stop
		// the worker before what the expression started is done.
		ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(tg.TargetID), chromedp.WithDetachOnCancel())
		defer cancel()
		tctx, tcancel := context.WithTimeout(ctx, 10*time.Second)
		defer tcancel()
		v, err := chromedp.Run(tctx, chromedp.Evaluate[any]("(async () => ("+expr+"))()", chromedp.EvalAwaitPromise))
		if err != nil {
			b.fail("in the service worker: %s: %v", expr, err)
		}
		if out != nil {
			j, _ := json.Marshal(v)
			if err := json.Unmarshal(j, out); err != nil {
				b.t.Fatal(err)
			}
		}
		return
	}
	b.fail("no service worker target for %s among %q", b.base, seen)
}
