package httpapi

import (
	"regexp"
	"strings"

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
		// Echo's wildcard "*" is OpenAPI's one {file} parameter.
		path := strings.Replace(r.Path, "/*", "/{file}", 1)
		out = append(out, r.Method+" "+echoParam.ReplaceAllString(path, "{$1}"))
	}
	return out
}
