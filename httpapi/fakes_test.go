package httpapi_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/directory"
	"github.com/earshot/earshot/httpapi"
	"github.com/earshot/earshot/internal/feed"
	"github.com/earshot/earshot/store"
)

// fakeStore keeps the directory and the API's state in maps. Fields
// ending in Func, when set, replace a method (to inject failures).
type fakeStore struct {
	mu         sync.Mutex
	orgs       map[string]earshot.Organization
	users      map[string]earshot.User
	pools      map[string]earshot.Pool
	supervised map[string][]string  // supervisor → agents, sorted
	devices    map[string][2]string // token → user, platform
	audit      []httpapi.AuditRecord
	auditArgs  []string          // "org before limit" of each AuditLog call
	versions   map[string]uint64 // token versions, bumped as the store does
	revoked    map[string]bool   // "user jti" signed out

	PoolsOfFunc         func(org string) ([]earshot.Pool, error)
	ImportDirectoryFunc func(ctx context.Context, f *directory.File) (string, error)
	BackupFunc          func(w io.Writer) (int64, error)
}

var _ httpapi.Store = (*fakeStore)(nil)

// snapshot is the fake's whole state, to show a request changed nothing.
func (f *fakeStore) snapshot() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	hashes := map[string]string{} // earshot.User's JSON leaves them out
	for id, u := range f.users {
		hashes[id] = u.PasswordHash
	}
	b, err := json.Marshal([]any{f.orgs, f.users, hashes, f.pools, f.supervised, f.devices})
	if err != nil {
		panic(err)
	}
	return string(b)
}

func (f *fakeStore) Org(_ context.Context, id string) (earshot.Organization, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.orgs[id]
	if !ok {
		return o, earshot.ErrOrgNotFound
	}
	o.Features = slices.Clone(o.Features)
	return o, nil
}

func (f *fakeStore) User(_ context.Context, id string) (earshot.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[id]
	if !ok {
		return u, earshot.ErrUserNotFound
	}
	return u, nil
}

func (f *fakeStore) UserByPhone(_ context.Context, e164 string) (earshot.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.users {
		if u.PhoneNumber == e164 {
			return u, nil
		}
	}
	return earshot.User{}, earshot.ErrUserNotFound
}

func (f *fakeStore) AgentByEndpoint(context.Context, string) (earshot.User, error) {
	return earshot.User{}, earshot.ErrUserNotFound
}

func (f *fakeStore) Pool(_ context.Context, id string) (earshot.Pool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pools[id]
	if !ok {
		return p, earshot.ErrPoolNotFound
	}
	return p, nil
}

