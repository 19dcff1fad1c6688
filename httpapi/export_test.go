package httpapi

import (
	"regexp"

	"github.com/labstack/echo/v4"
)

var echoParam = regexp.MustCompile(`:(\w+)`)

// Routes lists "METHOD /path" for every route Echo serves, its :param
// written {param} as OpenAPI does; for the documentation coverage test.
func Routes(s *Server) []string {
	var out []string
	for _, r := range s.echo.Routes() {
		if r.Method == echo.RouteNotFound {
			continue
		}
		out = append(out, r.Method+" "+echoParam.ReplaceAllString(r.Path, "{$1}"))
	}
	return out
}
