package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/directory"
	"github.com/earshot/earshot/phone"
	"github.com/earshot/earshot/push"
)

// Store is what the API needs of Earshot's store (the methods exist on
// store.DB, but for AuditLog and ImportDirectory, whose results the caller
// adapts). It is declared here, by its consumer, so tests can hand in a
// small fake.
type Store interface {
	earshot.Directory
	// Users lists an organization's users, sorted by id.
	Users(org string) ([]earshot.User, error)
	// PoolsOf lists an organization's pools, sorted by id.
	PoolsOf(org string) ([]earshot.Pool, error)
	// SetPhoneNumber sets a user's own number (R9), E.164; "" clears it.
	// Returns ECONFLICT when another user has the number.
	SetPhoneNumber(ctx context.Context, userID, e164 string) error
	// SetFeature switches an organization's feature on or off (R1).
	// Returns ErrOrgNotFound.
	SetFeature(ctx context.Context, org, feature string, on bool) error
	// Supervise adds agent to supervisor's list (R8); idempotent.
	Supervise(ctx context.Context, supervisor, agent string) error
	// Unsupervise removes agent from supervisor's list; idempotent.
	Unsupervise(ctx context.Context, supervisor, agent string) error
	// SupervisedBy returns supervisor's list of agents (R8).
	SupervisedBy(ctx context.Context, supervisor string) ([]string, error)
	// PutDevice registers a push token for a user, replacing any owner
	// the token had before.
	PutDevice(ctx context.Context, token, user, platform string) error
	// DeleteDeviceOf forgets a push token if user owns it; a token that is
	// unknown or another user's is left alone (idempotent, revealing nothing).
	DeleteDeviceOf(ctx context.Context, user, token string) error
	// AuditLog returns up to limit entries of org ("" for every
	// organization) with a sequence number below before (0 for the
	// newest), newest first.
	AuditLog(ctx context.Context, org string, before uint64, limit int) ([]AuditRecord, error)
	// PutUser creates or replaces a user (operator). An empty PhoneNumber
	// or PasswordHash keeps the stored one. Returns ErrOrgNotFound,
	// EINVALID for a value the store cannot hold, and ECONFLICT when
	// another user has the phone number or the endpoint.
	PutUser(ctx context.Context, u earshot.User) error
	// PutPool creates or replaces a service pool (operator). Returns
	// ErrOrgNotFound, and EINVALID for a value the store cannot hold or a
	// member who does not exist or is in another organization.
	PutPool(ctx context.Context, p earshot.Pool) error
	// DeleteUser removes a user and everything that refers to them (pool
	// memberships, supervised lists, devices). Returns ErrUserNotFound.
	DeleteUser(ctx context.Context, id string) error
	// DeletePool removes a service pool. Returns ErrPoolNotFound.
	DeletePool(ctx context.Context, id string) error
	// ImportDirectory upserts a parsed directory file in one transaction
	// and sums up what it did, for people. Returns EINVALID for an entry
	// the store cannot hold and ECONFLICT when two users would share a
	// phone number or an endpoint; on any error nothing is written.
	ImportDirectory(ctx context.Context, f *directory.File) (summary string, err error)
	// Backup writes a consistent copy of the database to w while the
	// store stays in use, and returns the number of bytes written.
	Backup(w io.Writer) (int64, error)
	// TokenState returns the user's sign-in token version (0 for a user
	// who never had one, or no such user) and whether the token with id
	// jti was signed out; jti "" is never. PutUser, ImportDirectory and
	// DeleteUser bump the version when a password, the supervisor role,
	// the pool scope or the organization changes, or the user goes.
	TokenState(ctx context.Context, user, jti string) (version uint64, revoked bool, err error)
	// RevokeToken signs the token jti of user out until expires; past a
	// bound of sign-outs per user it bumps the version instead.
	RevokeToken(ctx context.Context, user, jti string, expires time.Time) error
}

// AuditRecord is an audit entry with its place in the log, so a client can
// page backwards with before=<seq>.
type AuditRecord struct {
	Seq uint64 `json:"seq"`
	earshot.AuditEntry
}

// Offers is what the API needs of the offer service: making offers (R7),
// their events, and the offers still valid for a supervisor.
type Offers interface {
	earshot.Offers
	// Live lists the supervisor's offers that are still valid.
	Live(supervisor string) []earshot.Offer
}

// ReadyFunc reports whether a dependency is ready, and if not, why.
type ReadyFunc func() (bool, string)

