package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/directory"
)

const (
	tokenIssuer     = "earshot"
	bearerChallenge = `Bearer realm="earshot"`
	invalidToken    = `Bearer realm="earshot", error="invalid_token"`
	principalKey    = "earshot.principal"
)

// claims is the sign-in token. Features and roles are those at sign-in:
// R1 gives a supervisor a newly enabled feature only after signing in
// again, so the token, not the directory, grants it. Ver is the user's
// token version at sign-in (the store bumps it when a password, role,
// scope or organization changes, or the user is deleted), and the
// registered ID (jti) names this token for signing out.
type claims struct {
	Org      string   `json:"org"`
	Roles    []string `json:"roles"`
	Features []string `json:"features"`
	Ver      uint64   `json:"ver"`
	jwt.RegisteredClaims
}

// principal is the signed-in caller: the user as the directory has them
// now, and the token they signed in with.
type principal struct {
	user   earshot.User
	claims *claims
}

func principalOf(c echo.Context) *principal { return c.Get(principalKey).(*principal) }

// sees reports whether a pool is within the caller's organization and
// pool scope; anything else is answered as if it did not exist.
func (p *principal) sees(pool earshot.Pool) bool {
	return pool.Org == p.user.Org && (len(p.user.Pools) == 0 || slices.Contains(p.user.Pools, pool.ID))
}

// newDummyHash is what a sign-in for an unknown user (or one without a
// usable hash) is checked against: a hash of the kind and cost the
// operator's passwords get, so such a sign-in costs what a real one does
// and the answer time does not tell which user names exist.
func newDummyHash(cost int) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte("earshot-no-such-user"), cost)
	if err != nil {
		return "", fmt.Errorf("dummy password hash: %w", err)
	}
	return string(h), nil
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      userJSON  `json:"user"`
	Features  []string  `json:"features"`
}

// userJSON is the signed-in user as /me and sign-in show them.
type userJSON struct {
	ID          string   `json:"id"`
	Org         string   `json:"org"`
	Name        string   `json:"name"`
	Roles       []string `json:"roles"`
	PhoneNumber *string  `json:"phone_number"`
}

func newUserJSON(u earshot.User) userJSON {
	return userJSON{ID: u.ID, Org: u.Org, Name: u.Name, Roles: nonNil(u.Roles), PhoneNumber: optional(u.PhoneNumber)}
}

func (s *Server) login(c echo.Context) error {
	var req loginRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	var errs []FieldError
	if req.Username == "" {
		errs = append(errs, FieldError{"username", "is required"})
	}
	if req.Password == "" {
		errs = append(errs, FieldError{"password", "is required"})
	}
	if errs != nil {
		return invalid(errs...)
	}
	now := s.cfg.Now()
	userAddr, byAddr, byUser := loginLimits(req.Username, c.RealIP())
	// Charged before the password is checked, so parallel guesses cannot
	// all slip under the limit; given back below when it did not count.
	if wait, ok := s.logins.reserve(now, userAddr, byAddr, byUser); !ok {
		return retryLater(http.StatusTooManyRequests, wait, "too many failed sign-ins; try again in %d seconds", seconds(wait))
	}
	u, ok, err := s.checkPassword(c, req)
	switch {
	case errors.Is(err, errBusy):
		s.logins.release(now, userAddr.key, byAddr.key, byUser.key)
		return retryLater(http.StatusServiceUnavailable, time.Second, "too many sign-ins at once; try again in a second")
	case err != nil:
		s.logins.release(now, userAddr.key, byAddr.key, byUser.key)
		return err
	case !ok:
		// The same answer for an unknown user and a wrong password, so
		// sign-in does not tell which user names exist.
		return unauthorized(bearerChallenge, "wrong username or password")
	}
	// A success is no failure: this address may try this user afresh,
	// and neither wider count keeps it.
	s.logins.reset(userAddr.key)
	s.logins.release(now, byAddr.key, byUser.key)
	ctx := c.Request().Context()
	org, err := s.cfg.Store.Org(ctx, u.Org)
	if err != nil {
		return fmt.Errorf("org of %s: %w", u.ID, err)
	}
	features := nonNil(slices.Clone(org.Features))
	if !org.Has(earshot.FeatureSupervising) {
		// Browser supervising is a way to supervise, nothing alone.
		features = slices.DeleteFunc(features, func(f string) bool { return f == earshot.FeatureBrowser })
	}
	exp := now.Add(s.cfg.TokenTTL).Truncate(time.Second)
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return fmt.Errorf("token id: %w", err)
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{
		Org: u.Org, Roles: nonNil(u.Roles), Features: features, Ver: u.version,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: tokenIssuer, Subject: u.ID, ID: base64.RawURLEncoding.EncodeToString(jti),
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
		},
	}).SignedString(s.cfg.TokenKey)
	if err != nil {
		return fmt.Errorf("sign token: %w", err)
	}
	s.log.Info("signed in", "request_id", requestID(c), "user", u.ID, "org", u.Org)
	return c.JSON(http.StatusOK, loginResponse{Token: tok, ExpiresAt: exp.UTC(), User: newUserJSON(u.User), Features: features})
}

