package directory

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/earshot/earshot"
)

// Problem is one thing wrong with a directory file, with its place.
type Problem struct {
	// Line is the line of the entry (or the field) in the file; 0 when
	// unknown.
	Line int
	// Place names the entry, e.g. `users[2] (alice)`; "" for the file as
	// a whole.
	Place string
	// Message says what is wrong, for people.
	Message string
}

// String formats the problem as `line 14: users[2] (alice): org "acmee"
// does not exist`.
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Place != "" {
		b.WriteString(p.Place)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// ParseError lists the problems found in a directory file, so an
// operator fixes them in one round rather than one per import: all of
// them, up to maxProblems (in line order), and how many more there are.
type ParseError struct {
	Problems []Problem
	// More counts the problems found beyond Problems.
	More int
}

// maxProblemText bounds a problem's message and place: they quote the
// file, and a quoted value may be as long as the file.
const maxProblemText = 200

// newParseError sorts problems by line, keeps the first maxProblems and
// shortens what each quotes, so the error stays small whatever the file.
func newParseError(problems []Problem) *ParseError {
	sortProblems(problems)
	e := &ParseError{Problems: problems}
	if len(problems) > maxProblems {
		e.Problems, e.More = problems[:maxProblems], len(problems)-maxProblems
	}
	for i := range e.Problems {
		e.Problems[i].Message = shorten(e.Problems[i].Message)
		e.Problems[i].Place = shorten(e.Problems[i].Place)
	}
	return e
}

// shorten cuts s to maxProblemText bytes, on a character boundary.
func shorten(s string) string {
	if len(s) <= maxProblemText {
		return s
	}
	cut := maxProblemText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "… (shortened)"
}

// Error lists the problems one per line.
func (e *ParseError) Error() string {
	lines := make([]string, len(e.Problems), len(e.Problems)+1)
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	if e.More > 0 {
		lines = append(lines, fmt.Sprintf("and %d more", e.More))
	}
	if len(e.Problems) == 1 && e.More == 0 {
		return lines[0]
	}
	return fmt.Sprintf("%d problems:\n%s", len(e.Problems)+e.More, strings.Join(lines, "\n"))
}

// Unwrap makes the error an EINVALID earshot error, so earshot.ErrorCode
// and earshot.ErrorMessage (and the HTTP layer's one table) treat a bad
// import as bad input carrying the whole list.
func (e *ParseError) Unwrap() error {
	return &earshot.Error{Code: earshot.EINVALID, Message: e.Error()}
}
