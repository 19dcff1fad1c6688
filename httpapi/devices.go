package httpapi

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/earshot/earshot"
)

// platforms are the push platforms a device may register for.
var platforms = []string{"android", "ios"}

// maxDeviceToken bounds a push token; FCM's are a few hundred bytes. The
// store holds at most 10 per user (store.MaxDevicesPerUser), so one user
// can make it grow by at most 40 KiB.
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

// putDevice registers the caller's device for push notifications;
// registering it again is fine (204). A token registered to someone else
// is refused with 409 (type …/device-token-taken) until its owner
// deregisters it: whoever learns a token must not be able to take another
// user's notifications. An app whose token is taken signs the old user
// out (DELETE) or asks the push service for a new token. The caller's
// eleventh device replaces their least recently registered one.
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
	err = s.cfg.Store.PutDevice(c.Request().Context(), tok, principalOf(c).user.ID, req.Platform)
	switch {
	case earshot.ErrorCode(err) == earshot.ECONFLICT:
		return typedProblem(http.StatusConflict, "device-token-taken", "Push token registered to another user", earshot.ErrorMessage(err))
	case err != nil:
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