// errBusy: every password-check slot is taken.
var errBusy = errors.New("password checks busy")

// versionedUser is a user with their token version.
type versionedUser struct {
	earshot.User
	version uint64
}

// checkPassword looks the user up and checks the password within the
// gate's bound; an unknown user, or one without a usable hash, costs one
// check of the dummy hash all the same. The version is read before the
// hash, so a password changed meanwhile leaves the token out of date
// rather than the old password accepted.
func (s *Server) checkPassword(c echo.Context, req loginRequest) (versionedUser, bool, error) {
	ctx := c.Request().Context()
	if !s.checks.enter(ctx.Done()) {
		return versionedUser{}, false, errBusy
	}
	start := time.Now()
	defer func() {
		s.checks.leave()
		// Out of the slot, so padding costs no one a check.
		pad(ctx, s.checkFloor-time.Since(start))
	}()
	version, _, err := s.cfg.Store.TokenState(ctx, req.Username, "")
	if err != nil {
		return versionedUser{}, false, fmt.Errorf("token version: %w", err)
	}
	u, err := s.cfg.Store.User(ctx, req.Username)
	switch {
	case err == nil && directory.UsableHash(u.PasswordHash):
		s.verified.Add(1)
		return versionedUser{u, version}, directory.VerifyPassword(u.PasswordHash, req.Password), nil
	case err == nil, earshot.ErrorCode(err) == earshot.ENOTFOUND:
		s.verified.Add(1)
		directory.VerifyPassword(s.dummyHash, req.Password)
		return versionedUser{}, false, nil
	default:
		return versionedUser{}, false, fmt.Errorf("look up user: %w", err)
	}
}

// pad waits d (if positive) or until ctx ends.
func pad(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// checkFloor is how long one check of the dummy hash takes here, measured
// once: every sign-in's password check takes at least this long, so a
// user whose stored hash is cheap (an old or imported one) answers no
// faster than an unknown user, and the time does not tell who exists.
func checkFloor(dummy string) time.Duration {
	start := time.Now()
	directory.VerifyPassword(dummy, "earshot-measure")
	return min(time.Since(start), maxCheckFloor)
}

// maxCheckFloor bounds the floor, should the machine be very busy at start.
const maxCheckFloor = time.Second

// retryLater is a problem with a Retry-After header of wait, rounded up
// to whole seconds.
func retryLater(status int, wait time.Duration, format string, args ...any) *Problem {
	p := newProblem(status, format, args...)
	p.header = http.Header{"Retry-After": {strconv.Itoa(max(seconds(wait), 1))}}
	return p
}

// authenticate admits a request with a valid sign-in token of a user who
// still exists in the same organization, whose token version still
// matches and whose token was not signed out.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		raw, ok := bearer(c)
		if !ok {
			return unauthorized(bearerChallenge, "sign in and send the token as Authorization: Bearer <token>")
		}
		cl, err := s.tokens.check(raw)
		if err != nil {
			return unauthorized(invalidToken, "the token is invalid or expired; sign in again")
		}
		p, err := s.principalFor(c.Request().Context(), cl)
		if err != nil {
			return err
		}
		c.Set(principalKey, p)
		return next(c)
	}
}

// principalFor checks a verified token against the store as it is now:
// the user exists in the token's organization, the token version matches
// and the token was not signed out. The answer is the principal or a 401.
// Event streams call it again on every event.
func (s *Server) principalFor(ctx context.Context, cl *claims) (*principal, error) {
	version, revoked, err := s.cfg.Store.TokenState(ctx, cl.Subject, cl.ID)
	if err != nil {
		return nil, fmt.Errorf("token state: %w", err)
	}
	if revoked || version != cl.Ver {
		return nil, unauthorized(invalidToken, "the token was revoked (signed out, or the password or access changed); sign in again")
	}
	u, err := s.cfg.Store.User(ctx, cl.Subject)
	switch {
	case earshot.ErrorCode(err) == earshot.ENOTFOUND:
		return nil, unauthorized(invalidToken, "the token's user no longer exists; sign in again")
	case err != nil:
		return nil, fmt.Errorf("look up signed-in user: %w", err)
	case u.Org != cl.Org:
		return nil, unauthorized(invalidToken, "the token's user moved to another organization; sign in again")
	}
	return &principal{user: u, claims: cl}, nil
}