func (f *fakeStore) Users(org string) ([]earshot.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []earshot.User
	for _, u := range f.users {
		if u.Org == org {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b earshot.User) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (f *fakeStore) PoolsOf(org string) ([]earshot.Pool, error) {
	if f.PoolsOfFunc != nil {
		return f.PoolsOfFunc(org)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []earshot.Pool
	for _, p := range f.pools {
		if p.Org == org {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b earshot.Pool) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (f *fakeStore) SetPhoneNumber(_ context.Context, userID, e164 string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.users {
		if e164 != "" && u.PhoneNumber == e164 && u.ID != userID {
			return earshot.Errorf(earshot.ECONFLICT, "phone number %s belongs to %s", e164, u.ID)
		}
	}
	u, ok := f.users[userID]
	if !ok {
		return earshot.ErrUserNotFound
	}
	u.PhoneNumber = e164
	f.users[userID] = u
	return nil
}

func (f *fakeStore) SetFeature(_ context.Context, org, feature string, on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.orgs[org]
	if !ok {
		return earshot.ErrOrgNotFound
	}
	o.Features = slices.DeleteFunc(slices.Clone(o.Features), func(s string) bool { return s == feature })
	if on {
		o.Features = append(o.Features, feature)
	}
	f.orgs[org] = o
	return nil
}

func (f *fakeStore) Supervise(_ context.Context, sup, agent string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Contains(f.supervised[sup], agent) {
		f.supervised[sup] = append(f.supervised[sup], agent)
		slices.Sort(f.supervised[sup])
	}
	return nil
}

func (f *fakeStore) Unsupervise(_ context.Context, sup, agent string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.supervised[sup] = slices.DeleteFunc(f.supervised[sup], func(s string) bool { return s == agent })
	return nil
}

func (f *fakeStore) SupervisedBy(_ context.Context, sup string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.supervised[sup]), nil
}

func (f *fakeStore) PutDevice(_ context.Context, token, user, platform string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d, ok := f.devices[token]; ok && d[0] != user {
		return earshot.Errorf(earshot.ECONFLICT, "this push token is registered to another user")
	}
	f.devices[token] = [2]string{user, platform}
	return nil
}

func (f *fakeStore) DeleteDeviceOf(_ context.Context, user, token string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.devices[token][0] == user {
		delete(f.devices, token)
	}
	return nil
}

func (f *fakeStore) AuditLog(_ context.Context, org string, before uint64, limit int) ([]httpapi.AuditRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auditArgs = append(f.auditArgs, fmt.Sprint(org, " ", before, " ", limit))
	var out []httpapi.AuditRecord
	for i := len(f.audit) - 1; i >= 0 && len(out) < limit; i-- {
		r := f.audit[i]
		if (org == "" || r.Org == org) && (before == 0 || r.Seq < before) {
			out = append(out, r)
		}
	}
	return out, nil
}

// PutUser keeps a stored phone number and password hash it is not given,
// and refuses a phone number or endpoint another user has, as the store does.
func (f *fakeStore) PutUser(_ context.Context, u earshot.User) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.orgs[u.Org]; !ok {
		return earshot.ErrOrgNotFound
	}
	if old, ok := f.users[u.ID]; ok {
		u.PhoneNumber = cmp.Or(u.PhoneNumber, old.PhoneNumber)
		u.PasswordHash = cmp.Or(u.PasswordHash, old.PasswordHash)
	}
	for _, o := range f.users {
		switch {
		case o.ID == u.ID:
		case u.PhoneNumber != "" && o.PhoneNumber == u.PhoneNumber:
			return earshot.Errorf(earshot.ECONFLICT, "phone number %s is already registered to user %s", u.PhoneNumber, o.ID)
		}
		for _, ep := range u.AgentEndpoints() {
			if o.ID != u.ID && slices.Contains(o.AgentEndpoints(), ep) {
				return earshot.Errorf(earshot.ECONFLICT, "endpoint %s is already bound to user %s", ep, o.ID)
			}
		}
	}
	u.Roles, u.Pools = slices.Clone(u.Roles), slices.Clone(u.Pools)
	if old, ok := f.users[u.ID]; ok && store.RevokesTokens(old, u) {
		f.bumpLocked(u.ID)
	}
	f.users[u.ID] = u
	return nil
}

// bumpLocked bumps a user's token version.
func (f *fakeStore) bumpLocked(user string) {
	if f.versions == nil {
		f.versions = map[string]uint64{}
	}
	f.versions[user]++
}

func (f *fakeStore) TokenState(_ context.Context, user, jti string) (uint64, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.versions[user], jti != "" && f.revoked[user+" "+jti], nil
}

func (f *fakeStore) RevokeToken(_ context.Context, user, jti string, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if jti == "" {
		f.bumpLocked(user)
		return nil
	}
	if f.revoked == nil {
		f.revoked = map[string]bool{}
	}
	f.revoked[user+" "+jti] = true
	return nil
}

func (f *fakeStore) PutPool(_ context.Context, p earshot.Pool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.orgs[p.Org]; !ok {
		return earshot.ErrOrgNotFound
	}
	for _, m := range p.Members {
		if u, ok := f.users[m]; !ok || u.Org != p.Org {
			return earshot.Errorf(earshot.EINVALID, "pool %s: member %q does not exist", p.ID, m)
		}
	}
	p.Members = slices.Clone(p.Members)
	f.pools[p.ID] = p
	return nil
}

// DeleteUser removes the user from pools, lists and devices too.
func (f *fakeStore) DeleteUser(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.users[id]; !ok {
		return earshot.ErrUserNotFound
	}
	for pid, p := range f.pools {
		p.Members = slices.DeleteFunc(slices.Clone(p.Members), func(m string) bool { return m == id })
		f.pools[pid] = p
	}
	delete(f.supervised, id)
	for sup, agents := range f.supervised {
		f.supervised[sup] = slices.DeleteFunc(agents, func(a string) bool { return a == id })
	}
	for tok, d := range f.devices {
		if d[0] == id {
			delete(f.devices, tok)
		}
	}
	delete(f.users, id)
	f.bumpLocked(id)
	return nil
}

func (f *fakeStore) DeletePool(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.pools[id]; !ok {
		return earshot.ErrPoolNotFound
	}
	delete(f.pools, id)
	return nil
}

// ImportDirectory upserts the file and counts what it holds.
func (f *fakeStore) ImportDirectory(ctx context.Context, file *directory.File) (string, error) {
	if f.ImportDirectoryFunc != nil {
		return f.ImportDirectoryFunc(ctx, file)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, o := range file.Orgs {
		if old, ok := f.orgs[o.ID]; ok && len(o.Features) == 0 {
			o.Features = old.Features
		}
		f.orgs[o.ID] = o
	}
	for _, u := range file.Users {
		if old, ok := f.users[u.ID]; ok {
			u.PhoneNumber = cmp.Or(u.PhoneNumber, old.PhoneNumber)
			if store.RevokesTokens(old, u) {
				f.bumpLocked(u.ID)
			}
		}
		f.users[u.ID] = u
	}
	for _, p := range file.Pools {
		f.pools[p.ID] = p
	}
	return fmt.Sprintf("orgs %d; users %d; pools %d", len(file.Orgs), len(file.Users), len(file.Pools)), nil
}

// Backup writes backupData.
func (f *fakeStore) Backup(w io.Writer) (int64, error) {
	if f.BackupFunc != nil {
		return f.BackupFunc(w)
	}
	n, err := io.WriteString(w, backupData)
	return int64(n), err
}

// backupData is what the fake's Backup writes.
const backupData = "bolt\x00copy"

// fakeCalls is the live view of calls: a map and a feed.
type fakeCalls struct {
	mu    sync.Mutex
	calls map[string]earshot.ServiceCall // agent → call
	feed  *feed.Feed[earshot.CallEvent]
}

var _ earshot.Calls = (*fakeCalls)(nil)

func (f *fakeCalls) start(c earshot.ServiceCall) {
	f.mu.Lock()
	f.calls[c.Agent] = c
	f.mu.Unlock()
	f.feed.Publish(earshot.CallEvent{Call: c})
}

func (f *fakeCalls) CallOf(agent string) (earshot.ServiceCall, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.calls[agent]
	if !ok {
		return c, earshot.ErrNotOnCall
	}
	return c, nil
}

func (f *fakeCalls) Call(id string) (earshot.ServiceCall, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if c.ID == id {
			return c, nil
		}
	}
	return earshot.ServiceCall{}, earshot.ErrNotOnCall
}

func (f *fakeCalls) List() []earshot.ServiceCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []earshot.ServiceCall
	for _, c := range f.calls {
		out = append(out, c)
	}
	return out
}

func (f *fakeCalls) Subscribe(ctx context.Context) <-chan earshot.CallEvent {
	return f.feed.Subscribe(ctx)
}

// fakeOffers makes offers through OfferFunc and publishes them.
type fakeOffers struct {
	OfferFunc func(ctx context.Context, supervisor, agent, source string) (earshot.Offer, error)
	feed      *feed.Feed[earshot.OfferEvent]
}

var _ httpapi.Offers = (*fakeOffers)(nil)

func (f *fakeOffers) Offer(ctx context.Context, sup, agent, source string) (earshot.Offer, error) {
	o, err := f.OfferFunc(ctx, sup, agent, source)
	if err == nil {
		f.feed.Publish(earshot.OfferEvent{Offer: o, Source: source})
	}
	return o, err
}

func (f *fakeOffers) Subscribe(ctx context.Context) <-chan earshot.OfferEvent {
	return f.feed.Subscribe(ctx)
}

func (f *fakeOffers) Live(string) []earshot.Offer { return nil }

// fakeSupervising keeps sessions in a map; SetModeFunc, when set,
// replaces SetMode.
type fakeSupervising struct {
	mu       sync.Mutex
	sessions map[string]earshot.Session
	feed     *feed.Feed[earshot.SessionEvent]
	ended    []string // "session reason" of each EndWhere ended

	SetModeFunc func(ctx context.Context, id string, m earshot.Mode) error
}

var _ earshot.Supervising = (*fakeSupervising)(nil)

func (f *fakeSupervising) Sessions(sup string) []earshot.Session {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []earshot.Session
	for _, s := range f.sessions {
		if sup == "" || s.Supervisor == sup {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b earshot.Session) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func (f *fakeSupervising) SetMode(ctx context.Context, id string, m earshot.Mode) error {
	if f.SetModeFunc != nil {
		return f.SetModeFunc(ctx, id, m)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[id]
	if !ok {
		return earshot.ErrSessionNotFound
	}
	s.Mode = m
	f.sessions[id] = s
	return nil
}

func (f *fakeSupervising) Hangup(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.sessions[id]; !ok {
		return earshot.ErrSessionNotFound
	}
	delete(f.sessions, id)
	return nil
}

// EndWhere ends the matching sessions and records why.
func (f *fakeSupervising) EndWhere(_ context.Context, match func(earshot.Session) bool, reason earshot.EndReason) int {
	f.mu.Lock()
	var ended []earshot.Session
	for id, s := range f.sessions {
		if match(s) {
			delete(f.sessions, id)
			ended = append(ended, s)
			f.ended = append(f.ended, id+" "+string(reason))
		}
	}
	f.mu.Unlock()
	for _, s := range ended {
		f.feed.Publish(earshot.SessionEvent{Session: s, Kind: earshot.SessionEnded, Reason: reason})
	}
	return len(ended)
}

// endedList returns "session reason" of each session EndWhere ended, sorted.
func (f *fakeSupervising) endedList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(slices.Values(f.ended))
}

func (f *fakeSupervising) Subscribe(ctx context.Context) <-chan earshot.SessionEvent {
	return f.feed.Subscribe(ctx)
}

// clock is a settable clock for token expiry and the login rate limit.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// passwordHash is "secret" hashed at bcrypt's lowest cost, to keep tests fast.
var passwordHash = sync.OnceValue(func() string {
	h, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
})
