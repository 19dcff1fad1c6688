// Command earshot runs Earshot, call supervising for Asterisk: with no
// subcommand it serves (ARI application and HTTP API); subcommands do one
// job and exit.
//
//	earshot [flags]                          run the server
//	earshot [flags] config check             validate the configuration, print it (secrets hidden) and its warnings
//	earshot [flags] backup FILE              write a consistent copy of the store (also while earshot runs)
//	earshot [flags] directory import FILE    import a YAML directory file (idempotent)
//	earshot help                             the usage (also -h, and --help after a command)
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/ariapp"
	"github.com/earshot/earshot/directory"
	"github.com/earshot/earshot/httpapi"
	"github.com/earshot/earshot/metrics"
	"github.com/earshot/earshot/offers"
	"github.com/earshot/earshot/phone"
	"github.com/earshot/earshot/push"
	"github.com/earshot/earshot/push/fcm"
	"github.com/earshot/earshot/push/webpush"
	"github.com/earshot/earshot/store"
	"github.com/earshot/earshot/tlsfile"
	"github.com/earshot/earshot/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stdout, err)
			return
		}
		fmt.Fprintln(os.Stderr, "earshot:", err)
		os.Exit(1)
	}
}

// run is main without the process: it returns instead of exiting.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := LoadConfig(args, getenv)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return usageError{err}
	case err != nil && (helpAsked(args) || slices.Contains(args, "help")):
		// Help even when the configuration is broken: it may be why.
		return usageError{helpError{}}
	case err != nil:
		return err
	case helpAsked(cfg.Args):
		return usageError{helpError{}}
	}
	switch args := cfg.Args; {
	case len(args) == 0:
	case len(args) == 2 && args[0] == "config" && args[1] == "check":
		return configCheck(cfg, stdout)
	case len(args) == 2 && args[0] == "backup":
		return backup(ctx, cfg, args[1], stdout)
	case len(args) == 3 && args[0] == "directory" && args[1] == "import":
		return importDirectory(ctx, cfg, args[2], stdout)
	default:
		return fmt.Errorf("unknown subcommand %q (try: config check, backup FILE, directory import FILE)", strings.Join(args, " "))
	}
	if cfg.SupervisingNumber == "" {
		return errors.New("supervising-number: required to serve: the number supervisors call (e.g. +35891234599)")
	}
	log := newLogger(cfg, stderr)
	for _, w := range cfg.Warnings() {
		log.Warn("configuration: " + w)
	}
	m, err := NewMain(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Run(ctx)
}

