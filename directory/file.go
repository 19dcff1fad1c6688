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
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
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
}

// maxFileSize bounds what Parse reads, since the admin API may feed it
// uploads; a directory of this size would hold about a hundred thousand users.
const maxFileSize = 32 << 20

// Option adjusts how Parse and Load treat a file.
type Option func(*options)

type options struct {
	bcryptCost int
}

// WithBcryptCost sets the bcrypt cost for plain-text passwords (default
// bcrypt.DefaultCost). Tests use bcrypt.MinCost, because hashing at the
// default cost takes tens of milliseconds per user.
func WithBcryptCost(cost int) Option {
	return func(o *options) { o.bcryptCost = cost }
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
	data, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read directory: %w", err)
	}
	if len(data) > maxFileSize {
		return nil, &ParseError{Problems: []Problem{{Message: fmt.Sprintf("the file is larger than %d MiB", maxFileSize>>20)}}}
	}

	doc, problems := decode(data)
	if doc == nil {
		return nil, &ParseError{Problems: problems}
	}
	v := validator{doc: doc, region: defaultRegion, problems: problems}
	f := v.validate()
	if len(v.problems) > 0 {
		sortProblems(v.problems)
		return nil, &ParseError{Problems: v.problems}
	}
	// Hash only a file that is otherwise good: bcrypt is slow on purpose.
	for i := range f.Users {
		d := doc.Users[i]
		if d.Password == "" {
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
		// sections holds where each top-level key is.
		sections map[string]int `yaml:"-"`
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
	doc := &fileDoc{lines: map[string][]int{}, fieldLines: map[string][]map[string]int{}, sections: map[string]int{}}
	if top := root.Content[0]; top.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(top.Content); i += 2 {
			key, val := top.Content[i], top.Content[i+1]
			doc.sections[key.Value] = key.Line
			if val.Kind == yaml.SequenceNode {
				for _, item := range val.Content {
					doc.lines[key.Value] = append(doc.lines[key.Value], item.Line)
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
// before it, unless a section key comes between.
func (doc *fileDoc) placeAt(line int) string {
	best, place := 0, ""
	for _, at := range doc.sections {
		if at <= line && at > best {
			best, place = at, ""
		}
	}
	for sec, lines := range doc.lines {
		for i, at := range lines {
			if at <= line && at >= best {
				best, place = at, doc.place(sec, i)
			}
		}
	}
	return place
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
