package httpapi

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/earshot/earshot"
)

// poolJSON is a service pool with how many of its agents are on its calls
// now, for the pools view (R7).
type poolJSON struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Number       string `json:"number"`
	Agents       int    `json:"agents"`
	AgentsOnCall int    `json:"agents_on_call"`
}

func (s *Server) listPools(c echo.Context) error {
	p := principalOf(c)
	pools, err := s.cfg.Store.PoolsOf(p.user.Org)
	if err != nil {
		return fmt.Errorf("pools of %s: %w", p.user.Org, err)
	}
	// One snapshot of the calls for every pool, so the counts agree.
	onCall := map[string]string{} // agent → pool of their call
	for _, call := range s.cfg.Calls.List() {
		onCall[call.Agent] = call.Pool
	}
	out := []poolJSON{}
	for _, pool := range pools {
		if !p.sees(pool) {
			continue
		}
		pj := poolJSON{ID: pool.ID, Name: pool.Name, Number: pool.Number, Agents: len(pool.Members)}
		for _, m := range pool.Members {
			if onCall[m] == pool.ID {
				pj.AgentsOnCall++
			}
		}
		out = append(out, pj)
	}
	return c.JSON(http.StatusOK, map[string][]poolJSON{"pools": out})
}

// poolUsers is the pool users view: each member, whether on a call, and
// whether on the caller's list (R7, R8).
func (s *Server) poolUsers(c echo.Context) error {
	id, err := param(c, "pool")
	if err != nil {
		return err
	}
	ctx, p := c.Request().Context(), principalOf(c)
	pool, err := s.cfg.Store.Pool(ctx, id)
	switch {
	case err != nil:
		return err
	case !p.sees(pool):
		return earshot.ErrPoolNotFound
	}
	v, err := s.newViewer(c)
	if err != nil {
		return err
	}
	out, err := v.views(pool.Members)
	if err != nil {
		return fmt.Errorf("members of %s: %w", pool.ID, err)
	}
	return c.JSON(http.StatusOK, userList{Users: out, staleness: s.staleness()})
}