// Config is everything the API depends on; New checks it.
type Config struct {
	Store       Store               // required
	Calls       earshot.Calls       // required
	Offers      Offers              // required
	Supervising earshot.Supervising // required
	// Browsing, when set, supervises from the browser (Listen here and
	// the media link); without it those routes refuse.
	Browsing earshot.Browsing
	// SupervisingNumber is the E.164 number offers tell supervisors to
	// call (required).
	SupervisingNumber string
	// DefaultRegion is the ISO country for numbers written without a
	// country code (e.g. "FI"); "" requires a country code.
	DefaultRegion string
	// TokenKey signs sign-in tokens with HMAC-SHA256; at least 32 bytes.
	TokenKey []byte
	// TokenTTL is how long a sign-in token lasts; default DefaultTokenTTL.
	TokenTTL time.Duration
	// AdminToken is the operator credential; "" disables the operator
	// routes (they answer 404).
	AdminToken string
	// PasswordCost is the bcrypt cost of the passwords the operator sets
	// or imports; default bcrypt.DefaultCost. Tests lower it to
	// bcrypt.MinCost, since the default takes tens of milliseconds a hash.
	PasswordCost int
	// Ready names each dependency /readyz checks.
	Ready map[string]ReadyFunc
	// Log receives request and error logs; default discards.
	Log *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// HeaderTimeout is how long a client may take to send a request's
	// header; default 10 s. Past it the connection is closed.
	HeaderTimeout time.Duration
	// BodyTimeout is how long a client may take to send a request body;
	// default DefaultBodyTimeout. A body that does not arrive in time is
	// answered 408.
	BodyTimeout time.Duration
	// Heartbeat is the interval of the comment lines that keep an event
	// stream open through proxies; default 15 s.
	Heartbeat time.Duration
	// Live reports whether live call state is current (ARI connected);
	// while not, reads are marked stale and actions that need Asterisk
	// answer 503. Nil: always current.
	Live ReadyFunc
	// Stale, when set, decides the stale marks instead of Live: with
	// several Asterisk nodes, reads are stale while any node is
	// unreachable (what it had is the last known state), while actions
	// answer 503 only when none is (Live); an action on a down node's
	// call or session answers 503 by itself.
	Stale ReadyFunc
	// Nodes, when set, reports each Asterisk node's state by node id
	// ("ok" or why not) on /readyz, beside the checks.
	Nodes func() map[string]string
	// Console, when set, is the web console's files (index.html at /,
	// the rest under /console/).
	Console fs.FS
	// Notifications, when set, are the push notifications as they are
	// made; each stream sends its caller's as "notification" events, so
	// the console shows them live in the server's words.
	Notifications Notifications
	// WebPush, when set, serves the Web Push subscription and VAPID
	// routes (webpush.go).
	WebPush WebPushStore
	// Metrics, when set, is served at GET /metrics (Prometheus).
	Metrics http.Handler
	// MetricsAuth makes /metrics ask for the admin token, as the operator
	// routes do (404 without one configured): the figures tell who is
	// busy and how the server behaves, which is the operator's business.
	MetricsAuth bool
	// TLS, when set, makes Serve serve HTTPS with it (a certificate
	// reloaded from files: package tlsfile).
	TLS *tls.Config
	// TrustedProxies are the reverse proxies in front of the server. A
	// request from one of them is taken to come from the address it puts
	// in X-Forwarded-For (the right-most one that is not itself a trusted
	// proxy), so sign-in limits count each client rather than the proxy.
	// Empty: the TCP peer is the client and the header is ignored.
	TrustedProxies []*net.IPNet
	// Observe, when set, is told each request's route pattern, status and
	// duration (event streams excluded: they last as long as the client).
	Observe func(method, route string, status int, d time.Duration)
}

// DefaultBodyTimeout is how long a request body may take to arrive: a
// directory file of 8 MiB over a slow link, with room to spare.
const DefaultBodyTimeout = 30 * time.Second

// DefaultTokenTTL is how long a sign-in token lasts unless configured: a
// working day, so a lost phone's token dies overnight.
const DefaultTokenTTL = 8 * time.Hour

// Password checks at once: as many as there are cores (at least two); up
// to passwordWaiters more wait at most passwordWait for a slot, the rest
// are answered 503 with Retry-After.
const (
	passwordWaiters = 32
	passwordWait    = 2 * time.Second
)

// Server serves the health probes and the mobile-app API (docs/design.md §4.4).
type Server struct {
	echo *echo.Echo
	cfg  Config
	log  *slog.Logger

	logins        *limiter        // sign-in attempts (loginLimits)
	operatorFails *limiter        // wrong admin tokens per address
	checks        *gate           // password checks running at once
	dummyHash     string          // checked for unknown users (newDummyHash)
	checkFloor    time.Duration   // the least a password check takes (checkFloor)
	verified      atomic.Uint64   // password checks done, for tests
	tokens        *verifiedTokens // sign-in tokens already checked (tokens.go)
	streamSet     *streamSet

	// streams ends open event streams at shutdown; http.Server.Shutdown
	// waits for idle connections, and a stream never is.
	streams    context.Context
	endStreams context.CancelFunc
}

