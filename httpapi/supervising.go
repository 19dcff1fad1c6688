package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/phone"
)

// listSupervised is the caller's list of agents (R8), as user views.
func (s *Server) listSupervised(c echo.Context) error {
	v, err := s.newViewer(c)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(v.supervised))
	for id := range v.supervised {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out, err := v.views(ids)
	if err != nil {
		return fmt.Errorf("supervised users: %w", err)
	}
	return c.JSON(http.StatusOK, userList{Users: out, staleness: s.staleness()})
}

// supervise adds an agent of the caller's organization to the list (R8).
func (s *Server) supervise(c echo.Context) error {
	u, err := s.orgUser(c, "user")
	if err != nil {
		return err
	}
	p := principalOf(c)
	switch {
	case u.ID == p.user.ID:
		return typedProblem(http.StatusUnprocessableEntity, "not-an-agent", "Not an agent", "you cannot supervise yourself")
	case !u.HasRole(earshot.RoleAgent):
		return typedProblem(http.StatusUnprocessableEntity, "not-an-agent", "Not an agent",
			fmt.Sprintf("user %s is not an agent", u.ID))
	}
	if err := s.cfg.Store.Supervise(c.Request().Context(), p.user.ID, u.ID); err != nil {
		return fmt.Errorf("supervise: %w", err)
	}
	return c.NoContent(http.StatusNoContent)
}

// unsupervise removes a user from the list. An id already on the list is
// removed even if the directory no longer has that user, so stale entries
// can be cleaned up; any other unknown id is a 404.
func (s *Server) unsupervise(c echo.Context) error {
	ctx, p := c.Request().Context(), principalOf(c)
	id, err := param(c, "user")
	if err != nil {
		return err
	}
	if _, err := s.orgUser(c, "user"); err != nil {
		if earshot.ErrorCode(err) != earshot.ENOTFOUND {
			return err
		}
		listed, err := s.cfg.Store.SupervisedBy(ctx, p.user.ID)
		if err != nil {
			return fmt.Errorf("list of %s: %w", p.user.ID, err)
		}
		if !slices.Contains(listed, id) {
			return earshot.ErrUserNotFound
		}
	}
	if err := s.cfg.Store.Unsupervise(ctx, p.user.ID, id); err != nil {
		return fmt.Errorf("unsupervise: %w", err)
	}
	return c.NoContent(http.StatusNoContent)
}

// settingsJSON is the supervising settings (R9); phone_number is null
// when unset.
type settingsJSON struct {
	PhoneNumber *string `json:"phone_number"`
}

// settingsRequest keeps phone_number raw so that a missing field, null
// and a string can be told apart.
type settingsRequest struct {
	PhoneNumber json.RawMessage `json:"phone_number"`
}

func (s *Server) getSettings(c echo.Context) error {
	return c.JSON(http.StatusOK, settingsJSON{PhoneNumber: optional(principalOf(c).user.PhoneNumber)})
}

// putSettings sets the number the supervisor calls from (R9), stored in
// E.164 because the caller number is matched against it exactly. null or
// "" clears it.
func (s *Server) putSettings(c echo.Context) error {
	var req settingsRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	var raw string
	switch {
	case len(req.PhoneNumber) == 0:
		return invalid(FieldError{"phone_number", "is required (null clears it)"})
	case bytes.Equal(req.PhoneNumber, []byte("null")):
	case json.Unmarshal(req.PhoneNumber, &raw) != nil:
		return invalid(FieldError{"phone_number", "must be a string or null"})
	}
	e164 := ""
	if raw != "" {
		var err error
		if e164, err = phone.Normalize(raw, s.cfg.DefaultRegion); err != nil {
			return invalid(FieldError{"phone_number", earshot.ErrorMessage(err)})
		}
	}
	p := principalOf(c)
	err := s.cfg.Store.SetPhoneNumber(c.Request().Context(), p.user.ID, e164)
	switch {
	case earshot.ErrorCode(err) == earshot.ECONFLICT:
		// Our own words: the store's message might name the other user.
		return typedProblem(http.StatusConflict, "phone-number-taken", "Phone number taken",
			"another user has registered this phone number")
	case err != nil:
		return fmt.Errorf("set phone number: %w", err)
	}
	return c.JSON(http.StatusOK, settingsJSON{PhoneNumber: optional(e164)})
}
