package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
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
// again, so the token, not the directory, grants it.
type claims struct {
	Org      string   `json:"org"`
	Roles    []string `json:"roles"`
	Features []string `json:"features"`
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

// dummyHash is compared against when the user does not exist, so an
// unknown user name costs as much time as a wrong password.
var dummyHash = sync.OnceValue(func() string {
	h, err := bcrypt.GenerateFromPassword([]byte("earshot-no-such-user"), bcrypt.DefaultCost)
	if err != nil {
		panic(fmt.Sprintf("bcrypt: %v", err)) // only on a broken crypto/rand
	}
	return string(h)
})

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
	keys := []string{"user:" + req.Username, "addr:" + c.RealIP()}
	if wait := s.limiter.wait(now, keys...); wait > 0 {
		p := newProblem(http.StatusTooManyRequests, "too many failed sign-ins; try again in %d seconds", seconds(wait))
		p.header = http.Header{"Retry-After": {strconv.Itoa(seconds(wait))}}
		return p
	}
	ctx := c.Request().Context()
	u, err := s.cfg.Store.User(ctx, req.Username)
	ok := false
	switch {
	case err == nil:
		ok = directory.VerifyPassword(u.PasswordHash, req.Password)
	case earshot.ErrorCode(err) == earshot.ENOTFOUND:
		directory.VerifyPassword(dummyHash(), req.Password)
	default:
		return fmt.Errorf("look up user: %w", err)
	}
	if !ok {
		s.limiter.fail(now, keys...)
		// The same answer for an unknown user and a wrong password, so
		// sign-in does not tell which user names exist.
		return unauthorized(bearerChallenge, "wrong username or password")
	}
	org, err := s.cfg.Store.Org(ctx, u.Org)
	if err != nil {
		return fmt.Errorf("org of %s: %w", u.ID, err)
	}
	s.limiter.reset(keys[0])
	features := nonNil(slices.Clone(org.Features))
	exp := now.Add(s.cfg.TokenTTL).Truncate(time.Second)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{
		Org: u.Org, Roles: nonNil(u.Roles), Features: features,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: tokenIssuer, Subject: u.ID,
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
		},
	}).SignedString(s.cfg.TokenKey)
	if err != nil {
		return fmt.Errorf("sign token: %w", err)
	}
	s.log.Info("signed in", "request_id", requestID(c), "user", u.ID, "org", u.Org)
	return c.JSON(http.StatusOK, loginResponse{Token: tok, ExpiresAt: exp.UTC(), User: newUserJSON(u), Features: features})
}

// authenticate admits a request with a valid sign-in token of a user who
// still exists in the same organization.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		raw, ok := bearer(c)
		if !ok {
			return unauthorized(bearerChallenge, "sign in and send the token as Authorization: Bearer <token>")
		}
		cl := &claims{}
		_, err := jwt.ParseWithClaims(raw, cl, func(*jwt.Token) (any, error) { return s.cfg.TokenKey, nil },
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithIssuer(tokenIssuer),
			jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(s.cfg.Now))
		if err != nil {
			return unauthorized(invalidToken, "the token is invalid or expired; sign in again")
		}
		u, err := s.cfg.Store.User(c.Request().Context(), cl.Subject)
		switch {
		case earshot.ErrorCode(err) == earshot.ENOTFOUND:
			return unauthorized(invalidToken, "the token's user no longer exists; sign in again")
		case err != nil:
			return fmt.Errorf("look up signed-in user: %w", err)
		case u.Org != cl.Org:
			return unauthorized(invalidToken, "the token's user moved to another organization; sign in again")
		}
		c.Set(principalKey, &principal{user: u, claims: cl})
		return next(c)
	}
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
		if org.Has(f) {
			features = append(features, f)
		}
	}
	return c.JSON(http.StatusOK, meResponse{User: newUserJSON(p.user), Features: features, ExpiresAt: p.claims.ExpiresAt.UTC()})
}

// operator admits the operator's admin token, compared in constant time;
// with no admin token configured the operator routes do not exist.
func (s *Server) operator(next echo.HandlerFunc) echo.HandlerFunc {
	want := sha256.Sum256([]byte(s.cfg.AdminToken))
	return func(c echo.Context) error {
		if s.cfg.AdminToken == "" {
			return echo.ErrNotFound
		}
		raw, ok := bearer(c)
		// Hashing first makes the comparison constant-time in the
		// length too.
		got := sha256.Sum256([]byte(raw))
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			return unauthorized(`Bearer realm="earshot-operator"`, "send the admin token as Authorization: Bearer <token>")
		}
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
