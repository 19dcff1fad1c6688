package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// ReadyFunc reports whether a dependency is ready, and if not, why.
type ReadyFunc func() (bool, string)

// Server serves the HTTP API.
type Server struct {
	echo  *echo.Echo
	log   *slog.Logger
	ready map[string]ReadyFunc
}

// New returns a server; ready names each dependency /readyz checks.
func New(log *slog.Logger, ready map[string]ReadyFunc) *Server {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	s := &Server{echo: e, log: log, ready: ready}
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	return s
}

// Handler returns the server as an http.Handler (for tests).
func (s *Server) Handler() http.Handler { return s.echo }

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when every dependency is ready, else 503 naming why.
func (s *Server) readyz(c echo.Context) error {
	status, checks := http.StatusOK, map[string]string{}
	for name, f := range s.ready {
		ok, why := f()
		if ok {
			checks[name] = "ok"
			continue
		}
		status = http.StatusServiceUnavailable
		checks[name] = why
	}
	return c.JSON(status, map[string]any{"ready": status == http.StatusOK, "checks": checks})
}

// Serve listens on addr until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s.echo, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("http listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down http: %w", err)
	}
	return nil
}