// New checks cfg, fills in defaults and returns a server with every route.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Store == nil, cfg.Calls == nil, cfg.Offers == nil, cfg.Supervising == nil:
		return nil, errors.New("httpapi: Store, Calls, Offers and Supervising are required")
	case len(cfg.TokenKey) < 32:
		return nil, errors.New("httpapi: TokenKey must be at least 32 bytes")
	case !phone.IsE164(cfg.SupervisingNumber):
		return nil, fmt.Errorf("httpapi: supervising number %q is not E.164", cfg.SupervisingNumber)
	case cfg.DefaultRegion != "" && !phone.KnownRegion(cfg.DefaultRegion):
		return nil, fmt.Errorf("httpapi: default region %q is not a known region", cfg.DefaultRegion)
	case cfg.PasswordCost != 0 && (cfg.PasswordCost < bcrypt.MinCost || cfg.PasswordCost > bcrypt.MaxCost):
		return nil, fmt.Errorf("httpapi: password cost %d is outside %d..%d", cfg.PasswordCost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	if cfg.PasswordCost == 0 {
		cfg.PasswordCost = bcrypt.DefaultCost
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HeaderTimeout <= 0 {
		cfg.HeaderTimeout = 10 * time.Second
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.IPExtractor = clientAddress(cfg.TrustedProxies)
	dummy, err := newDummyHash(cfg.PasswordCost)
	if err != nil {
		return nil, err
	}
	s := &Server{
		echo: e, cfg: cfg, log: cfg.Log,
		logins: newLimiter(loginWindow), operatorFails: newLimiter(loginWindow),
		checks:    newGate(max(2, runtime.GOMAXPROCS(0)), passwordWaiters, passwordWait),
		dummyHash: dummy, checkFloor: checkFloor(dummy), streamSet: newStreamSet(maxStreamsPerUser),
		tokens: newVerifiedTokens(cfg.TokenKey, cfg.Now),
	}
	s.streams, s.endStreams = context.WithCancel(context.Background())
	e.HTTPErrorHandler = s.handleError
	e.Use(withRequestID, s.accessLog, s.recoverPanic, s.limitBody)
	s.routes()
	return s, nil
}

// routes registers every route. Middleware is passed per route rather than
// per group: Echo gives a group with middleware a catch-all 404 route,
// which would turn wrong-method 405s into 404s.
func (s *Server) routes() {
	e := s.echo
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	if s.cfg.Metrics != nil {
		var mw []echo.MiddlewareFunc
		if s.cfg.MetricsAuth {
			mw = append(mw, s.operator)
		}
		e.GET("/metrics", echo.WrapHandler(s.cfg.Metrics), mw...)
	}
	if s.cfg.Console != nil {
		e.GET("/", s.consoleIndex)
		e.GET("/console/*", s.consoleAsset)
	}

	v1 := e.Group("/api/v1")
	v1.GET("/openapi.json", s.openAPI)
	v1.POST("/auth/login", s.login)
	v1.POST("/auth/logout", s.logout, s.authenticate)

	signedIn := s.authenticate
	sup := []echo.MiddlewareFunc{s.authenticate, s.requireSupervising}
	live := []echo.MiddlewareFunc{s.authenticate, s.requireSupervising, s.requireLive}
	v1.GET("/me", s.me, signedIn)
	v1.PUT("/devices/:token", s.putDevice, signedIn)
	v1.DELETE("/devices/:token", s.deleteDevice, signedIn)

	v1.GET("/pools", s.listPools, sup...)
	v1.GET("/pools/:pool/users", s.poolUsers, sup...)
	v1.GET("/users/:user", s.getUser, sup...)
	v1.POST("/users/:user/listen", s.listen, live...)
	v1.POST("/users/:user/listen-here", s.listenHere, live...)
	v1.GET("/supervising/users", s.listSupervised, sup...)
	v1.PUT("/supervising/users/:user", s.supervise, sup...)
	v1.DELETE("/supervising/users/:user", s.unsupervise, sup...)
	v1.GET("/supervising/settings", s.getSettings, sup...)
	v1.PUT("/supervising/settings", s.putSettings, sup...)
	v1.GET("/supervising/sessions", s.listSessions, sup...)
	v1.PUT("/supervising/sessions/:id/mode", s.setMode, live...)
	v1.DELETE("/supervising/sessions/:id", s.hangup, live...)
	v1.GET("/supervising/sessions/:id/media", s.sessionMedia, mediaToken, s.authenticate, s.requireSupervising, s.requireLive)
	v1.GET("/events", s.events, sup...)
	v1.GET("/webpush/key", s.webPushKey, sup...)
	v1.POST("/webpush/subscriptions", s.putWebPushSubscription, sup...)
	v1.DELETE("/webpush/subscriptions/:subscription", s.deleteWebPushSubscription, sup...)
	v1.GET("/admin/webpush/vapid", s.adminVAPID, s.operator)
	v1.POST("/admin/webpush/vapid/rotate", s.rotateVAPID, s.operator)

	v1.PUT("/admin/orgs/:org/features/supervising", s.enableSupervising, s.operator)
	v1.DELETE("/admin/orgs/:org/features/supervising", s.disableSupervising, s.operator)
	v1.PUT("/admin/orgs/:org/features/browser_supervising", s.allowBrowser, s.operator)
	v1.DELETE("/admin/orgs/:org/features/browser_supervising", s.forbidBrowser, s.operator)
	v1.GET("/admin/audit", s.audit, s.operator)
	v1.GET("/admin/users", s.adminUsers, s.operator)
	v1.PUT("/admin/users/:user", s.putUser, s.operator)
	v1.DELETE("/admin/users/:user", s.deleteUser, s.operator)
	v1.GET("/admin/pools", s.adminPools, s.operator)
	v1.PUT("/admin/pools/:pool", s.putPool, s.operator)
	v1.DELETE("/admin/pools/:pool", s.deletePool, s.operator)
	v1.POST("/admin/directory", s.importDirectory, s.operator)
	v1.GET("/admin/backup", s.backup, s.operator)
}

// Handler returns the server as an http.Handler (for tests).
func (s *Server) Handler() http.Handler { return s.echo }

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when every dependency is ready, else 503 naming why.
func (s *Server) readyz(c echo.Context) error {
	status, checks := http.StatusOK, map[string]string{}
	for name, f := range s.cfg.Ready {
		ok, why := f()
		if ok {
			checks[name] = "ok"
			continue
		}
		status = http.StatusServiceUnavailable
		checks[name] = why
	}
	body := map[string]any{"ready": status == http.StatusOK, "checks": checks}
	if s.cfg.Nodes != nil {
		body["nodes"] = s.cfg.Nodes()
	}
	return c.JSON(status, body)
}

// accessLog logs one line per request with its request id, so a problem's
// request_id leads to the log.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			// Let the error handler write the response now, so the
			// status logged is the one the client gets.
			c.Error(err)
		}
		d := time.Since(start)
		s.log.Debug("http request", "request_id", requestID(c), "method", c.Request().Method,
			"path", logPath(c.Request()), "status", c.Response().Status, "duration", d)
		if route := c.Path(); s.cfg.Observe != nil && route != "/api/v1/events" {
			if route == "" {
				route = "unmatched"
			}
			s.cfg.Observe(c.Request().Method, route, c.Response().Status, d)
		}
		return nil
	}
}

