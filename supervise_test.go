package earshot_test

import (
	"errors"
	"testing"

	"github.com/earshot/earshot"
)

func TestMaySuperviseAgent(t *testing.T) {
	org := earshot.Organization{ID: "acme", Features: []string{earshot.FeatureSupervising}}
	sup := earshot.User{ID: "sara", Org: "acme", Roles: []string{earshot.RoleSupervisor}}
	scoped := sup
	scoped.Pools = []string{"support"}
	agent := earshot.User{ID: "alice", Org: "acme", Roles: []string{earshot.RoleAgent}}
	support := earshot.Pool{ID: "support", Org: "acme", Members: []string{"bob"}}
	sales := earshot.Pool{ID: "sales", Org: "acme", Members: []string{"alice"}}
	other := earshot.Pool{ID: "support", Org: "globex", Members: []string{"alice"}}
	for _, tc := range []struct {
		name  string
		org   earshot.Organization
		sup   earshot.User
		agent earshot.User
		scope []earshot.Pool
		want  error
	}{
		{"unscoped", org, sup, agent, nil, nil},
		{"in a scope pool", org, scoped, agent, []earshot.Pool{{ID: "support", Org: "acme", Members: []string{"alice"}}}, nil},
		{"outside the scope", org, scoped, agent, []earshot.Pool{support}, earshot.ErrNotPermitted},
		{"a pool not in the scope counts for nothing", org, scoped, agent, []earshot.Pool{sales}, earshot.ErrNotPermitted},
		{"a scope pool of another organization", org, scoped, agent, []earshot.Pool{other}, earshot.ErrNotPermitted},
		{"feature off", earshot.Organization{ID: "acme"}, sup, agent, nil, earshot.ErrFeatureOff},
		{"not a supervisor", org, agent, sup, nil, earshot.ErrNotPermitted},
		{"oneself", org, sup, sup, nil, earshot.ErrNotPermitted},
		{"agent of another organization", org, sup, earshot.User{ID: "gus", Org: "globex"}, nil, earshot.ErrNotPermitted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := earshot.MaySuperviseAgent(tc.org, tc.sup, tc.agent, tc.scope); !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
