package directory

import (
	"fmt"
	"strings"

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

// ParseError lists every problem found in a directory file, so an
// operator fixes them in one round rather than one per import.
type ParseError struct {
	Problems []Problem
}

// Error lists the problems one per line.
func (e *ParseError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	if len(lines) == 1 {
		return lines[0]
	}
	return fmt.Sprintf("%d problems:\n%s", len(lines), strings.Join(lines, "\n"))
}

// Unwrap makes the error an EINVALID earshot error, so earshot.ErrorCode
// and earshot.ErrorMessage (and the HTTP layer's one table) treat a bad
// import as bad input carrying the whole list.
func (e *ParseError) Unwrap() error {
	return &earshot.Error{Code: earshot.EINVALID, Message: e.Error()}
}
