package httpapi

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/phone"
)

// adminPoolJSON is a service pool as the operator manages it.
type adminPoolJSON struct {
	ID      string   `json:"id"`
	Org     string   `json:"org"`
	Name    string   `json:"name"`
	Number  *string  `json:"number"`
	Members []string `json:"members"`
}

func newAdminPoolJSON(p earshot.Pool) adminPoolJSON {
	return adminPoolJSON{ID: p.ID, Org: p.Org, Name: p.Name, Number: optional(p.Number), Members: nonNil(p.Members)}
}

// poolRequest is the body of PUT /admin/pools/{pool}; it replaces the
// whole pool.
type poolRequest struct {
	Org     string   `json:"org"`
	Name    string   `json:"name"`
	Number  string   `json:"number"`
	Members []string `json:"members"`
}

// adminPools lists an organization's pools (?org=, required).
func (s *Server) adminPools(c echo.Context) error {
	org, err := s.queryOrg(c)
	if err != nil {
		return err
	}
	pools, err := s.cfg.Store.PoolsOf(org)
	if err != nil {
		return fmt.Errorf("pools of %s: %w", org, err)
	}
	out := make([]adminPoolJSON, len(pools))
	for i, p := range pools {
		out[i] = newAdminPoolJSON(p)
	}
	return c.JSON(http.StatusOK, map[string][]adminPoolJSON{"pools": out})
}

// putPool creates or replaces a pool and answers with the pool as stored.
func (s *Server) putPool(c echo.Context) error {
	id, err := newID(c, "pool")
	if err != nil {
		return err
	}
	var req poolRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p, errs, err := s.checkPool(c, id, req)
	if err != nil {
		return err
	}
	if errs != nil {
		return invalid(errs...)
	}
	ctx := c.Request().Context()
	if err := s.cfg.Store.PutPool(ctx, p); err != nil {
		return storeInvalid(err, "put pool")
	}
	stored, err := s.cfg.Store.Pool(ctx, id)
	if err != nil {
		return fmt.Errorf("read back pool %s: %w", id, err)
	}
	s.log.Info("operator put pool", "request_id", requestID(c), "pool", id, "org", p.Org, "members", len(p.Members))
	return c.JSON(http.StatusOK, newAdminPoolJSON(stored))
}

// checkPool builds the pool to store from a request, listing every field
// that is wrong; err is for failures to look things up.
func (s *Server) checkPool(c echo.Context, id string, req poolRequest) (earshot.Pool, []FieldError, error) {
	ctx := c.Request().Context()
	p := earshot.Pool{ID: id, Org: req.Org, Name: cmp.Or(req.Name, id), Members: nonNil(req.Members)}
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
			return p, nil, err
		}
		if orgOK = ok; !ok {
			add("org", "organization %q does not exist", req.Org)
		}
	}

	if req.Number != "" {
		e164, err := phone.Normalize(req.Number, s.cfg.DefaultRegion)
		if err != nil {
			add("number", "%s", earshot.ErrorMessage(err))
		}
		p.Number = e164
	}

	for i, m := range req.Members {
		if slices.Contains(req.Members[:i], m) {
			add("members", "member %q is listed twice", m)
			continue
		}
		u, err := s.cfg.Store.User(ctx, m)
		switch {
		case earshot.ErrorCode(err) == earshot.ENOTFOUND:
			add("members", "member %q does not exist", m)
		case err != nil:
			return p, nil, fmt.Errorf("member %s: %w", m, err)
		case orgOK && u.Org != req.Org:
			add("members", "member %q is in organization %q, not %q", m, u.Org, req.Org)
		case !u.HasRole(earshot.RoleAgent):
			add("members", "member %q is not an agent", m)
		}
	}
	return p, errs, nil
}

// deletePool removes a pool. Supervisors whose scope names it keep the
// name: dropping it could empty a scope, and an empty scope means every
// pool.
func (s *Server) deletePool(c echo.Context) error {
	id, err := param(c, "pool")
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeletePool(c.Request().Context(), id); err != nil {
		return fmt.Errorf("delete pool %s: %w", id, err)
	}
	s.log.Info("operator deleted pool", "request_id", requestID(c), "pool", id)
	return c.NoContent(http.StatusNoContent)
}