// logout signs out the token in hand: it stops working at once, on every
// route and on event streams opened with it; other tokens of the user
// (other devices) keep working.
func (s *Server) logout(c echo.Context) error {
	p := principalOf(c)
	exp := s.cfg.Now().Add(s.cfg.TokenTTL)
	if p.claims.ExpiresAt != nil {
		exp = p.claims.ExpiresAt.Time
	}
	if err := s.cfg.Store.RevokeToken(c.Request().Context(), p.user.ID, p.claims.ID, exp); err != nil {
		return fmt.Errorf("sign out: %w", err)
	}
	s.streamSet.recheck()
	s.log.Info("signed out", "request_id", requestID(c), "user", p.user.ID)
	return c.NoContent(http.StatusNoContent)
}

// requireSupervising admits supervisors whose token carries the feature
// (R1: granted at sign-in) and whose organization still has it (R1:
// disabling takes effect at once). Roles likewise need both.
func (s *Server) requireSupervising(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := principalOf(c)
		org, err := s.cfg.Store.Org(c.Request().Context(), p.user.Org)
		switch {
		case earshot.ErrorCode(err) == earshot.ENOTFOUND:
			return earshot.ErrFeatureOff
		case err != nil:
			return fmt.Errorf("org of %s: %w", p.user.ID, err)
		case !org.Has(earshot.FeatureSupervising):
			return earshot.ErrFeatureOff
		case !slices.Contains(p.claims.Features, earshot.FeatureSupervising):
			return typedProblem(http.StatusForbidden, "feature-off", "Supervising not enabled",
				"supervising was enabled after you signed in; sign out and in again to use it")
		case !p.user.HasRole(earshot.RoleSupervisor) || !slices.Contains(p.claims.Roles, earshot.RoleSupervisor):
			return typedProblem(http.StatusForbidden, "not-supervisor", "Not a supervisor",
				"supervising needs the supervisor role")
		}
		return next(c)
	}
}

type meResponse struct {
	User      userJSON  `json:"user"`
	Features  []string  `json:"features"`
	ExpiresAt time.Time `json:"expires_at"`
}

// me shows the features the caller may use now: those of the token that
// the organization still has.
func (s *Server) me(c echo.Context) error {
	p := principalOf(c)
	org, err := s.cfg.Store.Org(c.Request().Context(), p.user.Org)
	if err != nil && earshot.ErrorCode(err) != earshot.ENOTFOUND {
		return fmt.Errorf("org of %s: %w", p.user.ID, err)
	}
	features := []string{}
	for _, f := range p.claims.Features {
		if org.Has(f) && f != earshot.FeatureBrowser {
			features = append(features, f)
		}
	}
	// Browser supervising is read from the organization at every use,
	// not from the token (docs/design.md §2.13).
	if slices.Contains(features, earshot.FeatureSupervising) && org.Has(earshot.FeatureBrowser) {
		features = append(features, earshot.FeatureBrowser)
	}
	return c.JSON(http.StatusOK, meResponse{User: newUserJSON(p.user), Features: features, ExpiresAt: p.claims.ExpiresAt.UTC()})
}

// operator admits the operator's admin token, compared in constant time;
// with no admin token configured the operator routes do not exist.
// Failures are limited per address (operatorFailures per loginWindow),
// charged before the comparison so parallel guesses cannot pass the
// limit; a right token gives its charge back.
func (s *Server) operator(next echo.HandlerFunc) echo.HandlerFunc {
	want := sha256.Sum256([]byte(s.cfg.AdminToken))
	return func(c echo.Context) error {
		if s.cfg.AdminToken == "" {
			return echo.ErrNotFound
		}
		now, lim := s.cfg.Now(), limit{"op\x00" + addrKey(c.RealIP()), operatorFailures}
		if wait, ok := s.operatorFails.reserve(now, lim); !ok {
			return retryLater(http.StatusTooManyRequests, wait, "too many wrong admin tokens from this address; try again in %d seconds", seconds(wait))
		}
		raw, ok := bearer(c)
		// Hashing first makes the comparison constant-time in the
		// length too.
		got := sha256.Sum256([]byte(raw))
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			return unauthorized(`Bearer realm="earshot-operator"`, "send the admin token as Authorization: Bearer <token>")
		}
		s.operatorFails.release(now, lim.key)
		return next(c)
	}
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(c echo.Context) (string, bool) {
	scheme, tok, ok := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
	tok = strings.TrimSpace(tok)
	return tok, ok && strings.EqualFold(scheme, "Bearer") && tok != ""
}

func seconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
