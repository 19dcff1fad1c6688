package httpapi

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/directory"
)

// Audit page sizes.
const (
	auditDefaultLimit = 100
	auditMaxLimit     = 1000
)

// enableSupervising switches the feature on for an organization (R1).
// Signed-in supervisors get it only when they sign in again.
func (s *Server) enableSupervising(c echo.Context) error {
	return s.setSupervising(c, true)
}

// disableSupervising switches the feature off (R1: at once): the API
// checks the organization on every supervising request, the org's live
// sessions end and its event streams close (enforce).
func (s *Server) disableSupervising(c echo.Context) error {
	return s.setSupervising(c, false)
}

// allowBrowser lets an organization supervise from the browser (Listen
// here) as well as through the supervising number; at once, no new
// sign-in needed.
func (s *Server) allowBrowser(c echo.Context) error {
	return s.setFeature(c, earshot.FeatureBrowser, true)
}

// forbidBrowser leaves the organization the supervising number only
// (R9): live browser sessions end at once (feature_off).
func (s *Server) forbidBrowser(c echo.Context) error {
	return s.setFeature(c, earshot.FeatureBrowser, false)
}

func (s *Server) setSupervising(c echo.Context, on bool) error {
	return s.setFeature(c, earshot.FeatureSupervising, on)
}

func (s *Server) setFeature(c echo.Context, feature string, on bool) error {
	ctx := c.Request().Context()
	org, err := param(c, "org")
	if err != nil {
		return err
	}
	if _, err := s.cfg.Store.Org(ctx, org); err != nil {
		return err
	}
	if err := s.cfg.Store.SetFeature(ctx, org, feature, on); err != nil {
		return fmt.Errorf("set feature: %w", err)
	}
	s.log.Info("operator set feature", "request_id", requestID(c), "org", org, "feature", feature, "on", on)
	if !on {
		// The org's sessions end (EndFeatureOff), its streams close.
		s.enforce(ctx)
	}
	return c.NoContent(http.StatusNoContent)
}

// auditPage is one page of the audit trail, newest first; next_before
// fetches the page after it.
type auditPage struct {
	Entries    []AuditRecord `json:"entries"`
	NextBefore *uint64       `json:"next_before"`
}

// audit pages backwards through the audit trail: ?org= narrows it to one
// organization, ?before= starts below a sequence number, ?limit= sizes the
// page.
func (s *Server) audit(c echo.Context) error {
	q := c.QueryParams()
	var errs []FieldError
	var before uint64
	if v := q.Get("before"); v != "" {
		var err error
		if before, err = strconv.ParseUint(v, 10, 64); err != nil {
			errs = append(errs, FieldError{"before", "must be a sequence number (a non-negative integer)"})
		}
	}
	limit := auditDefaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > auditMaxLimit {
			errs = append(errs, FieldError{"limit", fmt.Sprintf("must be an integer from 1 to %d", auditMaxLimit)})
		}
		limit = n
	}
	if errs != nil {
		p := invalid(errs...)
		// Query parameters are part of the request itself, not a body
		// whose values cannot be used: 400.
		p.Status = http.StatusBadRequest
		return p
	}
	ctx, org := c.Request().Context(), q.Get("org")
	if org != "" {
		if _, err := s.cfg.Store.Org(ctx, org); err != nil {
			return err
		}
	}
	recs, err := s.cfg.Store.AuditLog(ctx, org, before, limit)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	page := auditPage{Entries: nonNil(recs)}
	if len(recs) == limit {
		next := recs[len(recs)-1].Seq
		page.NextBefore = &next
	}
	return c.JSON(http.StatusOK, page)
}

// maxID is the longest id the operator may give, as in the directory file.
const maxID = 128

// newID reads the id of something the operator creates from the path; an
// id the directory file could not hold is a 400 naming the parameter.
func newID(c echo.Context, name string) (string, error) {
	id, err := param(c, name)
	if err != nil {
		return "", err
	}
	if why := directory.CheckID(id); why != "" {
		p := invalid(FieldError{name, why})
		p.Status = http.StatusBadRequest // part of the request itself, as in audit
		return "", p
	}
	return id, nil
}

// queryOrg reads the organization the operator lists (?org=): required,
// and an unknown one is a 404.
func (s *Server) queryOrg(c echo.Context) (string, error) {
	org := c.QueryParam("org")
	if org == "" {
		p := invalid(FieldError{"org", "is required"})
		p.Status = http.StatusBadRequest
		return "", p
	}
	if _, err := s.cfg.Store.Org(c.Request().Context(), org); err != nil {
		return "", err
	}
	return org, nil
}

// orgExists reports whether the organization exists; only other failures
// are errors.
func (s *Server) orgExists(c echo.Context, org string) (bool, error) {
	_, err := s.cfg.Store.Org(c.Request().Context(), org)
	switch {
	case earshot.ErrorCode(err) == earshot.ENOTFOUND:
		return false, nil
	case err != nil:
		return false, fmt.Errorf("org %s: %w", org, err)
	}
	return true, nil
}

// storeInvalid turns the store's EINVALID, a value that passed our checks
// but not the store's (such as a member deleted meanwhile), into a 422 on
// the body; other errors pass, wrapped with what failed.
func storeInvalid(err error, what string) error {
	if earshot.ErrorCode(err) == earshot.EINVALID {
		return invalid(FieldError{"(body)", earshot.ErrorMessage(err)})
	}
	return fmt.Errorf("%s: %w", what, err)
}
