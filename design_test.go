package earshot_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The design the code cites lives in the repository (docs/design.md), so
// that someone who clones the project can follow every reference. These
// tests keep it so: no file points at design notes outside the repository,
// and the design defines every product rule that code and tests cite.

// designDoc is the project's design document, from the module root.
const designDoc = "docs/design.md"

// outsideRefs are ways of pointing at design notes outside the
// repository. They are assembled from parts so that this file does not
// match itself.
var outsideRefs = []string{
	"DESIGN" + " §",
	"DESIGN" + ".md",
	".." + "/shared",
	"shared" + "/DESIGN",
}

// skipDir reports whether a folder holds no text of the project's own:
// git's objects, caches, dependencies, and fuzz corpora (testdata/fuzz,
// generated inputs).
func skipDir(path string) bool {
	switch filepath.Base(path) {
	case ".git", ".cache", "node_modules":
		return true
	}
	return strings.HasSuffix(filepath.ToSlash(path), "testdata/fuzz")
}

// skipFiles are exempt from the reference check while they are being
// rewritten; this list shrinks to nothing, it never grows.
var skipFiles = map[string]bool{
	"ariapp/session.go": true,
}

func TestDesign_NoOutsideReferences(t *testing.T) {
	var checked int
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		slash := filepath.ToSlash(path)
		if d.IsDir() {
			if skipDir(path) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || skipFiles[slash] {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if isBinary(b) {
			return nil
		}
		checked++
		for i, line := range strings.Split(string(b), "\n") {
			for _, ref := range outsideRefs {
				if strings.Contains(line, ref) {
					t.Errorf("%s:%d points outside the repository (%q); point to %s instead:\n\t%s",
						slash, i+1, ref, designDoc, strings.TrimSpace(line))
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked only %d files: is the test running from the module root?", checked)
	}
}

// isBinary reports whether b looks like a binary file (images, builds):
// a NUL byte in its first 8 KiB, as git decides.
func isBinary(b []byte) bool {
	return bytes.IndexByte(b[:min(len(b), 8192)], 0) >= 0
}

func TestDesign_DefinesEveryRule(t *testing.T) {
	b, err := os.ReadFile(designDoc)
	if err != nil {
		t.Fatalf("the design document is missing: %v", err)
	}
	doc := string(b)
	for n := 1; n <= 11; n++ {
		// A heading ("#### R7 — ...") or a bold line ("**R7** ...") per rule.
		re := regexp.MustCompile(fmt.Sprintf(`(?m)^(#{1,6} +R%d\b|\*\*R%d\b)`, n, n))
		if got := len(re.FindAllStringIndex(doc, -1)); got != 1 {
			t.Errorf("%s defines R%d %d times, want once (a heading or a bold line)", designDoc, n, got)
		}
	}
	// Rule numbers beyond R11 do not exist.
	if m := regexp.MustCompile(`(?m)^(#{1,6} +|\*\*)R(1[2-9]|[2-9][0-9])\b`).FindString(doc); m != "" {
		t.Errorf("%s defines an unknown rule: %q", designDoc, m)
	}
}

// Every "R<n>" a Go file cites is one the design defines, so a comment
// cannot cite a rule that does not exist.
func TestDesign_CitedRulesExist(t *testing.T) {
	cite := regexp.MustCompile(`\bR([0-9]+)\b`)
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if skipDir(path) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range cite.FindAllStringSubmatch(string(b), -1) {
			var n int
			fmt.Sscan(m[1], &n)
			if n < 1 || n > 11 {
				t.Errorf("%s cites %s, which is not a rule of %s (R1–R11)", filepath.ToSlash(path), m[0], designDoc)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
