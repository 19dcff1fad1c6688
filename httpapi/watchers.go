package httpapi

import (
	"fmt"
	"slices"
	"strings"

	"github.com/earshot/earshot"
)

// callSupervisorJSON is a supervisor on an agent's call: the pool users
// view shows who already listens, whispers or barges (several may), so a
// colleague's barge comes as no surprise.
type callSupervisorJSON struct {
	ID   string       `json:"id"`
	Name string       `json:"name"`
	Mode earshot.Mode `json:"mode"`
}

// supervisorsOn lists the supervisors on a call, by name. The sessions
// are read once per request (viewer).
func (v *viewer) supervisorsOn(call earshot.ServiceCall) ([]callSupervisorJSON, error) {
	// Keyed by node and call id: ids are channel ids, unique per node.
	key := func(node, id string) string { return node + "\x00" + id }
	if v.sessions == nil {
		v.sessions = map[string][]earshot.Session{}
		for _, s := range v.s.cfg.Supervising.Sessions("") {
			k := key(s.Node, s.CallID)
			v.sessions[k] = append(v.sessions[k], s)
		}
	}
	out := []callSupervisorJSON{}
	for _, s := range v.sessions[key(call.Node, call.ID)] {
		name := s.Supervisor
		u, err := v.s.cfg.Store.User(v.ctx, s.Supervisor)
		switch {
		case earshot.ErrorCode(err) == earshot.ENOTFOUND:
		case err != nil:
			return nil, fmt.Errorf("supervisor %s: %w", s.Supervisor, err)
		case u.Org != v.p.user.Org:
			continue
		default:
			name = u.Name
		}
		out = append(out, callSupervisorJSON{ID: s.Supervisor, Name: name, Mode: s.Mode})
	}
	slices.SortFunc(out, func(a, b callSupervisorJSON) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
