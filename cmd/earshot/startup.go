package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/earshot/earshot/ariapp"
)

// Earshot starts whether or not Asterisk answers: after a reboot the two
// come up in any order, and a supervisor's app should get "not ready" and
// the last known state rather than a refused connection. The event stream
// reconnects by itself (ariapp); what start-up adds is telling the
// operator what Earshot waits for, and telling a wrong password apart
// from an Asterisk that is not there yet.

// ARI check backoff while waiting: quick at first (Asterisk is usually a
// few seconds behind), then at most every 10 s; the log repeats at most
// once a minute.
const (
	waitMin     = 250 * time.Millisecond
	waitMax     = 10 * time.Second
	waitLogEach = time.Minute
	waitTimeout = 5 * time.Second
)

// errARICredentials is a configuration error: waiting would not fix it.
var errARICredentials = errors.New("wrong ari-user or ari-password")

// waitForARI asks ARI who it is until it answers, then returns nil. An
// Asterisk that does not answer (refused, timed out, not serving ARI yet)
// is waited for with backoff, logged once a minute. A 401 means the
// credentials are wrong — a mistake in the configuration, not a state to
// wait out — so it returns an error, which stops Earshot (exit 1; under
// systemd, Restart= tries again and the journal says why). After the
// first answer, refusals are outages like any other: the stream keeps
// reconnecting and /readyz says why.
//
// With several nodes each node is waited for on its own: one node that
// does not answer holds up none of the others.
func (m *Main) waitForARI(ctx context.Context, app *ariapp.App) error {
	n := m.node(app.Node())
	url := redactURL(n.ARIBase())
	start, lastLog := time.Now(), time.Time{}
	delay := waitMin
	for attempt := 1; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, waitTimeout)
		_, err := app.Client().Info(cctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil:
			if attempt > 1 {
				m.log.Info("ari answers; no longer waiting for Asterisk", "node", n.ID, "url", url, "waited", time.Since(start).Round(time.Millisecond))
			}
			return nil
		case ariapp.IsUnauthorized(err):
			return fmt.Errorf("%sari at %s rejected user %q: %w (see ari.conf)", m.nodePrefix(n.ID), url, n.ARIUser, errARICredentials)
		}
		wait := delay/2 + rand.N(delay/2+1) // jitter: many Earshots, one Asterisk
		if time.Since(lastLog) >= waitLogEach {
			m.log.Warn("waiting for Asterisk: ari does not answer; serving the API meanwhile (/readyz not ready), retrying",
				"node", n.ID, "url", url, "error", err, "attempt", attempt, "retry_in", wait.Round(time.Millisecond))
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		delay = min(delay*2, waitMax)
	}
}

// ariReady is /readyz's ari check: the event stream's state, and until
// it first connects, that Earshot is waiting for Asterisk and where.
//
// With several nodes it is ok while any node is connected (each node's
// state is in nodesReady): a node's outage touches only its own calls.
func (m *Main) ariReady() (bool, string) {
	var down []string
	for _, app := range m.apps {
		ok, why := m.appReady(app)
		if ok {
			return true, ""
		}
		down = append(down, m.nodePrefix(app.Node())+why)
	}
	return false, strings.Join(down, "; ")
}

// serveMetrics serves /metrics alone on addr (metrics-addr) until ctx
// ends. It asks for no credentials: the address is meant for a loopback
// or management network that Prometheus scrapes, apart from the API.
func serveMetrics(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics-addr: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{
		Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("metrics listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("serve metrics: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down metrics: %w", err)
	}
	return nil
}
