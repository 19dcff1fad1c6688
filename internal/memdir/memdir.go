// Package memdir is an earshot.Directory held in memory, for tests and
// tools that need a directory without a store (the program itself serves
// the directory from the bbolt store).
package memdir

import (
	"context"
	"slices"
	"sync"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/directory"
	"github.com/earshot/earshot/phone"
)

// Memory is an earshot.Directory held in memory. Reads vastly outnumber
// writes (the ARI event pump calls AgentByEndpoint for every dial), so it
// is guarded by a sync.RWMutex and indexed by id, phone number and
// endpoint. Values handed out are copies: callers cannot change it
// through them.
type Memory struct {
	mu sync.RWMutex
	ix *index
}

var _ earshot.Directory = (*Memory)(nil)

// index is one directory with its lookup tables. The slices keep the
// file's order for listings.
type index struct {
	orgs       []earshot.Organization
	users      []earshot.User
	pools      []earshot.Pool
	orgByID    map[string]int
	userByID   map[string]int
	poolByID   map[string]int
	byPhone    map[string]int // E.164 → user
	byEndpoint map[string]int // endpointKey → agent
}

// New returns a directory serving f, normally the result of Parse or
// Load; nil serves an empty directory. The Memory keeps its own copy.
func New(f *directory.File) *Memory {
	return &Memory{ix: newIndex(f)}
}

// Replace swaps in a new directory at once, as a re-import does: readers
// see either the old or the new one, never a mix. Changes made with
// SetPhoneNumber and SetFeature are not carried over; whoever persists
// them applies them again.
func (m *Memory) Replace(f *directory.File) {
	ix := newIndex(f)
	m.mu.Lock()
	m.ix = ix
	m.mu.Unlock()
}

func newIndex(f *directory.File) *index {
	if f == nil {
		f = &directory.File{}
	}
	ix := &index{
		orgByID:    map[string]int{},
		userByID:   map[string]int{},
		poolByID:   map[string]int{},
		byPhone:    map[string]int{},
		byEndpoint: map[string]int{},
	}
	// The first entry with an id wins, as Parse reports later ones.
	for _, o := range f.Orgs {
		if _, dup := ix.orgByID[o.ID]; !dup {
			ix.orgByID[o.ID] = len(ix.orgs)
			ix.orgs = append(ix.orgs, cloneOrg(o))
		}
	}
	for _, u := range f.Users {
		if _, dup := ix.userByID[u.ID]; dup {
			continue
		}
		i := len(ix.users)
		ix.userByID[u.ID] = i
		ix.users = append(ix.users, cloneUser(u))
		if _, taken := ix.byPhone[u.PhoneNumber]; u.PhoneNumber != "" && !taken {
			ix.byPhone[u.PhoneNumber] = i
		}
		for _, ep := range u.AgentEndpoints() {
			key := directory.EndpointKey(ep)
			if _, taken := ix.byEndpoint[key]; ep != "" && u.HasRole(earshot.RoleAgent) && !taken {
				ix.byEndpoint[key] = i
			}
		}
	}
	for _, p := range f.Pools {
		if _, dup := ix.poolByID[p.ID]; !dup {
			ix.poolByID[p.ID] = len(ix.pools)
			ix.pools = append(ix.pools, clonePool(p))
		}
	}
	return ix
}

// Org returns the organization with the id, or ErrOrgNotFound.
func (m *Memory) Org(_ context.Context, id string) (earshot.Organization, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	i, ok := m.ix.orgByID[id]
	if !ok {
		return earshot.Organization{}, earshot.ErrOrgNotFound
	}
	return cloneOrg(m.ix.orgs[i]), nil
}

// User returns the user with the id, or ErrUserNotFound.
func (m *Memory) User(_ context.Context, id string) (earshot.User, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.userAt(m.ix.userByID, id)
}

// UserByPhone returns the user registered with the E.164 number, or
// ErrUserNotFound.
func (m *Memory) UserByPhone(_ context.Context, e164 string) (earshot.User, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.userAt(m.ix.byPhone, e164)
}

// AgentByEndpoint returns the agent bound to an endpoint such as
// "PJSIP/1001" (see EndpointOfChannel for getting one from a channel
// name), or ErrUserNotFound. The technology matches in any case.
func (m *Memory) AgentByEndpoint(_ context.Context, endpoint string) (earshot.User, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.userAt(m.ix.byEndpoint, directory.EndpointKey(endpoint))
}

