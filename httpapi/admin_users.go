package httpapi

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/directory"
	"github.com/earshot/earshot/phone"
)

// maxPassword is what bcrypt reads of a password; longer ones are refused
// rather than cut short.
const maxPassword = 72

// adminUserJSON is a user as the operator manages them. The password hash
// never leaves the store; password_set says whether there is one.
type adminUserJSON struct {
	ID          string   `json:"id"`
	Org         string   `json:"org"`
	Name        string   `json:"name"`
	Roles       []string `json:"roles"`
	Endpoint    *string  `json:"endpoint"`
	Endpoints   []string `json:"endpoints"`
	PhoneNumber *string  `json:"phone_number"`
	Pools       []string `json:"pools"`
	PasswordSet bool     `json:"password_set"`
}

func newAdminUserJSON(u earshot.User) adminUserJSON {
	return adminUserJSON{
		ID: u.ID, Org: u.Org, Name: u.Name, Roles: nonNil(u.Roles), Endpoint: optional(u.Endpoint),
		Endpoints: nonNil(u.Endpoints), PhoneNumber: optional(u.PhoneNumber), Pools: nonNil(u.Pools), PasswordSet: u.PasswordHash != "",
	}
}

// userRequest is the body of PUT /admin/users/{user}. phone_number and
// password left out (or null) keep the stored ones: the number is the
// supervisor's own setting (R9), and a password cannot be read back to be
// sent again. phone_number "" clears the number.
type userRequest struct {
	Org         string   `json:"org"`
	Name        string   `json:"name"`
	Roles       []string `json:"roles"`
	Endpoint    string   `json:"endpoint"`
	Endpoints   []string `json:"endpoints"`
	PhoneNumber *string  `json:"phone_number"`
	Pools       []string `json:"pools"`
	Password    *string  `json:"password"`
}

// adminUsers lists an organization's users (?org=, required).
func (s *Server) adminUsers(c echo.Context) error {
	org, err := s.queryOrg(c)
	if err != nil {
		return err
	}
	users, err := s.cfg.Store.Users(org)
	if err != nil {
		return fmt.Errorf("users of %s: %w", org, err)
	}
	out := make([]adminUserJSON, len(users))
	for i, u := range users {
		out[i] = newAdminUserJSON(u)
	}
	return c.JSON(http.StatusOK, map[string][]adminUserJSON{"users": out})
}

// putUser creates or replaces a user and answers with the user as stored.
func (s *Server) putUser(c echo.Context) error {
	id, err := newID(c, "user")
	if err != nil {
		return err
	}
	var req userRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	u, errs, err := s.checkUser(c, id, req)
	if err != nil {
		return err
	}
	if errs != nil {
		return invalid(errs...)
	}
	if req.Password != nil {
		hash, err := bcrypt.GenerateFromPassword([]byte(*req.Password), s.cfg.PasswordCost)
		if err != nil {
			return fmt.Errorf("hash password of %s: %w", id, err)
		}
		u.PasswordHash = string(hash)
	}
	ctx := c.Request().Context()
	before, err := s.versions(ctx, id)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.PutUser(ctx, u); err != nil {
		return storeInvalid(err, "put user")
	}
	// A new password, role, scope or organization may revoke the user's
	// tokens and end their sessions.
	revoked, err := s.bumped(ctx, before)
	if err != nil {
		return err
	}
	s.enforce(ctx, revoked...)
	// PutUser keeps a stored number it is not given; clearing is its own
	// write, harmless to repeat if this one fails.
	if req.PhoneNumber != nil && *req.PhoneNumber == "" {
		if err := s.cfg.Store.SetPhoneNumber(ctx, id, ""); err != nil {
			return fmt.Errorf("clear phone number of %s: %w", id, err)
		}
	}
	stored, err := s.cfg.Store.User(ctx, id)
	if err != nil {
		return fmt.Errorf("read back user %s: %w", id, err)
	}
	s.log.Info("operator put user", "request_id", requestID(c), "user", id, "org", u.Org,
		"roles", strings.Join(u.Roles, ","), "password_changed", req.Password != nil)
	return c.JSON(http.StatusOK, newAdminUserJSON(stored))
}

