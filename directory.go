package earshot

import (
	"context"
	"slices"
)

// FeatureSupervising is the organization feature that enables supervising (R1).
const FeatureSupervising = "supervising"

// FeatureBrowser is the organization setting that allows supervising from
// the browser (the console's Listen here): a session whose supervisor leg
// is the browser's audio, authorised by the sign-in token rather than by
// the caller-ID gate of R9. Absent, only the supervising number connects.
// Unlike FeatureSupervising it is read from the organization at every
// use, not from the token: allowing takes effect at once, and forbidding
// ends live browser sessions at once.
const FeatureBrowser = "browser_supervising"

// Roles a user can have. The supervisor role is the supervising right only;
// it has nothing to do with administration (product documentation).
const (
	RoleSupervisor = "supervisor"
	RoleAgent      = "agent"
)

// Organization is a customer of the operator; features are switched per
// organization by the operator (R1).
type Organization struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Features []string `json:"features"`
}

// Has reports whether the organization has the feature enabled.
func (o Organization) Has(feature string) bool { return slices.Contains(o.Features, feature) }

// User is a person in an organization: an agent (bound to a phone endpoint),
// a supervisor, or both.
type User struct {
	ID    string   `json:"id"`
	Org   string   `json:"org"`
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
	// Endpoint binds an agent to their phone: "PJSIP/1001" matches the
	// channel "PJSIP/1001-0000002a" (any technology).
	Endpoint string `json:"endpoint,omitempty"`
	// Endpoints binds an agent to several phones (desk phone, softphone,
	// headset app), written instead of Endpoint; AgentEndpoints gives
	// either. An agent reached where no endpoint names them (a mobile over
	// a trunk) is named by the agent leg's EARSHOT_AGENT variable instead.
	Endpoints []string `json:"endpoints,omitempty"`
	// PhoneNumber is the supervisor's own number in E.164 (R9): only calls
	// from it to the supervising number are connected.
	PhoneNumber  string `json:"phone_number,omitempty"`
	PasswordHash string `json:"-"`
	// Pools narrows whom a supervisor may supervise to agents on calls of
	// these pools; empty means every pool of the organization.
	Pools []string `json:"pools,omitempty"`
}

// AgentEndpoints returns every endpoint the user is bound to: Endpoint
// and Endpoints (a user has one or the other; both are read).
func (u User) AgentEndpoints() []string {
	if u.Endpoint == "" {
		return u.Endpoints
	}
	return append([]string{u.Endpoint}, u.Endpoints...)
}

// HasRole reports whether the user has the role.
func (u User) HasRole(role string) bool { return slices.Contains(u.Roles, role) }

// Pool is a service pool: customers call its number and one of its member
// agents answers. Calls to it are service calls (R6).
type Pool struct {
	ID      string   `json:"id"`
	Org     string   `json:"org"`
	Name    string   `json:"name"`
	Number  string   `json:"number"`
	Members []string `json:"members"`
}

// Directory answers who is who. Implementations must be safe for
// concurrent use and fast: the ARI event pump consults AgentByEndpoint.
type Directory interface {
	// Org returns ErrOrgNotFound.
	Org(ctx context.Context, id string) (Organization, error)
	// User returns ErrUserNotFound.
	User(ctx context.Context, id string) (User, error)
	// UserByPhone finds the supervisor registered with an E.164 number;
	// returns ErrUserNotFound.
	UserByPhone(ctx context.Context, e164 string) (User, error)
	// AgentByEndpoint finds the agent bound to an endpoint such as
	// "PJSIP/1001"; returns ErrUserNotFound.
	AgentByEndpoint(ctx context.Context, endpoint string) (User, error)
	// Pool returns ErrPoolNotFound.
	Pool(ctx context.Context, id string) (Pool, error)
}

// MaySupervise decides whether sup may supervise agent on a call of pool
// in org: same organization, the feature on (R1), the supervisor role,
// and the pool within the supervisor's scope. It returns nil or one of
// ErrFeatureOff, ErrNotPermitted.
func MaySupervise(org Organization, sup, agent User, pool Pool) error {
	if err := mayAct(org, sup, agent); err != nil {
		return err
	}
	if pool.Org != org.ID || len(sup.Pools) > 0 && !slices.Contains(sup.Pools, pool.ID) {
		return ErrNotPermitted
	}
	return nil
}

// MaySuperviseAgent decides, without looking at any call, whether sup may
// supervise agent in at least one pool: scope holds the pools of the
// supervisor's scope (sup.Pools; none when the scope is the whole
// organization). The answer to a supervisor asking about an agent
// outside their scope must not depend on the agent's calls. It returns
// nil or one of ErrFeatureOff, ErrNotPermitted.
func MaySuperviseAgent(org Organization, sup, agent User, scope []Pool) error {
	if err := mayAct(org, sup, agent); err != nil {
		return err
	}
	if len(sup.Pools) == 0 {
		return nil
	}
	for _, p := range scope {
		if p.Org == org.ID && slices.Contains(sup.Pools, p.ID) && slices.Contains(p.Members, agent.ID) {
			return nil
		}
	}
	return ErrNotPermitted
}

// mayAct is what both decisions share: the feature on (R1), everyone in
// org, the supervisor role, and nobody supervising themselves.
func mayAct(org Organization, sup, agent User) error {
	switch {
	case !org.Has(FeatureSupervising):
		return ErrFeatureOff
	case sup.Org != org.ID || agent.Org != org.ID:
		return ErrNotPermitted
	case !sup.HasRole(RoleSupervisor):
		return ErrNotPermitted
	case sup.ID == agent.ID:
		return ErrNotPermitted
	}
	return nil
}
