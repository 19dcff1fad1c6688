package httpapi

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
)

// backup streams a consistent copy of the database, a file `earshot
// --db` opens as it is. The copy holds password hashes: never cached.
func (s *Server) backup(c echo.Context) error {
	name := "earshot-" + s.cfg.Now().UTC().Format("20060102T150405Z") + ".db"
	res := c.Response()
	h := res.Header()
	h.Set(echo.HeaderContentType, echo.MIMEOctetStream)
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf("attachment; filename=%q", name))
	h.Set("Cache-Control", "no-store")
	n, err := s.cfg.Store.Backup(res)
	switch {
	case err != nil && !res.Committed:
		// Nothing sent yet: answer with a problem, not a file (Echo
		// keeps a Content-Type already set).
		for _, k := range []string{echo.HeaderContentType, echo.HeaderContentDisposition, "Cache-Control"} {
			h.Del(k)
		}
		return fmt.Errorf("back up: %w", err)
	case err != nil:
		// The status is sent, so the copy cannot be taken back; abort the
		// connection so the client sees a broken transfer, not a short
		// file that ends cleanly.
		s.log.Error("backup failed while streaming", "request_id", requestID(c), "bytes", n, "error", err)
		panic(http.ErrAbortHandler)
	case !res.Committed:
		res.WriteHeader(http.StatusOK)
	}
	s.log.Info("operator backup", "request_id", requestID(c), "file", name, "bytes", n)
	return nil
}
