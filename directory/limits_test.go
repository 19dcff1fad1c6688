package directory_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/directory"
)

// unknownFields is a directory file of about size bytes whose users each
// carry two misspelt fields: one problem per field.
func unknownFields(size int) (doc string, problems int) {
	var b strings.Builder
	b.WriteString("organizations: [{id: acme}]\nusers:\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "  - id: u%d\n    org: acme\n    roles: [supervisor]\n    passwrd: x\n    phone: y\n", i)
		problems += 2
	}
	return b.String(), problems
}

// A 1 MB file with tens of thousands of problems parses in time linear in
// its size (the line of each problem used to be found by a scan of every
// entry), and its error lists the first problems and counts the rest.
func TestParse_ManyProblemsLinear(t *testing.T) {
	elapsed := func(size int) (time.Duration, int) {
		doc, n := unknownFields(size)
		best := time.Duration(1 << 62)
		for range 3 {
			start := time.Now()
			_, err := parse(doc)
			best = min(best, time.Since(start))
			var pe *directory.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a ParseError", err)
			}
			if len(pe.Problems) != 50 || pe.More != n-50 {
				t.Fatalf("%d problems listed and %d more, want 50 and %d", len(pe.Problems), pe.More, n-50)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("and %d more", n-50)) || len(err.Error()) > 50*300 {
				t.Fatalf("error of %d bytes ends %q", len(err.Error()), err.Error()[max(0, len(err.Error())-100):])
			}
		}
		return best, n
	}
	small, n1 := elapsed(256 << 10)
	large, n2 := elapsed(1 << 20)
	t.Logf("%d problems in 256 KiB: %v; %d in 1 MiB: %v (ratio %.1f; quadratic would be about 16)",
		n1, small, n2, large, float64(large)/float64(small))
	// Four times the file: well under the sixteen times of a quadratic
	// lookup, with room for a noisy machine.
	if large > 10*small {
		t.Errorf("1 MiB took %.1f times as long as 256 KiB", float64(large)/float64(small))
	}
}

// Aliases that expand a small file into millions of values are refused
// with one short problem before anything is decoded.
func TestParse_AliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a: &a [\"" + strings.Repeat("x", 100) + "\"")
	b.WriteString(strings.Repeat(`, "x"`, 9))
	b.WriteString("]\n")
	prev := "a"
	for _, name := range []string{"b", "c", "d", "e", "f", "g", "h"} {
		fmt.Fprintf(&b, "%s: &%s [%s]\n", name, name, strings.TrimSuffix(strings.Repeat("*"+prev+", ", 10), ", "))
		prev = name
	}
	b.WriteString("organizations: [{id: acme}]\nusers:\n  - {id: u, org: acme, roles: *h}\n")
	start := time.Now()
	_, err := parse(b.String())
	t.Logf("refused in %v: %v", time.Since(start), err)
	var pe *directory.ParseError
	if !errors.As(err, &pe) || len(pe.Problems) != 1 || !strings.Contains(err.Error(), "aliases expand") || len(err.Error()) > 500 {
		t.Fatalf("err = %.500v", err)
	}
}

// A few aliases for repeated lists are fine.
func TestParse_FewAliases(t *testing.T) {
	f, err := parse(`
organizations: [{id: acme}]
users:
  - {id: a, org: acme, roles: &agent [agent], endpoint: PJSIP/1}
  - {id: b, org: acme, roles: *agent, endpoint: PJSIP/2}
`)
	if err != nil || len(f.Users) != 2 {
		t.Fatalf("%v, %v", f, err)
	}
}

// A value as long as the file is shortened in its problem.
func TestParse_LongValueShortened(t *testing.T) {
	long := strings.Repeat("r", 100000)
	_, err := parse("organizations: [{id: acme}]\nusers:\n  - {id: a, org: acme, roles: [" + long + "]}\n")
	if err == nil || len(err.Error()) > 500 || !strings.Contains(err.Error(), "(shortened)") {
		t.Fatalf("err = %.600v", err)
	}
}

// A file over MaxFileSize is refused without being decoded.
func TestParse_TooLarge(t *testing.T) {
	_, err := parse(strings.Repeat("#", directory.MaxFileSize+1))
	if err == nil || !strings.Contains(err.Error(), "larger than 8 MiB") {
		t.Fatalf("err = %v", err)
	}
}

// bigPool is a valid directory file of n agents, all members of one pool.
func bigPool(n int) string {
	var b strings.Builder
	b.WriteString("organizations: [{id: acme}]\nusers:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {id: a%d, org: acme, roles: [agent], endpoint: PJSIP/%d}\n", i, i)
	}
	b.WriteString("pools:\n  - id: p\n    org: acme\n    members:\n")
	for i := range n {
		fmt.Fprintf(&b, "      - a%d\n", i)
	}
	return b.String()
}

// A pool as large as the file is checked in linear time (duplicates were
// found by scanning the members so far).
func TestParse_BigPoolLinear(t *testing.T) {
	elapsed := func(n int) time.Duration {
		doc := bigPool(n)
		best := time.Duration(1 << 62)
		for range 3 {
			start := time.Now()
			f, err := parse(doc)
			best = min(best, time.Since(start))
			if err != nil || len(f.Pools[0].Members) != n {
				t.Fatalf("%d agents: %v", n, err)
			}
		}
		return best
	}
	small, large := elapsed(5000), elapsed(20000)
	t.Logf("5,000 members: %v; 20,000: %v (ratio %.1f; quadratic would be about 16)", small, large, float64(large)/float64(small))
	if large > 10*small {
		t.Errorf("4 times the members took %.1f times as long", float64(large)/float64(small))
	}
}
