package directory_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/directory"
	"github.com/earshot/earshot/internal/memdir"
)

// fixture is the path of a file under testdata/directory.
func fixture(name string) string { return filepath.Join("..", "testdata", "directory", name) }

// MustLoad loads a fixture with the cheapest bcrypt cost.
func MustLoad(tb testing.TB, name string) *directory.File {
	tb.Helper()
	f, err := directory.Load(fixture(name), "FI", directory.WithBcryptCost(bcrypt.MinCost))
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

func parse(s string) (*directory.File, error) {
	return directory.Parse(strings.NewReader(s), "FI", directory.WithBcryptCost(bcrypt.MinCost))
}

func TestLoad(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		f := MustLoad(t, "demo.yaml")
		ids := func(n int, id func(int) string) []string {
			var out []string
			for i := range n {
				out = append(out, id(i))
			}
			return out
		}
		if got, want := ids(len(f.Orgs), func(i int) string { return f.Orgs[i].ID }), []string{"acme", "globex"}; !slices.Equal(got, want) {
			t.Errorf("orgs %v, want %v", got, want)
		}
		if got, want := ids(len(f.Users), func(i int) string { return f.Users[i].ID }), []string{"sara", "alice", "bob", "carol", "gina", "gus"}; !slices.Equal(got, want) {
			t.Errorf("users %v, want %v", got, want)
		}
		if got, want := ids(len(f.Pools), func(i int) string { return f.Pools[i].ID }), []string{"sales", "support", "helpdesk"}; !slices.Equal(got, want) {
			t.Errorf("pools %v, want %v", got, want)
		}
		if !f.Orgs[0].Has(earshot.FeatureSupervising) || f.Orgs[1].Has(earshot.FeatureSupervising) {
			t.Errorf("features: acme %v, globex %v", f.Orgs[0].Features, f.Orgs[1].Features)
		}
		sara, gina := f.Users[0], f.Users[4]
		if sara.PhoneNumber != "+358401234567" || !sara.HasRole(earshot.RoleSupervisor) || sara.Name != "Sara Supervisor" {
			t.Errorf("sara = %+v", sara)
		}
		if gina.PhoneNumber != "+358401234568" {
			t.Errorf("gina's national number became %q, want +358401234568", gina.PhoneNumber)
		}
		if alice := f.Users[1]; alice.Endpoint != "Local/alice@earshot-test-phones" || !alice.HasRole(earshot.RoleAgent) {
			t.Errorf("alice = %+v", alice)
		}
		if sales := f.Pools[0]; sales.Number != "+35891234500" || !slices.Equal(sales.Members, []string{"alice", "bob"}) || sales.Org != "acme" {
			t.Errorf("sales = %+v", sales)
		}
		// Every demo user signs in with "change-me", whichever form the
		// file gives the password in.
		for _, u := range f.Users {
			if !directory.VerifyPassword(u.PasswordHash, "change-me") {
				t.Errorf("%s: password does not verify against %q", u.ID, u.PasswordHash)
			}
			if strings.Contains(u.PasswordHash, "change-me") {
				t.Errorf("%s: plain password kept", u.ID)
			}
		}
	})

	t.Run("ErrNotExist", func(t *testing.T) {
		_, err := directory.Load(fixture("missing.yaml"), "FI")
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("err = %v, want os.ErrNotExist", err)
		}
	})
}

