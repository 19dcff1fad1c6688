package httpapi

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"
)

// platforms are the push platforms a device may register for.
var platforms = []string{"android", "ios"}

// maxDeviceToken bounds a push token; FCM's are a few hundred bytes.
const maxDeviceToken = 4096

type deviceRequest struct {
	Platform string `json:"platform"`
}

// deviceToken reads the push token from the path.
func deviceToken(c echo.Context) (string, error) {
	tok, err := param(c, "token")
	if err != nil {
		return "", err
	}
	if len(tok) > maxDeviceToken {
		return "", invalid(FieldError{"token", fmt.Sprintf("is longer than %d bytes", maxDeviceToken)})
	}
	return tok, nil
}

// putDevice registers the caller's device for push notifications. A token
// registered to someone else moves to the caller: the phone changed hands
// or accounts, and pushes must follow whoever signed in on it.
func (s *Server) putDevice(c echo.Context) error {
	tok, err := deviceToken(c)
	if err != nil {
		return err
	}
	var req deviceRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if !slices.Contains(platforms, req.Platform) {
		return invalid(FieldError{"platform", fmt.Sprintf("must be android or ios, not %q", req.Platform)})
	}
	if err := s.cfg.Store.PutDevice(c.Request().Context(), tok, principalOf(c).user.ID, req.Platform); err != nil {
		return fmt.Errorf("put device: %w", err)
	}
	return c.NoContent(http.StatusNoContent)
}

// deleteDevice stops pushes to a device (sign-out); idempotent.
func (s *Server) deleteDevice(c echo.Context) error {
	tok, err := deviceToken(c)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteDeviceOf(c.Request().Context(), principalOf(c).user.ID, tok); err != nil {
		return fmt.Errorf("delete device: %w", err)
	}
	return c.NoContent(http.StatusNoContent)
}
