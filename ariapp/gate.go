package ariapp

import (
	"context"
	"errors"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/offers"
)

// admit is the gate at the supervising number (R9): who calls, whether
// they hold a live offer, and — when codes are on — whether they know its
// code. It returns the claimed offer, or a reject reason. A claimed offer
// is released again on every reject after the claim, so the supervisor
// can call again; only a connected call consumes it (session.run).
func (s *session) admit(ctx context.Context) (earshot.Offer, string) {
	offer, reason := s.authorize(ctx)
	if reason != "" {
		return offer, reason
	}
	if offer.Code != "" {
		if reason := s.checkCode(ctx, offer); reason != "" {
			s.app.cfg.Offers.Release(context.WithoutCancel(ctx), offer.ID)
			return offer, reason
		}
	}
	return offer, ""
}

// authorize finds who calls and what they may hear, and claims the offer
// (so concurrent calls on one offer cannot both pass the gate).
func (s *session) authorize(ctx context.Context) (earshot.Offer, string) {
	a := s.app
	num, err := a.cfg.Normalize(s.caller, a.cfg.DefaultRegion)
	if err != nil {
		s.log.Info("supervising call from an invalid number", "caller", s.caller, "error", err)
		return earshot.Offer{}, earshot.RejectUnknownNumber
	}
	s.caller = num
	sup, err := a.cfg.Directory.UserByPhone(ctx, num)
	if err != nil {
		return earshot.Offer{}, earshot.RejectUnknownNumber
	}
	s.sup = sup
	s.log = s.log.With("supervisor", sup.ID)
	org, err := a.cfg.Directory.Org(ctx, sup.Org)
	if err != nil || !org.Has(earshot.FeatureSupervising) {
		return earshot.Offer{}, earshot.RejectFeatureOff
	}
	// An offer for a call on another node (each node has its own
	// supervising number) is refused before the claim, so a call to the
	// wrong number cannot hold the offer away from the right one.
	if o, err := a.cfg.Offers.Resolve(sup.ID); err == nil && !s.onThisNode(o) {
		return o, earshot.RejectNoOffer
	}
	offer, err := a.cfg.Offers.Claim(ctx, sup.ID)
	switch {
	case errors.Is(err, offers.ErrExpired):
		return offer, earshot.RejectOfferExpired
	case err != nil: // none, or claimed by a call placed at the same moment
		return earshot.Offer{}, earshot.RejectNoOffer
	}
	if reason := s.permit(ctx, org, offer); reason != "" {
		a.cfg.Offers.Release(context.WithoutCancel(ctx), offer.ID)
		return offer, reason
	}
	return offer, ""
}

// permit checks the offer's call still exists and the supervisor may
// still supervise its agent in its pool.
func (s *session) permit(ctx context.Context, org earshot.Organization, offer earshot.Offer) string {
	a := s.app
	if !s.onThisNode(offer) {
		// The newest offer changed between the check before the claim
		// and the claim.
		return earshot.RejectNoOffer
	}
	call, err := a.tracker.Call(offer.CallID)
	if err != nil {
		return earshot.RejectCallEnded
	}
	agent, err := a.cfg.Directory.User(ctx, call.Agent)
	if err != nil {
		return earshot.RejectNotPermitted
	}
	pool, err := a.cfg.Directory.Pool(ctx, call.Pool)
	if err != nil {
		return earshot.RejectNotPermitted
	}
	switch err := earshot.MaySupervise(org, s.sup, agent, pool); {
	case errors.Is(err, earshot.ErrFeatureOff):
		return earshot.RejectFeatureOff
	case err != nil:
		return earshot.RejectNotPermitted
	}
	s.call = call
	return ""
}

// onThisNode reports whether an offer is for a call on this session's
// node. Each node has its own supervising number and the offer names the
// one of the node holding the call: another node's offer is no offer here
// (and a call id of this node that happens to match must not connect the
// caller to the wrong call). Offers kept from before nodes existed name
// none.
func (s *session) onThisNode(o earshot.Offer) bool {
	if o.Node == "" || o.Node == s.app.cfg.Node {
		return true
	}
	s.log.Info("supervising call on another node's number", "offer_node", o.Node, "node", s.app.cfg.Node)
	return false
}
