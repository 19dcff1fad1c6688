package httpapi

import (
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
)

// consoleCSP allows the console's own files and API, inline SVG (the QR
// code) and nothing from elsewhere.
const consoleCSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// consoleIndex serves the console's page at /.
func (s *Server) consoleIndex(c echo.Context) error {
	return s.consoleFile(c, "index.html")
}

// consoleAsset serves /console/<file>.
func (s *Server) consoleAsset(c echo.Context) error {
	name := path.Clean(strings.TrimPrefix(c.Param("*"), "/"))
	if name == "." || strings.HasPrefix(name, "..") {
		return echo.ErrNotFound
	}
	return s.consoleFile(c, name)
}

func (s *Server) consoleFile(c echo.Context, name string) error {
	b, err := fs.ReadFile(s.cfg.Console, name)
	if err != nil {
		return echo.ErrNotFound
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", consoleCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	// Small files from the binary: revalidate, so an upgrade shows at once.
	h.Set("Cache-Control", "no-cache")
	if name == "sw.js" {
		// The service worker lives under /console/ but serves the
		// console at /.
		h.Set("Service-Worker-Allowed", "/")
	}
	ctype := "application/octet-stream"
	switch path.Ext(name) {
	case ".html":
		ctype = "text/html; charset=utf-8"
	case ".js", ".mjs":
		ctype = "text/javascript; charset=utf-8"
	case ".css":
		ctype = "text/css; charset=utf-8"
	case ".svg":
		ctype = "image/svg+xml"
	case ".png":
		ctype = "image/png"
	case ".webmanifest":
		ctype = "application/manifest+json"
	}
	return c.Blob(http.StatusOK, ctype, b)
}
