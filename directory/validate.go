package directory

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/phone"
)

// knownFeatures are the organization features Earshot acts on; any other
// name is a typo that would leave a feature silently off.
var knownFeatures = []string{earshot.FeatureSupervising, earshot.FeatureBrowser}

// knownRoles are the roles a user may have.
var knownRoles = []string{earshot.RoleSupervisor, earshot.RoleAgent}

// validator checks a decoded file and builds the File, collecting every
// problem rather than stopping at the first.
type validator struct {
	doc      *fileDoc
	region   string
	problems []Problem

	orgs  map[string]int // id → index of its first entry
	users map[string]int
	pools map[string]int
}

// addf records a problem with field of entry i of a section ("" for the
// entry as a whole).
func (v *validator) addf(sec string, i int, field, format string, args ...any) {
	v.problems = append(v.problems, Problem{
		Line:    v.doc.line(sec, i, field),
		Place:   v.doc.place(sec, i),
		Message: fmt.Sprintf(format, args...),
	})
}

func (v *validator) validate() *File {
	doc := v.doc
	f := &File{
		Orgs:  make([]earshot.Organization, len(doc.Organizations)),
		Users: make([]earshot.User, len(doc.Users)),
		Pools: make([]earshot.Pool, len(doc.Pools)),
	}
	// Index ids first: users refer to pools and pools to users.
	v.orgs = v.index(secOrgs, len(doc.Organizations), func(i int) string { return doc.Organizations[i].ID })
	v.users = v.index(secUsers, len(doc.Users), func(i int) string { return doc.Users[i].ID })
	v.pools = v.index(secPools, len(doc.Pools), func(i int) string { return doc.Pools[i].ID })

	for i, d := range doc.Organizations {
		f.Orgs[i] = v.org(i, d)
	}
	phones := map[string]int{}
	endpoints := map[string]int{}
	for i, d := range doc.Users {
		f.Users[i] = v.user(i, d, phones, endpoints)
	}
	numbers := map[string]int{}
	for i, d := range doc.Pools {
		f.Pools[i] = v.pool(i, d, numbers)
	}
	return f
}

// index maps ids to entries and reports missing, malformed and repeated ids.
func (v *validator) index(sec string, n int, id func(int) string) map[string]int {
	m := make(map[string]int, n)
	for i := range n {
		switch first, dup := m[id(i)]; {
		case id(i) == "":
			v.addf(sec, i, "id", "id is missing")
		case dup:
			v.addf(sec, i, "id", "id %q is already used by %s", id(i), v.doc.place(sec, first))
		default:
			if why := CheckID(id(i)); why != "" {
				v.addf(sec, i, "id", "id %q %s", id(i), why)
			}
			m[id(i)] = i
		}
	}
	return m
}

// CheckID returns why id is unusable, or "". Ids appear in URLs, in the
// dialplan (EARSHOT_POOL=<pool id>) and in store keys, so they keep to a
// set of characters safe in all three.
func CheckID(id string) string {
	if len(id) > 128 {
		return "is longer than 128 bytes"
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("._-@+", c)) {
			return "may contain only letters, digits and . _ - @ +"
		}
	}
	return ""
}

func (v *validator) org(i int, d orgDoc) earshot.Organization {
	o := earshot.Organization{ID: d.ID, Name: d.Name, Features: []string{}}
	if o.Name == "" {
		o.Name = o.ID
	}
	o.Features = v.knownValues(secOrgs, i, "features", "feature", d.Features, knownFeatures)
	return o
}

func (v *validator) user(i int, d userDoc, phones, endpoints map[string]int) earshot.User {
	u := earshot.User{
		ID:           d.ID,
		Org:          d.Org,
		Name:         d.Name,
		Roles:        []string{},
		PasswordHash: d.PasswordHash,
	}
	if u.Name == "" {
		u.Name = u.ID
	}
	v.orgRef(secUsers, i, d.Org)

	if len(d.Roles) == 0 {
		v.addf(secUsers, i, "roles", "roles are missing (%s)", strings.Join(knownRoles, ", "))
	}
	u.Roles = v.knownValues(secUsers, i, "roles", "role", d.Roles, knownRoles)

	switch {
	case d.Password != "" && d.PasswordHash != "":
		v.addf(secUsers, i, "password_hash", "set password or password_hash, not both")
	case len(d.Password) > 72:
		// bcrypt reads at most 72 bytes; refuse rather than truncate.
		v.addf(secUsers, i, "password", "password is longer than 72 bytes")
	case d.PasswordHash != "":
		if why := checkHash(d.PasswordHash); why != "" {
			v.addf(secUsers, i, "password_hash", "password_hash %s", why)
		}
	}

	v.endpoints(i, d, &u, endpoints)

	if d.PhoneNumber != "" {
		u.PhoneNumber = v.uniqueNumber(secUsers, i, "phone_number", d.PhoneNumber, phones)
	}

	if len(d.Pools) > 0 && !slices.Contains(d.Roles, earshot.RoleSupervisor) {
		v.addf(secUsers, i, "pools", "pools (the supervising scope) is set but the user is not a supervisor")
	}
	// Maps rather than slices.Contains: a list may be as long as the file.
	scope := make(map[string]bool, len(d.Pools))
	for _, p := range d.Pools {
		j, ok := v.pools[p]
		switch {
		case !ok:
			v.addf(secUsers, i, "pools", "pool %q does not exist", p)
		case v.doc.Pools[j].Org != d.Org:
			v.addf(secUsers, i, "pools", "pool %q is in org %q, not %q", p, v.doc.Pools[j].Org, d.Org)
		case scope[p]:
			v.addf(secUsers, i, "pools", "pool %q is listed twice", p)
		default:
			scope[p] = true
			u.Pools = append(u.Pools, p)
		}
	}
	return u
}

