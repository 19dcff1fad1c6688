package httpapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/earshot/earshot"
)

// userView is a user as a supervisor sees them: whether they are on a
// service call now and whether they are on the supervisor's list (R8).
type userView struct {
	ID         string      `json:"id"`
	Name       string      `json:"name"`
	OnCall     *onCallJSON `json:"on_call"`
	Supervised bool        `json:"supervised"`
}

type onCallJSON struct {
	Pool   string `json:"pool"`
	CallID string `json:"call_id"`
	// Node is the Asterisk node the call is on; omitted by an Earshot of
	// one node without a node id.
	Node  string    `json:"node,omitempty"`
	Since time.Time `json:"since"`
	// Supervisors are on the call now (watchers.go).
	Supervisors []callSupervisorJSON `json:"supervisors"`
}

// viewer builds user views for one request: it loads the caller's list
// once and remembers which pools the caller may see.
type viewer struct {
	s          *Server
	ctx        context.Context
	p          *principal
	supervised map[string]bool
	pools      map[string]bool
	sessions   map[string][]earshot.Session // by node and call id; read on first use
}

func (s *Server) newViewer(c echo.Context) (*viewer, error) {
	ctx, p := c.Request().Context(), principalOf(c)
	ids, err := s.cfg.Store.SupervisedBy(ctx, p.user.ID)
	if err != nil {
		return nil, fmt.Errorf("list of %s: %w", p.user.ID, err)
	}
	v := &viewer{s: s, ctx: ctx, p: p, supervised: map[string]bool{}, pools: map[string]bool{}}
	for _, id := range ids {
		v.supervised[id] = true
	}
	return v, nil
}

// view shows a user. A call in a pool the caller may not see is not
// shown, the same as the event stream.
// views returns the views of the users with these ids, in order, leaving
// out ids the directory no longer has (a removed member or supervised
// user) and users of another organization.
func (v *viewer) views(ids []string) ([]userView, error) {
	// Room for all at once: growing the slice view by view was an eighth
	// of the pool users view's CPU.
	out := make([]userView, 0, len(ids))
	for _, id := range ids {
		u, err := v.s.cfg.Store.User(v.ctx, id)
		switch {
		case earshot.ErrorCode(err) == earshot.ENOTFOUND:
			continue
		case err != nil:
			return nil, fmt.Errorf("user %s: %w", id, err)
		case u.Org != v.p.user.Org:
			continue
		}
		view, err := v.view(u)
		if err != nil {
			return nil, err
		}
		out = append(out, view)
	}
	return out, nil
}

func (v *viewer) view(u earshot.User) (userView, error) {
	out := userView{ID: u.ID, Name: u.Name, Supervised: v.supervised[u.ID]}
	call, err := v.s.cfg.Calls.CallOf(u.ID)
	switch {
	case errors.Is(err, earshot.ErrNotOnCall):
		return out, nil
	case err != nil:
		return out, fmt.Errorf("call of %s: %w", u.ID, err)
	}
	ok, err := v.seesPool(call.Pool)
	if err != nil || !ok {
		return out, err
	}
	sups, err := v.supervisorsOn(call)
	if err != nil {
		return out, err
	}
	out.OnCall = &onCallJSON{Pool: call.Pool, CallID: call.ID, Node: call.Node, Since: call.Since.UTC(), Supervisors: sups}
	return out, nil
}

// seesPool reports whether the caller may see the pool with this id.
func (v *viewer) seesPool(id string) (bool, error) {
	if ok, done := v.pools[id]; done {
		return ok, nil
	}
	ok, err := v.s.seesPool(v.ctx, v.p, id)
	if err != nil {
		return false, err
	}
	v.pools[id] = ok
	return ok, nil
}

func (s *Server) seesPool(ctx context.Context, p *principal, id string) (bool, error) {
	pool, err := s.cfg.Store.Pool(ctx, id)
	switch {
	case earshot.ErrorCode(err) == earshot.ENOTFOUND:
		return false, nil
	case err != nil:
		return false, fmt.Errorf("pool %s: %w", id, err)
	}
	return p.sees(pool), nil
}

// orgUser finds a user of the caller's organization; users of other
// organizations do not exist as far as the caller can tell.
func (s *Server) orgUser(c echo.Context, name string) (earshot.User, error) {
	id, err := param(c, name)
	if err != nil {
		return earshot.User{}, err
	}
	u, err := s.cfg.Store.User(c.Request().Context(), id)
	switch {
	case err != nil:
		return earshot.User{}, err
	case u.Org != principalOf(c).user.Org:
		return earshot.User{}, earshot.ErrUserNotFound
	}
	return u, nil
}

func (s *Server) getUser(c echo.Context) error {
	u, err := s.orgUser(c, "user")
	if err != nil {
		return err
	}
	v, err := s.newViewer(c)
	if err != nil {
		return err
	}
	view, err := v.view(u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userViewResponse{userView: view, staleness: s.staleness()})
}

// offerJSON is a listen offer as the app shows it: where to call (R7).
type offerJSON struct {
	ID                string    `json:"id"`
	Agent             string    `json:"agent"`
	Pool              string    `json:"pool"`
	SupervisingNumber string    `json:"supervising_number"`
	DialURI           string    `json:"dial_uri"`
	ExpiresAt         time.Time `json:"expires_at"`
	Node              string    `json:"node,omitempty"`
}

func (s *Server) newOfferJSON(o earshot.Offer) offerJSON {
	// Each node has its own number; the offer names its call's.
	number := cmp.Or(o.SupervisingNumber, s.cfg.SupervisingNumber)
	return offerJSON{
		ID: o.ID, Agent: o.Agent, Pool: o.Pool, SupervisingNumber: number,
		DialURI: earshot.DialURI(number, o.Code), ExpiresAt: o.ExpiresAt.UTC(), Node: o.Node,
	}
}

// listen makes an ad hoc listen offer for the agent's current call (R7).
func (s *Server) listen(c echo.Context) error {
	u, err := s.orgUser(c, "user")
	if err != nil {
		return err
	}
	o, err := s.cfg.Offers.Offer(c.Request().Context(), principalOf(c).user.ID, u.ID, earshot.OfferAdHoc)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]offerJSON{"offer": s.newOfferJSON(o)})
}
