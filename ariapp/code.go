package ariapp

import (
	"context"
	"strings"
	"time"

	"github.com/CyCoreSystems/ari/v6"

	"github.com/earshot/earshot"
)

// checkCode answers and collects the offer's one-time code by DTMF from
// the supervisor's own leg, ended by '#' or by its length, within
// CodeTimeout. Digits that arrive together in one batch of events are all
// counted, in order (the queue keeps what one wait does not take).
func (s *session) checkCode(ctx context.Context, offer earshot.Offer) string {
	if err := s.answer(ctx); err != nil {
		return earshot.RejectInternal
	}
	var got strings.Builder
	deadline := time.Now().Add(s.app.cfg.CodeTimeout)
	for got.Len() < len(offer.Code) {
		e, err := s.await(ctx, time.Until(deadline), func(e ari.Event) bool {
			d, ok := e.(*ari.ChannelDtmfReceived)
			return ok && d.Channel.ID == s.channel
		})
		if isEnd(err) {
			// Hung up half-way: no code was offered, none is charged.
			return earshot.RejectBadCode
		}
		if err != nil {
			break
		}
		d := e.(*ari.ChannelDtmfReceived).Digit
		if d == "#" {
			break
		}
		got.WriteString(d)
	}
	if err := s.app.cfg.Offers.CheckCode(offer.ID, got.String()); err != nil {
		return earshot.RejectBadCode
	}
	return ""
}