func TestParse(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		f, err := parse(`
organizations: [{id: acme}]
users:
  - {id: sam, org: acme, roles: [supervisor, agent], endpoint: PJSIP/1001, pools: [sales], phone_number: "tel:+358401234567"}
pools:
  - {id: sales, org: acme, members: [sam]}
`)
		if err != nil {
			t.Fatal(err)
		}
		if o := f.Orgs[0]; o.Name != "acme" || o.Features == nil || len(o.Features) != 0 {
			t.Errorf("org = %#v, want name defaulting to id and no features", o)
		}
		u := f.Users[0]
		if u.Name != "sam" || u.PasswordHash != "" || u.PhoneNumber != "+358401234567" || !slices.Equal(u.Pools, []string{"sales"}) {
			t.Errorf("user = %#v", u)
		}
		if f.Pools[0].Number != "" {
			t.Errorf("pool number = %q, want none", f.Pools[0].Number)
		}
	})

	t.Run("Endpoints", func(t *testing.T) {
		// One endpoint, several, or none (bound by EARSHOT_AGENT on the
		// agent leg only).
		f, err := parse(`
organizations: [{id: acme}]
users:
  - {id: al, org: acme, roles: [agent], endpoint: PJSIP/1001}
  - {id: bo, org: acme, roles: [agent], endpoints: [PJSIP/1002, PJSIP/1002-soft, Local/bo@phones]}
  - {id: cy, org: acme, roles: [agent]}
`)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range [][]string{{"PJSIP/1001"}, {"PJSIP/1002", "PJSIP/1002-soft", "Local/bo@phones"}, nil} {
			if got := f.Users[i].AgentEndpoints(); !slices.Equal(got, want) {
				t.Errorf("%s: endpoints %q, want %q", f.Users[i].ID, got, want)
			}
		}
		if u := f.Users[0]; u.Endpoint != "PJSIP/1001" || u.Endpoints != nil {
			t.Errorf("endpoint: is kept as written: %#v", u)
		}
	})

	t.Run("BcryptCost", func(t *testing.T) {
		const doc = `
organizations: [{id: acme}]
users: [{id: sara, org: acme, roles: [supervisor], password: pw}]
`
		f, err := directory.Parse(strings.NewReader(doc), "FI", directory.WithBcryptCost(bcrypt.MinCost+1))
		if err != nil {
			t.Fatal(err)
		}
		if cost, err := bcrypt.Cost([]byte(f.Users[0].PasswordHash)); err != nil || cost != bcrypt.MinCost+1 {
			t.Errorf("cost = %d, %v; want %d", cost, err, bcrypt.MinCost+1)
		}
		if _, err := directory.Parse(strings.NewReader(doc), "FI", directory.WithBcryptCost(99)); err == nil {
			t.Error("cost 99 accepted")
		}
	})

	t.Run("ErrRegion", func(t *testing.T) {
		_, err := directory.Parse(strings.NewReader("users: []"), "XX")
		if earshot.ErrorCode(err) != earshot.EINVALID || !strings.Contains(err.Error(), `"XX" is not a known region`) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestParse_Problems checks that every problem of a file is reported, in
// line order, each with its place.
func TestParse_Problems(t *testing.T) {
	for _, tt := range []struct {
		name string
		file string // a fixture name, or the document itself
		want []string
	}{
		{"UnknownField", "unknown-field.yaml", []string{
			`line 9: users[0] (sara): unknown field "phone_numbr"`,
			`line 14: unknown section "pool" (want organizations, users, pools)`,
		}},
		{"BadRefs", "bad-refs.yaml", []string{
			`line 10: users[0] (sara): pool "nowhere" does not exist`,
			`line 10: users[0] (sara): pool "helpdesk" is in org "globex", not "acme"`,
			`line 16: users[2] (dave): org "acmee" does not exist`,
			`line 26: pools[0] (sales): member "ghost" does not exist`,
			`line 26: pools[0] (sales): member "gus" is in org "globex", not "acme"`,
			`line 26: pools[0] (sales): member "sara" is not an agent`,
			`line 30: pools[2] (orphan): org is missing`,
		}},
		{"Duplicates", "duplicates.yaml", []string{
			`line 4: organizations[1] (acme): id "acme" is already used by organizations[0] (acme)`,
			`line 13: users[1] (sam): phone_number +358401234567 is already used by users[0] (sara)`,
			`line 18: users[3] (alice): id "alice" is already used by users[2] (alice)`,
			`line 21: users[3] (alice): endpoint "pjsip/1001" is already bound to users[2] (alice)`,
			`line 26: pools[0] (sales): member "alice" is listed twice`,
			`line 29: pools[1] (support): number +35891234500 is already used by pools[0] (sales)`,
		}},
		{"BadValues", "bad-values.yaml", []string{
			`line 4: organizations[0] (acme): feature "recording" is not one of supervising`,
			`line 5: organizations[1] (has space): id "has space" may contain only letters, digits and . _ - @ +`,
			`line 9: users[0] (sara): role "admin" is not one of supervisor, agent`,
			`line 11: users[0] (sara): set password or password_hash, not both`,
			`line 12: users[0] (sara): phone_number: phone number "abc" is not a valid number: it contains letters`,
			`line 19: users[2] (bob): endpoint "1002" is not of the form TECH/resource (e.g. PJSIP/1001)`,
			`line 23: users[3] (carol): endpoint "Local/carol" is a Local channel without a context (write Local/exten@context)`,
			`line 24: users[3] (carol): password_hash is neither a bcrypt ("$2a$", "$2b$", "$2y$") nor an argon2id ("$argon2id$") hash`,
			`line 28: users[4] (dora): endpoint "PJSIP/1005" is set but the user is not an agent`,
			`line 29: users[5]: id is missing`,
			`line 31: users[5]: roles are missing (supervisor, agent)`,
			`line 35: pools[0] (sales): number: phone number "12" is not a valid number: too short`,
		}},
		{"Syntax", "syntax.yaml", []string{
			`line 3: YAML: found unexpected end of stream`,
		}},
		{"Empty", "", []string{"the file is empty"}},
		{"OnlyComments", "# nothing here\n", []string{"the file is empty"}},
		{"TwoDocuments", "users: []\n---\npools: []\n", []string{"line 2: the file holds more than one YAML document"}},
		{"NotAMapping", "- acme\n", []string{"line 1: cannot unmarshal !!seq into a directory file"}},
		{"WrongType", "organizations: [{id: acme}]\nusers:\n  - id: al\n    org: acme\n    roles: agent\n    endpoint: PJSIP/1\n", []string{
			"line 5: users[0] (al): cannot unmarshal !!str `agent` into []string",
			// Validation goes on with what could be read.
			"line 5: users[0] (al): roles are missing (supervisor, agent)",
			`line 6: users[0] (al): endpoint "PJSIP/1" is set but the user is not an agent`,
		}},
		{"Scope", `
organizations: [{id: acme}]
users:
  - {id: al, org: acme, roles: [agent, agent], endpoint: PJSIP/1, pools: [sales]}
  - {id: su, org: acme, roles: [supervisor], pools: [sales, sales]}
pools: [{id: sales, org: acme, members: [al]}]
`, []string{
			`line 4: users[0] (al): role "agent" is listed twice`,
			`line 4: users[0] (al): pools (the supervising scope) is set but the user is not a supervisor`,
			`line 5: users[1] (su): pool "sales" is listed twice`,
		}},
		{"Endpoints", `
organizations: [{id: acme}]
users:
  - {id: al, org: acme, roles: [agent], endpoint: PJSIP/1, endpoints: [PJSIP/2]}
  - {id: bo, org: acme, roles: [agent], endpoints: [PJSIP/3, pjsip/3, "3", PJSIP/4]}
  - {id: cy, org: acme, roles: [agent], endpoints: [PJSIP/5, PJSIP/4]}
  - {id: di, org: acme, roles: [supervisor], endpoints: [PJSIP/6, PJSIP/7]}
  - {id: ed, org: acme, roles: [agent], endpoints: [` + strings.Repeat("PJSIP/x, ", directory.MaxEndpoints) + `PJSIP/y]}
`, []string{
			`line 4: users[0] (al): set endpoint or endpoints, not both`,
			`line 5: users[1] (bo): endpoint "pjsip/3" is listed twice`,
			`line 5: users[1] (bo): endpoint "3" is not of the form TECH/resource`,
			`line 6: users[2] (cy): endpoint "PJSIP/4" is already bound to users[1] (bo)`,
			`line 7: users[3] (di): endpoints "PJSIP/6, PJSIP/7" is set but the user is not an agent`,
			`line 8: users[4] (ed): lists 33 endpoints; at most 32`,
		}},
		{"Hashes", `
organizations: [{id: acme}]
users:
  - {id: a, org: acme, roles: [supervisor], password_hash: "$2b$04$short"}
  - {id: b, org: acme, roles: [supervisor], password_hash: "$argon2id$v=19$m=1,t=1$c2FsdA$a2V5"}
  - {id: c, org: acme, roles: [supervisor], password_hash: "$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5"}
  - {id: d, org: acme, roles: [supervisor], password: "` + strings.Repeat("x", 73) + `"}
  - {id: e, org: acme, roles: [supervisor], password_hash: "$2y$04$N7IECl.dSoQVto.jerqaN.46rzGLMp0cLL4KF7BBxB4GF58csVjr6"}
`, []string{
			`line 4: users[0] (a): password_hash is not a valid bcrypt hash`,
			`line 5: users[1] (b): password_hash is not a valid argon2id hash (parameters "m=1,t=1" are not m=…,t=…,p=…)`,
			`line 6: users[2] (c): password_hash is not a valid argon2id hash (parameters "m=4294967295,t=1,p=1" exceed m=262144, t=16 or p=16)`,
			`line 7: users[3] (d): password is longer than 72 bytes`,
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if strings.HasSuffix(tt.file, ".yaml") {
				_, err = directory.Load(fixture(tt.file), "FI", directory.WithBcryptCost(bcrypt.MinCost))
			} else {
				_, err = parse(tt.file)
			}
			var perr *directory.ParseError
			if !errors.As(err, &perr) {
				t.Fatalf("err = %v, want a *ParseError", err)
			}
			if code := earshot.ErrorCode(err); code != earshot.EINVALID {
				t.Errorf("code %q, want %q", code, earshot.EINVALID)
			}
			var got []string
			for _, p := range perr.Problems {
				got = append(got, p.String())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("problem %d:\n got %s\nwant %s", i, got[i], tt.want[i])
				}
			}
			// The message carries every problem, for the operator and the API.
			for _, w := range tt.want {
				if !strings.Contains(earshot.ErrorMessage(err), w) {
					t.Errorf("message lacks %q:\n%s", w, earshot.ErrorMessage(err))
				}
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"demo.yaml", "unknown-field.yaml", "bad-refs.yaml", "duplicates.yaml", "bad-values.yaml", "syntax.yaml"} {
		data, err := os.ReadFile(fixture(name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	f.Add("")
	f.Add("users: [{id: a, roles: [agent], endpoint: Local/a@b}]")
	f.Fuzz(func(t *testing.T, doc string) {
		file, err := parse(doc)
		if err != nil {
			var perr *directory.ParseError
			if errors.As(err, &perr) && len(perr.Problems) == 0 {
				t.Fatal("ParseError without problems")
			}
			return
		}
		// A file that parses serves as a directory.
		memdir.New(file)
	})
}
