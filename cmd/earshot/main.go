// Command earshot runs Earshot, call supervising for Asterisk: with no
// subcommand it serves (ARI application and HTTP API); subcommands do one
// job and exit.
//
//	earshot [flags]               run the server
//	earshot [flags] config check  validate the configuration and print it (secrets hidden)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/ariapp"
	"github.com/earshot/earshot/directory"
	"github.com/earshot/earshot/httpapi"
	"github.com/earshot/earshot/offers"
	"github.com/earshot/earshot/phone"
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
	if err != nil {
		return err
	}
	switch strings.Join(cfg.Args, " ") {
	case "":
	case "config check":
		fmt.Fprint(stdout, cfg.String())
		fmt.Fprintln(stdout, "configuration ok")
		return nil
	default:
		return fmt.Errorf("unknown subcommand %q (try: config check)", strings.Join(cfg.Args, " "))
	}
	m, err := NewMain(cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	return m.Run(ctx)
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
	dir    *directory.Memory
	offers *offers.Service
	app    *ariapp.App
	http   *httpapi.Server
}

// NewMain builds every part; it contacts nothing.
func NewMain(cfg *Config, log *slog.Logger) (*Main, error) {
	f := &directory.File{}
	if cfg.Directory != "" {
		var err error
		if f, err = directory.Load(cfg.Directory, cfg.DefaultRegion); err != nil {
			return nil, fmt.Errorf("directory: %w", err)
		}
	} else {
		log.Warn("no directory file (--directory): nobody can supervise")
	}
	m := &Main{cfg: cfg, log: log, dir: directory.NewMemory(f)}
	tracker := ariapp.NewTracker(m.dir, cfg.ARIApp, log)
	m.offers = offers.New(offers.Config{
		Directory: m.dir, Calls: tracker, TTL: cfg.OfferTTL, Codes: cfg.OfferCodes, Log: log,
	})
	app, err := ariapp.New(ariapp.Config{
		URL: cfg.ARIBase(), User: cfg.ARIUser, Password: cfg.ARIPassword, App: cfg.ARIApp,
		Directory: m.dir, Tracker: tracker, Offers: m.offers, Audit: logAudit{log},
		DefaultRegion: cfg.DefaultRegion, Tone: cfg.AgentTone, DTMFKeys: cfg.DTMFKeys,
		DisableDTMF: !cfg.DTMFModes, Normalize: phone.Normalize, Log: log,
	})
	if err != nil {
		return nil, err
	}
	m.app = app
	m.http = httpapi.New(log, map[string]httpapi.ReadyFunc{"ari": app.Ready})
	return m, nil
}

// Run checks that ARI answers, then serves until ctx ends.
func (m *Main) Run(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err := m.app.Check(cctx)
	cancel()
	if err != nil {
		return err
	}
	m.log.Info("earshot starting", "config", m.cfg)
	// One part failing (the HTTP port taken, say) stops the others.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	errc := make(chan error, 3)
	go func() { errc <- m.app.Run(ctx) }()
	go func() { m.offers.Run(ctx); errc <- nil }()
	go func() { errc <- m.http.Serve(ctx, m.cfg.HTTPAddr) }()
	var first error
	for range 3 {
		if err := <-errc; err != nil && first == nil {
			first = err
			stop()
		}
	}
	m.log.Info("earshot stopped")
	return first
}

// logAudit writes the audit trail to the log until the store keeps it.
type logAudit struct{ log *slog.Logger }

func (l logAudit) Record(_ context.Context, e earshot.AuditEntry) error {
	l.log.Info("audit", "kind", e.Kind, "session", e.Session, "supervisor", e.Supervisor,
		"agent", e.Agent, "call", e.CallID, "caller", e.Caller, "mode", e.Mode, "reason", e.Reason)
	return nil
}