// checkUser builds the user to store from a request, listing every field
// that is wrong; err is for failures to look things up.
func (s *Server) checkUser(c echo.Context, id string, req userRequest) (earshot.User, []FieldError, error) {
	ctx := c.Request().Context()
	u := earshot.User{ID: id, Org: req.Org, Name: cmp.Or(req.Name, id), Roles: req.Roles, Endpoint: req.Endpoint, Pools: req.Pools}
	if len(req.Endpoints) > 0 {
		u.Endpoints = req.Endpoints
	}
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{field, fmt.Sprintf(format, args...)})
	}

	orgOK := false
	if req.Org == "" {
		add("org", "is required")
	} else {
		ok, err := s.orgExists(c, req.Org)
		if err != nil {
			return u, nil, err
		}
		if orgOK = ok; !ok {
			add("org", "organization %q does not exist", req.Org)
		}
	}

	roles := []string{earshot.RoleSupervisor, earshot.RoleAgent}
	if len(req.Roles) == 0 {
		add("roles", "needs at least one of %s", strings.Join(roles, ", "))
	}
	for i, r := range req.Roles {
		switch {
		case !slices.Contains(roles, r):
			add("roles", "role %q is not one of %s", r, strings.Join(roles, ", "))
		case slices.Contains(req.Roles[:i], r):
			add("roles", "role %q is listed twice", r)
		}
	}

	agent := slices.Contains(req.Roles, earshot.RoleAgent)
	checkEndpoints(req, agent, add)

	if req.PhoneNumber != nil && *req.PhoneNumber != "" {
		e164, err := phone.Normalize(*req.PhoneNumber, s.cfg.DefaultRegion)
		if err != nil {
			add("phone_number", "%s", earshot.ErrorMessage(err))
		}
		u.PhoneNumber = e164
	}

	if len(req.Pools) > 0 && !slices.Contains(req.Roles, earshot.RoleSupervisor) {
		add("pools", "is the supervising scope, but the user is not a supervisor")
	}
	for i, id := range req.Pools {
		if slices.Contains(req.Pools[:i], id) {
			add("pools", "pool %q is listed twice", id)
			continue
		}
		p, err := s.cfg.Store.Pool(ctx, id)
		switch {
		case earshot.ErrorCode(err) == earshot.ENOTFOUND:
			add("pools", "pool %q does not exist", id)
		case err != nil:
			return u, nil, fmt.Errorf("pool %s: %w", id, err)
		case orgOK && p.Org != req.Org:
			add("pools", "pool %q is in organization %q, not %q", id, p.Org, req.Org)
		}
	}

	if req.Password != nil {
		switch {
		case *req.Password == "":
			add("password", "is empty; leave it out to keep the current password")
		case len(*req.Password) > maxPassword:
			add("password", "is longer than %d bytes", maxPassword)
		}
	}

	// Pools hold agents of their own organization; a member may not stop
	// being one behind its pools' backs.
	in, inOrg, err := s.poolsWithMember(c, id)
	if err != nil {
		return u, nil, err
	}
	if len(in) > 0 {
		switch {
		case !agent:
			add("roles", "user is a member of pools %s, which hold agents; take them out first", strings.Join(in, ", "))
		case orgOK && inOrg != req.Org:
			add("org", "user is a member of pools %s of organization %q; take them out first", strings.Join(in, ", "), inOrg)
		}
	}
	return u, errs, nil
}

// checkEndpoints checks the endpoints an agent is bound to, given as
// endpoint (one) or endpoints (a list). An agent may have none: the agent
// leg's EARSHOT_AGENT variable binds them then (a mobile over a trunk).
func checkEndpoints(req userRequest, agent bool, add func(field, format string, args ...any)) {
	field, list := "endpoints", req.Endpoints
	if req.Endpoint != "" {
		if len(req.Endpoints) > 0 {
			add("endpoints", "set endpoint or endpoints, not both")
			return
		}
		field, list = "endpoint", []string{req.Endpoint}
	}
	switch {
	case len(list) == 0:
	case !agent:
		add(field, "is set but the user is not an agent")
	case len(list) > directory.MaxEndpoints:
		add(field, "lists %d endpoints; at most %d", len(list), directory.MaxEndpoints)
	default:
		seen := make(map[string]bool, len(list))
		for _, ep := range list {
			if why := directory.CheckEndpoint(ep); why != "" {
				add(field, "%q %s", ep, why)
			} else if seen[directory.EndpointKey(ep)] {
				add(field, "%q is listed twice", ep)
			}
			seen[directory.EndpointKey(ep)] = true
		}
	}
}

// poolsWithMember lists the pools a stored user is a member of, all in
// the user's organization (org); none for a new user.
func (s *Server) poolsWithMember(c echo.Context, id string) (pools []string, org string, err error) {
	old, err := s.cfg.Store.User(c.Request().Context(), id)
	switch {
	case earshot.ErrorCode(err) == earshot.ENOTFOUND:
		return nil, "", nil
	case err != nil:
		return nil, "", fmt.Errorf("user %s: %w", id, err)
	}
	all, err := s.cfg.Store.PoolsOf(old.Org)
	if err != nil {
		return nil, "", fmt.Errorf("pools of %s: %w", old.Org, err)
	}
	for _, p := range all {
		if slices.Contains(p.Members, id) {
			pools = append(pools, p.ID)
		}
	}
	return pools, old.Org, nil
}

// deleteUser removes a user with their memberships, lists and devices;
// their sign-in tokens stop working, their event streams close and their
// live sessions end at once.
func (s *Server) deleteUser(c echo.Context) error {
	id, err := param(c, "user")
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteUser(c.Request().Context(), id); err != nil {
		return fmt.Errorf("delete user %s: %w", id, err)
	}
	// Their sessions end and their event streams close now.
	s.enforce(c.Request().Context(), id)
	s.log.Info("operator deleted user", "request_id", requestID(c), "user", id)
	return c.NoContent(http.StatusNoContent)
}