// endpoints checks the endpoints an agent is bound to, written as
// endpoint (one) or endpoints (a list), and sets them on u as written.
// An agent may have none: then only the agent leg's EARSHOT_AGENT
// variable binds them (a mobile reached over a trunk).
func (v *validator) endpoints(i int, d userDoc, u *earshot.User, taken map[string]int) {
	field, list := "endpoint", []string{d.Endpoint}
	switch {
	case d.Endpoint != "" && len(d.Endpoints) > 0:
		v.addf(secUsers, i, "endpoints", "set endpoint or endpoints, not both")
		return
	case d.Endpoint == "" && len(d.Endpoints) == 0:
		return
	case d.Endpoint == "":
		field, list = "endpoints", d.Endpoints
	}
	if !slices.Contains(d.Roles, earshot.RoleAgent) {
		v.addf(secUsers, i, field, "%s %q is set but the user is not an agent", field, strings.Join(list, ", "))
		return
	}
	if len(list) > MaxEndpoints {
		v.addf(secUsers, i, field, "lists %d endpoints; at most %d", len(list), MaxEndpoints)
		return
	}
	mine := make(map[string]bool, len(list))
	for _, ep := range list {
		key := EndpointKey(ep)
		if why := CheckEndpoint(ep); why != "" {
			v.addf(secUsers, i, field, "endpoint %q %s", ep, why)
		} else if mine[key] {
			v.addf(secUsers, i, field, "endpoint %q is listed twice", ep)
		} else if first, dup := taken[key]; dup {
			v.addf(secUsers, i, field, "endpoint %q is already bound to %s", ep, v.doc.place(secUsers, first))
		} else {
			taken[key] = i
		}
		mine[key] = true
	}
	if field == "endpoint" {
		u.Endpoint = d.Endpoint
	} else {
		u.Endpoints = slices.Clone(d.Endpoints)
	}
}

func (v *validator) pool(i int, d poolDoc, numbers map[string]int) earshot.Pool {
	p := earshot.Pool{ID: d.ID, Org: d.Org, Name: d.Name, Members: []string{}}
	if p.Name == "" {
		p.Name = p.ID
	}
	v.orgRef(secPools, i, d.Org)
	if d.Number != "" {
		p.Number = v.uniqueNumber(secPools, i, "number", d.Number, numbers)
	}
	members := make(map[string]bool, len(d.Members))
	for _, m := range d.Members {
		j, ok := v.users[m]
		switch {
		case !ok:
			v.addf(secPools, i, "members", "member %q does not exist", m)
		case v.doc.Users[j].Org != d.Org:
			v.addf(secPools, i, "members", "member %q is in org %q, not %q", m, v.doc.Users[j].Org, d.Org)
		case !slices.Contains(v.doc.Users[j].Roles, earshot.RoleAgent):
			v.addf(secPools, i, "members", "member %q is not an agent", m)
		case members[m]:
			v.addf(secPools, i, "members", "member %q is listed twice", m)
		default:
			members[m] = true
			p.Members = append(p.Members, m)
		}
	}
	return p
}

// orgRef reports an entry's org that is missing or unknown.
func (v *validator) orgRef(sec string, i int, org string) {
	if org == "" {
		v.addf(sec, i, "", "org is missing")
	} else if _, ok := v.orgs[org]; !ok {
		v.addf(sec, i, "org", "org %q does not exist", org)
	}
}

// checkHash returns why hash is not a bcrypt or argon2id hash in the
// usual encodings, or "". It checks the form only; a wrong hash shows at
// sign-in.
func checkHash(hash string) string {
	switch {
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		if err := checkBcrypt(hash); err != nil {
			return fmt.Sprintf("is not a valid bcrypt hash (%v)", err)
		}
		return ""
	case strings.HasPrefix(hash, "$argon2id$"):
		if _, err := parseArgon2id(hash); err != nil {
			return fmt.Sprintf("is not a valid argon2id hash (%v)", err)
		}
		return ""
	}
	return `is neither a bcrypt ("$2a$", "$2b$", "$2y$") nor an argon2id ("$argon2id$") hash`
}

// sortProblems orders problems by line, keeping the order found within a line.
func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
}

// uniqueNumber normalises the phone number in field of entry i of sec to
// E.164 and checks it against the numbers seen so far; it returns "" (and
// records the problem) when the number is invalid or taken.
func (v *validator) uniqueNumber(sec string, i int, field, raw string, seen map[string]int) string {
	n, err := phone.Normalize(raw, v.region)
	switch first, dup := seen[n]; {
	case err != nil:
		v.addf(sec, i, field, "%s: %s", field, earshot.ErrorMessage(err))
	case dup:
		v.addf(sec, i, field, "%s %s is already used by %s", field, n, v.doc.place(sec, first))
	default:
		seen[n] = i
		return n
	}
	return ""
}

// knownValues keeps the values of field that are among known, each once,
// and records a problem for every other one.
func (v *validator) knownValues(sec string, i int, field, noun string, values, known []string) []string {
	out := []string{} // at most len(known): Contains stays cheap
	for _, x := range values {
		switch {
		case !slices.Contains(known, x):
			v.addf(sec, i, field, "%s %q is not one of %s", noun, x, strings.Join(known, ", "))
		case slices.Contains(out, x):
			v.addf(sec, i, field, "%s %q is listed twice", noun, x)
		default:
			out = append(out, x)
		}
	}
	return out
}
