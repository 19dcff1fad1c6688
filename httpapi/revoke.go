package httpapi

import (
	"context"
	"fmt"
	"slices"

	"github.com/earshot/earshot"
)

// Revocation takes effect at once. The store bumps a user's token version
// in the same write that deletes them, takes their supervisor role away,
// narrows their pool scope, moves them to another organization or changes
// their password, and every request compares it with the token's. After
// such an operator change, enforce carries it to what is already running:
// open event streams check their caller again, and live sessions whose
// supervisor may no longer supervise them end (the supervisor's call hears
// the end notice and is hung up).

// versions reads the token versions of users, for telling afterwards whose
// an operator change bumped.
func (s *Server) versions(ctx context.Context, users ...string) (map[string]uint64, error) {
	out := make(map[string]uint64, len(users))
	for _, id := range users {
		v, _, err := s.cfg.Store.TokenState(ctx, id, "")
		if err != nil {
			return nil, fmt.Errorf("token version of %s: %w", id, err)
		}
		out[id] = v
	}
	return out, nil
}

// bumped lists the users whose token version differs from before.
func (s *Server) bumped(ctx context.Context, before map[string]uint64) ([]string, error) {
	var out []string
	for id, v := range before {
		now, _, err := s.cfg.Store.TokenState(ctx, id, "")
		if err != nil {
			return nil, fmt.Errorf("token version of %s: %w", id, err)
		}
		if now != v {
			out = append(out, id)
		}
	}
	return out, nil
}

// enforce applies the directory as it is now to what runs: event streams
// check their callers again, and sessions end whose supervisor is gone,
// lost the role, the pool or the organization's feature, or is among
// revoked (their tokens were revoked: the session ends with them). It
// returns how many sessions it ended. It must not fail the operator's
// request, which is done; a look-up that fails is logged and that session
// left to the next change or to the supervisor's hang-up.
func (s *Server) enforce(ctx context.Context, revoked ...string) int {
	s.streamSet.recheck()
	end := map[earshot.EndReason]map[string]bool{}
	for _, se := range s.cfg.Supervising.Sessions("") {
		reason, err := s.mayKeep(ctx, se, slices.Contains(revoked, se.Supervisor))
		if err != nil {
			s.log.Error("revocation: check session", "session", se.ID, "supervisor", se.Supervisor, "err", err)
			continue
		}
		if reason != "" {
			if end[reason] == nil {
				end[reason] = map[string]bool{}
			}
			end[reason][se.ID] = true
		}
	}
	n := 0
	for reason, ids := range end {
		k := s.cfg.Supervising.EndWhere(ctx, func(se earshot.Session) bool { return ids[se.ID] }, reason)
		s.log.Info("access revoked; sessions ended", "reason", string(reason), "sessions", k)
		n += k
	}
	return n
}

// mayKeep returns why a live session must end now, or "" when it may go
// on: the supervisor gone, moved, without the role or the pool, revoked,
// or their organization without the feature.
func (s *Server) mayKeep(ctx context.Context, se earshot.Session, revoked bool) (earshot.EndReason, error) {
	u, err := s.cfg.Store.User(ctx, se.Supervisor)
	switch {
	case earshot.ErrorCode(err) == earshot.ENOTFOUND:
		return earshot.EndAccessRevoked, nil
	case err != nil:
		return "", err
	}
	org, err := s.cfg.Store.Org(ctx, u.Org)
	switch {
	case earshot.ErrorCode(err) == earshot.ENOTFOUND:
		return earshot.EndFeatureOff, nil
	case err != nil:
		return "", err
	case !org.Has(earshot.FeatureSupervising):
		return earshot.EndFeatureOff, nil
	case se.Leg == earshot.LegBrowser && !org.Has(earshot.FeatureBrowser):
		return earshot.EndFeatureOff, nil
	case revoked, se.Org != "" && se.Org != u.Org, !u.HasRole(earshot.RoleSupervisor),
		len(u.Pools) > 0 && !slices.Contains(u.Pools, se.Pool):
		return earshot.EndAccessRevoked, nil
	}
	return "", nil
}
