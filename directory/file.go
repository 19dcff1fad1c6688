// Package directory reads the directory file (docs/design.md §4.3), the YAML list of
// organizations, users and service pools an operator maintains, and serves
// it as an in-memory earshot.Directory.
//
// Parse is strict because a typo in this file fails silently at call time:
// a misspelt field is an error, references are checked, phone numbers are
// normalised to E.164 and endpoints checked, and every problem is reported
// at once with its line and entry. Plain-text passwords are hashed with
// bcrypt while parsing, so only hashes ever leave this package.
package directory

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/phone"
)

// File is a parsed and validated directory file: every reference
// resolves, phone numbers are E.164 and passwords are hashed.
type File struct {
	Orgs  []earshot.Organization
	Users []earshot.User
	Pools []earshot.Pool

	// plain holds the plain-text passwords by user id, for SamePassword;
	// it never leaves the package.
	plain map[string]string
}

// SamePassword reports whether the file gives user a plain-text password
// and hash verifies it: then the import keeps hash rather than the fresh
// one Parse made, so a re-read file changes nothing.
func (f *File) SamePassword(user, hash string) bool {
	pw, ok := f.plain[user]
	return ok && hash != "" && VerifyPassword(hash, pw)
}

// MaxFileSize bounds what Parse reads, at start and from the operator
// API alike: about fifty thousand users. Decoding keeps a node tree of
// the file, a few times its size.
const MaxFileSize = 8 << 20

// maxProblems bounds the problems a ParseError lists; one more says how
// many were left out.
const maxProblems = 50

// Option adjusts how Parse and Load treat a file.
type Option func(*options)

type options struct {
	bcryptCost int
	known      func(user string) []string
}

// WithBcryptCost sets the bcrypt cost for plain-text passwords (default
// bcrypt.DefaultCost). Tests use bcrypt.MinCost, because hashing at the
// default cost takes tens of milliseconds per user.
func WithBcryptCost(cost int) Option {
	return func(o *options) { o.bcryptCost = cost }
}

// WithKnownHashes gives Parse the hashes a user's password already has
// (the store's: as last imported, and as stored). A plain-text password
// one of them verifies keeps that hash instead of a new one, so a re-read
// file costs one check per password rather than a new hash and a check,
// and changes nothing.
func WithKnownHashes(known func(user string) []string) Option {
	return func(o *options) { o.known = known }
}

// Load reads and parses the directory file at path; see Parse.
func Load(path string, defaultRegion string, opts ...Option) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load directory: %w", err)
	}
	defer fh.Close()
	f, err := Parse(fh, defaultRegion, opts...)
	if err != nil {
		return nil, fmt.Errorf("load directory %s: %w", path, err)
	}
	return f, nil
}