// logPath is a request's path as logs show it: the push token of
// /api/v1/devices/{token} is shortened to its last characters
// (push.TokenTail), as everywhere in the logs.
func logPath(req *http.Request) string {
	const devices = "/api/v1/devices/"
	if tok, ok := strings.CutPrefix(req.URL.Path, devices); ok && tok != "" {
		return devices + push.TokenTail(tok)
	}
	return req.URL.Path
}

// httpServer is the server Serve runs. Headers must arrive within
// cfg.HeaderTimeout and a body within cfg.BodyTimeout (limitBody sets
// that per request); an idle connection closes after two minutes. No
// ReadTimeout or WriteTimeout: they would cut /api/v1/events, which
// streams for as long as the client stays (heartbeats find dead
// connections), and a backup, which takes as long as the database does.
func (s *Server) httpServer() *http.Server {
	return &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: s.cfg.HeaderTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}

// maxHeaderBytes bounds a request's header (net/http answers 431 past
// it); a device route's path holds a push token of up to 4 KiB, escaped.
const maxHeaderBytes = 64 << 10

// Serve listens on addr until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	scheme := "http"
	if s.cfg.TLS != nil {
		ln, scheme = tls.NewListener(ln, s.cfg.TLS), "https"
	}
	srv := s.httpServer()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("http listening", "addr", ln.Addr().String(), "scheme", scheme)
	select {
	case err := <-errc:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	s.endStreams()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down http: %w", err)
	}
	return nil
}