// userAt looks key up in one of the user indexes; m.mu must be held.
func (m *Memory) userAt(by map[string]int, key string) (earshot.User, error) {
	i, ok := by[key]
	if !ok {
		return earshot.User{}, earshot.ErrUserNotFound
	}
	return cloneUser(m.ix.users[i]), nil
}

// Pool returns the pool with the id, or ErrPoolNotFound.
func (m *Memory) Pool(_ context.Context, id string) (earshot.Pool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	i, ok := m.ix.poolByID[id]
	if !ok {
		return earshot.Pool{}, earshot.ErrPoolNotFound
	}
	return clonePool(m.ix.pools[i]), nil
}

// Orgs returns every organization in file order.
func (m *Memory) Orgs() []earshot.Organization {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]earshot.Organization, len(m.ix.orgs))
	for i, o := range m.ix.orgs {
		out[i] = cloneOrg(o)
	}
	return out
}

// Users returns the users of org in file order; org "" returns everyone.
func (m *Memory) Users(org string) []earshot.User {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := []earshot.User{}
	for _, u := range m.ix.users {
		if org == "" || u.Org == org {
			out = append(out, cloneUser(u))
		}
	}
	return out
}

// PoolsOf returns the pools of org in file order; org "" returns every pool.
func (m *Memory) PoolsOf(org string) []earshot.Pool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := []earshot.Pool{}
	for _, p := range m.ix.pools {
		if org == "" || p.Org == org {
			out = append(out, clonePool(p))
		}
	}
	return out
}

// SetPhoneNumber sets the number a user calls the supervising number from
// (R9); "" clears it. The number must already be E.164 (phone.Normalize).
// It returns EINVALID for another form, ErrUserNotFound, or ECONFLICT when
// another user has the number, since a caller number must identify one
// supervisor.
func (m *Memory) SetPhoneNumber(_ context.Context, userID, e164 string) error {
	if e164 != "" && !phone.IsE164(e164) {
		return earshot.Errorf(earshot.EINVALID, "phone number %q is not in E.164 form (+358401234567)", e164)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	i, ok := m.ix.userByID[userID]
	if !ok {
		return earshot.ErrUserNotFound
	}
	if other, taken := m.ix.byPhone[e164]; e164 != "" && taken && other != i {
		return earshot.Errorf(earshot.ECONFLICT, "phone number %s is registered to another user", e164)
	}
	u := &m.ix.users[i]
	if u.PhoneNumber != "" && m.ix.byPhone[u.PhoneNumber] == i {
		delete(m.ix.byPhone, u.PhoneNumber)
	}
	u.PhoneNumber = e164
	if e164 != "" {
		m.ix.byPhone[e164] = i
	}
	return nil
}

// SetFeature switches an organization's feature on or off (R1); doing what
// is already so is not an error. It returns ErrOrgNotFound, or EINVALID
// for a feature Earshot does not know.
func (m *Memory) SetFeature(org, feature string, on bool) error {
	if feature != earshot.FeatureSupervising && feature != earshot.FeatureBrowser { // the features Earshot acts on
		return earshot.Errorf(earshot.EINVALID, "feature %q is not known", feature)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	i, ok := m.ix.orgByID[org]
	if !ok {
		return earshot.ErrOrgNotFound
	}
	o := &m.ix.orgs[i]
	// A fresh slice, not an edit in place, so no earlier copy can share it.
	features := slices.DeleteFunc(slices.Clone(o.Features), func(f string) bool { return f == feature })
	if on {
		features = append(features, feature)
	}
	o.Features = features
	return nil
}

func cloneOrg(o earshot.Organization) earshot.Organization {
	o.Features = cloneStrings(o.Features)
	return o
}

func cloneUser(u earshot.User) earshot.User {
	u.Roles = cloneStrings(u.Roles)
	u.Endpoints = cloneStrings(u.Endpoints)
	u.Pools = cloneStrings(u.Pools)
	return u
}

func clonePool(p earshot.Pool) earshot.Pool {
	p.Members = cloneStrings(p.Members)
	return p
}

// cloneStrings copies s, keeping nil as nil so JSON shows what was given
// (an omitted scope stays omitted).
func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	return slices.Clone(s)
}