// Parse reads a directory file. Phone numbers written without a country
// code are read as numbers of defaultRegion (e.g. "FI"). A file with
// problems returns a *ParseError listing all of them, which is an EINVALID
// earshot error.
func Parse(r io.Reader, defaultRegion string, opts ...Option) (*File, error) {
	o := options{bcryptCost: bcrypt.DefaultCost}
	for _, opt := range opts {
		opt(&o)
	}
	if o.bcryptCost < bcrypt.MinCost || o.bcryptCost > bcrypt.MaxCost {
		return nil, fmt.Errorf("parse directory: bcrypt cost %d is outside %d..%d", o.bcryptCost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	if defaultRegion != "" && !phone.KnownRegion(defaultRegion) {
		return nil, earshot.Errorf(earshot.EINVALID, "default region %q is not a known region", defaultRegion)
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read directory: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, &ParseError{Problems: []Problem{{Message: fmt.Sprintf("the file is larger than %d MiB", MaxFileSize>>20)}}}
	}

	doc, problems := decode(data)
	if doc == nil {
		return nil, newParseError(problems)
	}
	v := validator{doc: doc, region: defaultRegion, problems: problems}
	f := v.validate()
	if len(v.problems) > 0 {
		return nil, newParseError(v.problems)
	}
	f.plain = map[string]string{}
	// Hash only a file that is otherwise good: bcrypt is slow on purpose.
	for i := range f.Users {
		d := doc.Users[i]
		if d.Password == "" {
			continue
		}
		f.plain[d.ID] = d.Password
		if h := o.knownHash(d.ID, d.Password); h != "" {
			f.Users[i].PasswordHash = h
			continue
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(d.Password), o.bcryptCost)
		if err != nil {
			return nil, fmt.Errorf("hash password of user %q: %w", d.ID, err)
		}
		f.Users[i].PasswordHash = string(hash)
	}
	return f, nil
}

// knownHash returns the first known hash of user that verifies password,
// or "".
func (o *options) knownHash(user, password string) string {
	if o.known == nil {
		return ""
	}
	for _, h := range o.known(user) {
		if h != "" && VerifyPassword(h, password) {
			return h
		}
	}
	return ""
}

// The file as written. Field names are the contract of docs/design.md §4.3.
type (
	fileDoc struct {
		Organizations []orgDoc  `yaml:"organizations"`
		Users         []userDoc `yaml:"users"`
		Pools         []poolDoc `yaml:"pools"`

		// lines holds where each entry starts, by section, filled from
		// the node tree.
		lines map[string][]int `yaml:"-"`
		// fieldLines holds where each entry's fields are, by section.
		fieldLines map[string][]map[string]int `yaml:"-"`
		// starts lists where each section key and each entry is, in line
		// order, for placeAt.
		starts []start `yaml:"-"`
	}
	// start is where a section key (entry -1) or an entry begins.
	start struct {
		line  int
		sec   string
		entry int
	}
	orgDoc struct {
		ID       string   `yaml:"id"`
		Name     string   `yaml:"name"`
		Features []string `yaml:"features"`
	}
	userDoc struct {
		ID           string   `yaml:"id"`
		Org          string   `yaml:"org"`
		Name         string   `yaml:"name"`
		Roles        []string `yaml:"roles"`
		Password     string   `yaml:"password"`
		PasswordHash string   `yaml:"password_hash"`
		PhoneNumber  string   `yaml:"phone_number"`
		Endpoint     string   `yaml:"endpoint"`
		Endpoints    []string `yaml:"endpoints"`
		Pools        []string `yaml:"pools"`
	}
	poolDoc struct {
		ID      string   `yaml:"id"`
		Org     string   `yaml:"org"`
		Name    string   `yaml:"name"`
		Number  string   `yaml:"number"`
		Members []string `yaml:"members"`
	}
)

// Section names as written in the file, which are also the places'
// prefixes in problems.
const (
	secOrgs  = "organizations"
	secUsers = "users"
	secPools = "pools"
)

// decode reads the file strictly. It returns nil when nothing useful could
// be read (a syntax error, an empty file); otherwise the document and the
// problems decoding found (unknown fields, wrong types), which validation
// adds to.
func decode(data []byte) (*fileDoc, []Problem) {
	// The node tree gives each entry's line for problems found later;
	// decoding it is cheap next to bcrypt.
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, []Problem{syntaxProblem(err)}
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, []Problem{{Message: "the file is empty"}}
	}
	if p, ok := checkAliases(&root); !ok {
		return nil, []Problem{p}
	}
	doc := &fileDoc{lines: map[string][]int{}, fieldLines: map[string][]map[string]int{}}
	if top := root.Content[0]; top.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(top.Content); i += 2 {
			key, val := top.Content[i], top.Content[i+1]
			doc.starts = append(doc.starts, start{line: key.Line, sec: key.Value, entry: -1})
			if val.Kind == yaml.SequenceNode {
				for j, item := range val.Content {
					doc.lines[key.Value] = append(doc.lines[key.Value], item.Line)
					doc.starts = append(doc.starts, start{line: item.Line, sec: key.Value, entry: j})
					fields := map[string]int{}
					if item.Kind == yaml.MappingNode {
						for j := 0; j+1 < len(item.Content); j += 2 {
							fields[item.Content[j].Value] = item.Content[j].Line
						}
					}
					doc.fieldLines[key.Value] = append(doc.fieldLines[key.Value], fields)
				}
			}
		}
	}
	// Document order is line order already; a stable sort keeps a
	// section key before an entry on its own line.
	slices.SortStableFunc(doc.starts, func(a, b start) int { return cmp.Compare(a.line, b.line) })

	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(doc)
	var problems []Problem
	var terr *yaml.TypeError
	switch {
	case errors.As(err, &terr):
		for _, msg := range terr.Errors {
			problems = append(problems, doc.typeProblem(msg))
		}
	case err != nil:
		return nil, []Problem{syntaxProblem(err)}
	}
	var rest yaml.Node
	if err := dec.Decode(&rest); err == nil {
		problems = append(problems, Problem{Line: rest.Line, Message: "the file holds more than one YAML document"})
	}
	return doc, problems
}

var (
	lineRE         = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownFieldRE = regexp.MustCompile(`^field (.+) not found in type directory\.(\w+)$`)
)

