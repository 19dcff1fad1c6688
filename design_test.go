package earshot_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The design the code cites lives in the repository (docs/design.md), so
// that someone who clones the project can follow every reference. These
// tests keep it so: no file points at design notes outside the
// repository, the design defines every product rule once, and no file
// cites a rule the design does not define.

// designDoc is the project's design document, from the module root.
const designDoc = "docs/design.md"

// rules is how many product rules the design defines: R1 to R11.
const rules = 11

// outsideRefs are ways of pointing at design notes outside the
// repository. They are assembled from parts so that this file does not
// match itself.
var outsideRefs = []string{
	"DESIGN" + " §",
	"DESIGN" + ".md",
	".." + "/shared",
	"shared" + "/DESIGN",
}

// citingExts are the kinds of file whose "R<n>" mentions are rule
// citations: the project's code and prose (not vendored scripts, whose
// identifiers may look alike).
var citingExts = map[string]bool{".go": true, ".md": true, ".yaml": true, ".yml": true, ".conf": true, ".sh": true}

// outsideRefsIn returns, for each line of text that points outside the
// repository, "line N: <what it points with>".
func outsideRefsIn(text string) []string {
	var out []string
	for i, line := range strings.Split(text, "\n") {
		for _, ref := range outsideRefs {
			if strings.Contains(line, ref) {
				out = append(out, "line "+strconv.Itoa(i+1)+": "+ref)
			}
		}
	}
	return out
}

// ruleDef is a rule's definition: a Markdown heading ("#### R7 — ...")
// or a line starting in bold ("**R7** ...").
var ruleDef = regexp.MustCompile(`(?m)^(?:#{1,6}[ \t]+|\*\*)R([0-9]+)\b`)

// ruleDefinitions counts the definitions of each rule number in doc.
func ruleDefinitions(doc string) map[int]int {
	n := map[int]int{}
	for _, m := range ruleDef.FindAllStringSubmatch(doc, -1) {
		k, _ := strconv.Atoi(m[1])
		n[k]++
	}
	return n
}

// ruleCite is a mention of a rule: R, a number, and no letter or digit
// on either side (so "R2–R4" cites two rules and "RFC" or "R2D2" none).
var ruleCite = regexp.MustCompile(`\bR([0-9]+)\b`)

// unknownRules returns the rule citations in text that name no rule.
func unknownRules(text string) []string {
	var out []string
	for _, m := range ruleCite.FindAllStringSubmatch(text, -1) {
		if k, err := strconv.Atoi(m[1]); err != nil || k < 1 || k > rules {
			out = append(out, m[0])
		}
	}
	return out
}