// configCheck prints the settings one a line (secrets hidden), then the
// warnings, then the verdict; the output ends with a newline.
func configCheck(cfg *Config, w io.Writer) error {
	r := cfg.Redacted()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, name := range append([]string{"config"}, settingNames()...) {
		fmt.Fprintf(tw, "%s\t%s\n", name, r[name])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	warnings := cfg.Warnings()
	for _, msg := range warnings {
		fmt.Fprintln(w, "warning:", msg)
	}
	switch len(warnings) {
	case 0:
		_, err := fmt.Fprintln(w, "configuration ok")
		return err
	case 1:
		_, err := fmt.Fprintln(w, "configuration ok, 1 warning")
		return err
	default:
		_, err := fmt.Fprintf(w, "configuration ok, %d warnings\n", len(warnings))
		return err
	}
}

// commandsUsage follows the flags in the usage.
const commandsUsage = `
Commands:
  (none)                   run the server
  config check             validate the configuration and print it (secrets hidden)
  backup FILE              write a consistent copy of the store (also while earshot runs)
  directory import FILE    import a YAML directory file; a field set through the API
                           stays until the file changes that field
  help                     this text (also -h, and --help after a command)`

// usageError is the answer to a request for help: the flags' usage
// (helpError) and the commands. main prints it to stdout and exits 0.
type usageError struct{ flags error }

func (e usageError) Error() string {
	return strings.TrimRight(e.flags.Error(), "\n") + "\n" + commandsUsage
}
func (e usageError) Unwrap() error { return e.flags }

// helpAsked reports whether args ask for help: "help" first, or -h,
// -help or --help anywhere (after a command, where the flag package
// does not look).
func helpAsked(args []string) bool {
	if len(args) > 0 && args[0] == "help" {
		return true
	}
	return slices.ContainsFunc(args, func(a string) bool { return a == "-h" || a == "-help" || a == "--help" })
}

func newLogger(cfg *Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Main wires Earshot's parts from a configuration; nothing reads globals.
type Main struct {
	cfg    *Config
	log    *slog.Logger
	db     *store.DB
	offers *offers.Service
	// apps has one application per Asterisk node, the first node first;
	// app is the first (the only one of an Earshot of one node).
	apps    ariapp.Apps
	app     *ariapp.App
	http    *httpapi.Server
	push    *push.Notifier // nil with push off
	metrics *metrics.Metrics
}

// NewMain opens the store, imports the directory file (idempotent) and
// builds every part; it contacts nothing else. Close releases the store.
func NewMain(ctx context.Context, cfg *Config, log *slog.Logger) (*Main, error) {
	db, err := store.Open(cfg.DB)
	if err != nil {
		return nil, err
	}
	m := &Main{cfg: cfg, log: log, db: db}
	if err := m.build(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return m, nil
}

func (m *Main) build(ctx context.Context) error {
	cfg, log, db := m.cfg, m.log, m.db
	if cfg.Directory != "" {
		// Known hashes: an unchanged plain-text password is checked, not
		// hashed anew.
		f, err := directory.Load(cfg.Directory, cfg.DefaultRegion, directory.WithKnownHashes(db.KnownHashes))
		if err != nil {
			return fmt.Errorf("directory: %w", err)
		}
		res, err := db.ImportDirectory(ctx, f)
		if err != nil {
			return fmt.Errorf("import directory %s: %w", cfg.Directory, err)
		}
		log.Info("directory imported", "file", cfg.Directory, "result", res.String())
	}
	key, err := db.TokenKey(ctx)
	if err != nil {
		return err
	}
	// One tracker and one application per node; offers, the API, push
	// and metrics see them merged (ariapp.Calls, ariapp.Apps).
	nodes := cfg.Nodes()
	trackers := make(ariapp.Calls, len(nodes))
	numbers := map[string]string{}
	for i, n := range nodes {
		trackers[i] = ariapp.NewTracker(db, n.ARIApp, log.With("node", n.ID))
		numbers[n.ID] = n.SupervisingNumber
	}
	m.offers = offers.New(offers.Config{
		Directory: db, Calls: trackers, TTL: cfg.OfferTTL, Codes: cfg.OfferCodes, Log: log,
		SupervisorsOf: db.SupervisorsOf, Store: db,
		// No offer to a supervisor already on the call (m.apps is set
		// below, before anything runs).
		Busy:     func(sup string, call earshot.ServiceCall) bool { return m.apps.Busy(sup, call) },
		NumberOf: func(node string) string { return numbers[node] },
		// No offer for a call on a node that is down: its number could
		// not connect the supervisor.
		Reachable: func(node string) bool {
			a := m.apps.Node(node)
			if a == nil {
				return true
			}
			ok, _ := a.Ready()
			return ok
		},
	})
	if err := m.offers.Load(ctx); err != nil {
		return err
	}
	for i, n := range nodes {
		app, err := ariapp.New(ariapp.Config{
			URL: n.ARIBase(), User: n.ARIUser, Password: n.ARIPassword, App: n.ARIApp, Node: n.ID,
			Directory: db, Tracker: trackers[i], Offers: m.offers, Audit: db,
			DefaultRegion: cfg.DefaultRegion, Tone: cfg.AgentTone, DTMFKeys: cfg.DTMFKeys,
			DisableDTMF: !cfg.DTMFModes, Normalize: phone.Normalize, Log: log.With("node", n.ID),
		})
		if err != nil {
			return fmt.Errorf("node %s: %w", n.ID, err)
		}
		m.apps = append(m.apps, app)
	}
	m.app = m.apps[0]
	if m.push, err = m.buildPush(ctx); err != nil {
		return err
	}
	src := metrics.Sources{
		Calls:    func() int { return len(trackers.List()) },
		Sessions: func() []earshot.Session { return m.apps.Sessions("") },
		Offers:   m.offers.Stats, ARI: m.apps.Stats,
		ARIUp: func() bool { ok, _ := m.apps.Ready(); return ok },
		Nodes: m.nodeMetrics,
	}
	if m.push != nil {
		src.Push = m.push.Stats
	}
	m.metrics = metrics.New(src)
	// /metrics is on the API's address unless it has its own (metrics-addr).
	var apiMetrics http.Handler
	if cfg.MetricsAddr == "" {
		apiMetrics = m.metrics.Handler()
	}
	var notes httpapi.Notifications // nil with push off
	if m.push != nil {
		notes = m.push
	}
	var tlsConfig *tls.Config // nil: plain HTTP
	if cfg.TLSCert != "" {
		certs, err := tlsfile.New(cfg.TLSCert, cfg.TLSKey, log)
		if err != nil {
			return fmt.Errorf("tls-cert, tls-key: %w", err)
		}
		tlsConfig = certs.Config()
	}
	m.http, err = httpapi.New(httpapi.Config{
		Store: apiStore{db}, Calls: trackers, Offers: m.offers, Supervising: m.apps, Browsing: m.apps,
		SupervisingNumber: cfg.SupervisingNumber, DefaultRegion: cfg.DefaultRegion,
		TokenKey: key, TokenTTL: cfg.TokenTTL, AdminToken: cfg.AdminToken, Log: log,
		Ready: map[string]httpapi.ReadyFunc{"ari": m.ariReady, "store": db.Ready},
		// With several nodes, Earshot serves while any node is up (a
		// node's outage touches only its own calls); reads are stale
		// while any is down.
		Live: m.apps.AnyReady, Stale: m.apps.Ready, Nodes: m.nodesReady,
		Metrics: apiMetrics, MetricsAuth: cfg.MetricsAuth, Observe: m.metrics.ObserveAPI,
		Console: web.FS, WebPush: webPushAPI{db}, Notifications: notes, TLS: tlsConfig,
		TrustedProxies: cfg.TrustedProxies,
	})
	return err
}

// buildPush returns the notifier for the push setting: FCM, log lines,
// or nil for off.
func (m *Main) buildPush(ctx context.Context) (*push.Notifier, error) {
	cfg := m.cfg
	var sender push.Sender
	switch cfg.Push {
	case PushOff:
		return nil, nil
	case PushFCM:
		s, err := fcm.New(ctx, fcm.Config{
			CredentialsFile: cfg.FCMCredentials, ProjectID: cfg.FCMProject, Endpoint: cfg.FCMEndpoint,
		})
		if err != nil {
			return nil, fmt.Errorf("push: %w", err)
		}
		sender = s
	default:
		sender = push.LogSender{Log: m.log}
	}
	// Browsers' Web Push subscriptions get the same messages, beside FCM
	// (or the log), through the same queue and retries.
	web, err := webpush.New(webpush.Config{Store: webPushStore{m.db}, Subject: cfg.WebPushSubject})
	if err != nil {
		return nil, err
	}
	sender = push.PlatformSenders{"": sender, push.PlatformWeb: web}
	return push.New(push.Config{
		Sender: sender, Devices: allDevices{m.db}, Directory: m.db, SupervisingNumber: cfg.SupervisingNumber,
		Queue: cfg.PushQueue, Attempts: cfg.PushAttempts, Timeout: cfg.PushTimeout, Log: m.log,
	})
}

// Close releases the store.
func (m *Main) Close() error { return m.db.Close() }

// Run serves until ctx ends. Asterisk need not answer yet: until it
// does, the API serves what it can and /readyz says what Earshot waits
// for (waitForARI).
func (m *Main) Run(ctx context.Context) error {
	m.log.Info("earshot starting", "config", m.cfg)
	// One part failing (the HTTP port taken, wrong ARI credentials) stops
	// the others.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	errc := make(chan error, 5+2*len(m.apps))
	parts := 2
	for _, app := range m.apps {
		go func() { errc <- m.waitForARI(ctx, app) }()
		go func() { errc <- app.Run(ctx) }()
		parts += 2
	}
	if m.cfg.MetricsAddr != "" {
		go func() { errc <- serveMetrics(ctx, m.cfg.MetricsAddr, m.metrics.Handler(), m.log) }()
		parts++
	}
	if m.push != nil {
		// Subscribed here, so no event falls between start and Run.
		offs, sess := m.offers.Subscribe(ctx), m.apps.Subscribe(ctx)
		go func() { m.push.Run(ctx, offs, sess); errc <- nil }()
		parts++
	}
	go func() { m.offers.Run(ctx); errc <- nil }()
	go func() { errc <- m.http.Serve(ctx, m.cfg.HTTPAddr) }()
	var first error
	for range parts {
		if err := <-errc; err != nil && first == nil {
			first = err
			stop()
		}
	}
	m.log.Info("earshot stopped")
	return first
}

// pushDevices adapts the store to the notifier's view of devices.
type pushDevices struct{ db *store.DB }

func (d pushDevices) Devices(ctx context.Context, user string) ([]push.Device, error) {
	ds, err := d.db.Devices(ctx, user)
	if err != nil {
		return nil, err
	}
	out := make([]push.Device, len(ds))
	for i, x := range ds {
		out[i] = push.Device{Token: x.Token, Platform: x.Platform}
	}
	return out, nil
}

func (d pushDevices) DeleteDevice(ctx context.Context, token string) error {
	return d.db.DeleteDevice(ctx, token)
}

// apiStore adapts the store to the API's view of it.
type apiStore struct{ *store.DB }

func (s apiStore) PutDevice(ctx context.Context, token, user, platform string) error {
	return s.DB.PutDevice(ctx, store.Device{Token: token, User: user, Platform: platform})
}

func (s apiStore) ImportDirectory(ctx context.Context, f *directory.File) (string, error) {
	res, err := s.DB.ImportDirectory(ctx, f)
	if err != nil {
		return "", err
	}
	return res.String(), nil
}

func (s apiStore) AuditLog(ctx context.Context, org string, before uint64, limit int) ([]httpapi.AuditRecord, error) {
	recs, err := s.DB.Audit(ctx, store.AuditQuery{Org: org, Before: before, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]httpapi.AuditRecord, len(recs))
	for i, r := range recs {
		out[i] = httpapi.AuditRecord{Seq: r.Seq, AuditEntry: r.AuditEntry}
	}
	return out, nil
}