// syntaxProblem turns a YAML syntax error into a problem with its line.
func syntaxProblem(err error) Problem {
	msg := err.Error()
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Problem{Line: line, Message: "YAML: " + m[2]}
	}
	return Problem{Message: strings.TrimPrefix(msg, "yaml: ")}
}

// typeProblem rewrites one of yaml.v3's decoding errors, such as "line 5:
// field passwrd not found in type directory.userDoc", in the file's terms.
func (doc *fileDoc) typeProblem(msg string) Problem {
	m := lineRE.FindStringSubmatch(msg)
	if m == nil {
		return Problem{Message: msg}
	}
	line, _ := strconv.Atoi(m[1])
	p := Problem{Line: line, Place: doc.placeAt(line), Message: typeNames.Replace(m[2])}
	if f := unknownFieldRE.FindStringSubmatch(m[2]); f != nil {
		p.Message = fmt.Sprintf("unknown field %q", f[1])
		if f[2] == "fileDoc" {
			p.Message = fmt.Sprintf("unknown section %q (want organizations, users, pools)", f[1])
		}
	}
	return p
}

// typeNames says in the file's terms what yaml.v3 names by Go type, as in
// "cannot unmarshal !!str `x` into directory.userDoc".
var typeNames = strings.NewReplacer(
	"directory.fileDoc", "a directory file",
	"directory.orgDoc", "an organization",
	"directory.userDoc", "a user",
	"directory.poolDoc", "a pool",
)

// placeAt names the entry that holds line: the one starting last at or
// before it, unless a section key comes between. A binary search, since
// a file with many problems asks once per problem.
func (doc *fileDoc) placeAt(line int) string {
	i, _ := slices.BinarySearchFunc(doc.starts, line+1, func(s start, l int) int { return cmp.Compare(s.line, l) })
	if i == 0 || doc.starts[i-1].entry < 0 {
		return ""
	}
	return doc.place(doc.starts[i-1].sec, doc.starts[i-1].entry)
}

// place names entry i of a section, with its id once it is decoded:
// `users[2] (alice)`.
func (doc *fileDoc) place(sec string, i int) string {
	id := ""
	switch {
	case sec == secOrgs && i < len(doc.Organizations):
		id = doc.Organizations[i].ID
	case sec == secUsers && i < len(doc.Users):
		id = doc.Users[i].ID
	case sec == secPools && i < len(doc.Pools):
		id = doc.Pools[i].ID
	}
	if id == "" {
		return fmt.Sprintf("%s[%d]", sec, i)
	}
	return fmt.Sprintf("%s[%d] (%s)", sec, i, id)
}

// line returns where field of entry i of a section is, or where the entry
// starts when field is "" or absent, or 0.
func (doc *fileDoc) line(sec string, i int, field string) int {
	if fields := doc.fieldLines[sec]; i < len(fields) && fields[i][field] > 0 {
		return fields[i][field]
	}
	if lines := doc.lines[sec]; i < len(lines) {
		return lines[i]
	}
	return 0
}

// maxAliasGrowth bounds what YAML aliases may add to a file: decoding
// copies an alias's value at every use, so a few lines of anchors can
// stand for millions of values (and as many problems). A directory file
// needs no aliases; a few for repeated lists are fine.
const maxAliasGrowth = 10000

// checkAliases counts the values of the node tree with every alias
// expanded; past the values written plus maxAliasGrowth it returns the
// problem. Each anchored value is counted once (memo), so the check is
// linear in the file.
func checkAliases(root *yaml.Node) (Problem, bool) {
	memo := map[*yaml.Node]int64{}
	var written int64
	var count func(n *yaml.Node, alias bool) int64
	count = func(n *yaml.Node, alias bool) int64 {
		if n == nil {
			return 0
		}
		if !alias {
			written++
		}
		if n.Kind == yaml.AliasNode {
			return 1 + count(n.Alias, true)
		}
		if alias {
			if c, ok := memo[n]; ok {
				return c
			}
			memo[n] = 1 // an alias inside its own anchor; yaml.v3 refuses those
		}
		total := int64(1)
		for _, c := range n.Content {
			// Saturate: nested aliases multiply.
			total = min(total+count(c, alias), 1<<40)
		}
		if alias {
			memo[n] = total
		}
		return total
	}
	expanded := count(root, false)
	if expanded > written+maxAliasGrowth {
		return Problem{Message: fmt.Sprintf("YAML aliases expand the file's %d values to %d; at most %d more are allowed: write the values out", written, expanded, maxAliasGrowth)}, false
	}
	return Problem{}, true
}