// isBinary reports whether b looks like a binary file (images, builds):
// a NUL byte in its first 8 KiB, as git decides.
func isBinary(b []byte) bool {
	return bytes.IndexByte(b[:min(len(b), 8192)], 0) >= 0
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

// textFiles calls f with the slash path and content of every text file
// of the repository (the test runs in the module root).
func textFiles(t *testing.T, f func(path, text string)) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "." && skipDir(path) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !isBinary(b) {
			n++
			f(filepath.ToSlash(path), string(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 50 {
		t.Fatalf("found only %d text files: is the test running in the module root?", n)
	}
}

func TestDesign_NoOutsideReferences(t *testing.T) {
	textFiles(t, func(path, text string) {
		for _, r := range outsideRefsIn(text) {
			t.Errorf("%s, %s: points outside the repository; point to %s instead", path, r, designDoc)
		}
	})
}

func TestDesign_DefinesEveryRule(t *testing.T) {
	b, err := os.ReadFile(designDoc)
	if err != nil {
		t.Fatalf("the design document is missing: %v", err)
	}
	defs := ruleDefinitions(string(b))
	for k := 1; k <= rules; k++ {
		if defs[k] != 1 {
			t.Errorf("%s defines R%d %d times, want once (a heading or a line starting in bold)", designDoc, k, defs[k])
		}
	}
	for k, n := range defs {
		if k < 1 || k > rules {
			t.Errorf("%s defines R%d (%d times); the rules are R1–R%d", designDoc, k, n, rules)
		}
	}
}

func TestDesign_CitedRulesExist(t *testing.T) {
	textFiles(t, func(path, text string) {
		if !citingExts[filepath.Ext(path)] {
			return
		}
		for _, c := range unknownRules(text) {
			t.Errorf("%s cites %s, which %s does not define (R1–R%d)", path, c, designDoc, rules)
		}
	})
}

// designSection is a numbered heading of the design: "## 2. How ..." or
// "### 2.11 Reconciliation ...".
var designSection = regexp.MustCompile(`(?m)^#{2,4} +([0-9]+(?:\.[0-9]+)*)\.? `)

// sectionRef is a reference to a section: "docs/design.md §2.11" in any
// file, or a bare "§2.11" inside the design itself.
var (
	sectionRef     = regexp.MustCompile(`docs/design\.md §([0-9]+(?:\.[0-9]+)*)`)
	bareSectionRef = regexp.MustCompile(`§([0-9]+(?:\.[0-9]+)*)`)
)

// sections returns the section numbers the design's headings define.
func sections(doc string) map[string]bool {
	out := map[string]bool{}
	for _, m := range designSection.FindAllStringSubmatch(doc, -1) {
		out[m[1]] = true
	}
	return out
}

// Every "docs/design.md §N" reference names a section that exists, so
// renumbering the design cannot leave references dangling.
func TestDesign_SectionReferencesExist(t *testing.T) {
	b, err := os.ReadFile(designDoc)
	if err != nil {
		t.Fatalf("the design document is missing: %v", err)
	}
	have := sections(string(b))
	if len(have) < 5 {
		t.Fatalf("%s has %d numbered sections; want its headings numbered (## 1. ..., ### 1.1 ...)", designDoc, len(have))
	}
	textFiles(t, func(path, text string) {
		re := sectionRef
		if path == designDoc {
			re = bareSectionRef
		}
		for _, m := range re.FindAllStringSubmatch(text, -1) {
			if !have[strings.TrimSuffix(m[1], ".")] {
				t.Errorf("%s refers to %s §%s, which does not exist", path, designDoc, m[1])
			}
		}
	})
}

// The checks themselves, on hostile and borderline input (written in
// parts where the whole would trip the checks on this very file).
func TestDesign_Checks(t *testing.T) {
	refs := []struct {
		text string
		want int
	}{
		{"// see docs/design.md §2.6", 0},
		{"// whisper direction (" + "DESIGN" + " §2)", 1},
		{"format in " + "DESIGN" + ".md", 1},
		{"cat " + ".." + "/shared/notes.txt", 1},
		{"/work/" + "shared" + "/DESIGN" + ".md", 2},
		{"design §2, DESIGNER, shared/README", 0},
		{"ok\nok\n" + "DESIGN" + " §4\n", 1},
	}
	for _, tc := range refs {
		if got := outsideRefsIn(tc.text); len(got) != tc.want {
			t.Errorf("outsideRefsIn(%q) = %q, want %d", tc.text, got, tc.want)
		}
	}
	if got := outsideRefsIn("a\nb\n" + "DESIGN" + " §1"); len(got) != 1 || !strings.HasPrefix(got[0], "line 3:") {
		t.Errorf("line number: got %q, want line 3", got)
	}

	defs := []struct {
		doc  string
		want map[int]int
	}{
		{"#### R1 — a\n\n#### R2 — b\n", map[int]int{1: 1, 2: 1}},
		{"**R3** bold line\n## R10 heading\n", map[int]int{3: 1, 10: 1}},
		{"#### R1 — a\n#### R1 — again\n", map[int]int{1: 2}},
		{"text mentions R4 and **R5** mid-line\n", map[int]int{}},
		{"#### R" + "12 — one too many\n", map[int]int{12: 1}},
		{"#### R1x no\n####R2 no space\n", map[int]int{}},
	}
	for _, tc := range defs {
		got := ruleDefinitions(tc.doc)
		if len(got) != len(tc.want) {
			t.Errorf("ruleDefinitions(%q) = %v, want %v", tc.doc, got, tc.want)
			continue
		}
		for k, n := range tc.want {
			if got[k] != n {
				t.Errorf("ruleDefinitions(%q) = %v, want %v", tc.doc, got, tc.want)
			}
		}
	}

	secs := sections("# Title\n## 1. Product\n### 1.2 Rules\n#### R1 — x\n## 10. Ten\ntext ## 3. no\n")
	if len(secs) != 3 || !secs["1"] || !secs["1.2"] || !secs["10"] {
		t.Errorf("sections = %v, want 1, 1.2 and 10", secs)
	}
	if m := sectionRef.FindAllStringSubmatch("see docs/design.md §2.11. And docs/design.md §4", -1); len(m) != 2 || m[0][1] != "2.11" || m[1][1] != "4" {
		t.Errorf("sectionRef matches = %q, want 2.11 and 4", m)
	}

	cites := []struct {
		text string
		want []string
	}{
		{"(R1, R11) R2–R4", nil},
		{"R" + "0 and R" + "12", []string{"R" + "0", "R" + "12"}},
		{"RFC 9457, R2D2, PR42, R" + "99999999999999999999", []string{"R" + "99999999999999999999"}},
		{"", nil},
	}
	for _, tc := range cites {
		got := unknownRules(tc.text)
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("unknownRules(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}
