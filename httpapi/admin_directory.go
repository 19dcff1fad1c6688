package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/earshot/earshot/directory"
)

// yamlTypes are the media types a directory file may be sent as.
var yamlTypes = []string{"application/yaml", "text/yaml"}

// importDirectory imports a directory file (docs/design.md §4.3) sent as the body,
// as `earshot` does at start with --directory: one transaction, the same
// file twice changes nothing, and entries the file lacks are kept.
func (s *Server) importDirectory(c echo.Context) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if mt, _, err := mime.ParseMediaType(ct); err != nil || !slices.Contains(yamlTypes, mt) {
		return newProblem(http.StatusUnsupportedMediaType, "Content-Type must be application/yaml or text/yaml, not %q", ct)
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	f, err := directory.Parse(bytes.NewReader(body), s.cfg.DefaultRegion, directory.WithBcryptCost(s.cfg.PasswordCost))
	var pe *directory.ParseError
	switch {
	case errors.As(err, &pe):
		return parseProblem(pe)
	case err != nil:
		return fmt.Errorf("parse directory: %w", err)
	}
	ctx := c.Request().Context()
	ids := make([]string, len(f.Users))
	for i, u := range f.Users {
		ids[i] = u.ID
	}
	before, err := s.versions(ctx, ids...)
	if err != nil {
		return err
	}
	summary, err := s.cfg.Store.ImportDirectory(ctx, f)
	if err != nil {
		return storeInvalid(err, "import directory")
	}
	// Changed passwords, roles, scopes or organizations take effect on
	// what runs too.
	revoked, err := s.bumped(ctx, before)
	if err != nil {
		return err
	}
	s.enforce(ctx, revoked...)
	s.log.Info("operator imported directory", "request_id", requestID(c),
		"orgs", len(f.Orgs), "users", len(f.Users), "pools", len(f.Pools), "result", summary)
	return c.JSON(http.StatusOK, map[string]string{"result": summary})
}

// parseProblem is the 422 for a directory file with problems: one field
// error per problem, the field naming the entry (`users[2] (alice)`, or
// "(body)" for the file as a whole) and the detail its line. Parse lists
// at most 50 problems, each shortened, and counts the rest: one more
// error says how many, so the answer stays small whatever the file.
func parseProblem(pe *directory.ParseError) *Problem {
	errs := make([]FieldError, len(pe.Problems), len(pe.Problems)+1)
	for i, pr := range pe.Problems {
		fe := FieldError{Field: pr.Place, Detail: pr.Message}
		if fe.Field == "" {
			fe.Field = "(body)"
		}
		if pr.Line > 0 {
			fe.Detail = fmt.Sprintf("line %d: %s", pr.Line, pr.Message)
		}
		errs[i] = fe
	}
	if pe.More > 0 {
		errs = append(errs, FieldError{Field: "(body)", Detail: fmt.Sprintf("and %d more problems", pe.More)})
	}
	return invalid(errs...)
}
