package ariapp

import (
	"context"
	"strings"
	"time"

	"github.com/CyCoreSystems/ari/v6"

	"github.com/earshot/earshot"
)

// peer returns the id of the agent leg's single bridge peer — the
// customer's side of the call — or "" when it has none (a conference, no
// bridge) or Asterisk could not say.
func (s *session) peer(ctx context.Context) string {
	a := s.app
	name, err := a.ast.Variable(ctx, s.call.ID, "BRIDGEPEER")
	if err == nil && name != "" && !strings.Contains(name, ",") {
		// The name goes in the query, where any character is safe, and
		// comes back as the channel's id.
		var id string
		if id, err = a.ast.Variable(ctx, s.call.ID, "IMPORT("+name+",UNIQUEID)"); err == nil && id != "" {
			return id
		}
	}
	s.log.Debug("no single peer: barge feed through the agent leg", "peer", name, "error", err)
	return ""
}

// peerSeen is what a reconciliation sweep saw of a session's call: the
// agent leg's single bridge peer ("" for none) in the listing taken at
// seen. It travels the session's mailbox like an event, so that only the
// session touches its barge path.
type peerSeen struct {
	ari.EventData
	peer string
	seen time.Time
}

// Keys implements ari.Event.
func (*peerSeen) Keys() ari.Keys { return nil }

// singlePeers maps each channel in a bridge of exactly two to the other.
func singlePeers(bridges []ari.BridgeData) map[string]string {
	peers := map[string]string{}
	for _, b := range bridges {
		if len(b.ChannelIDs) == 2 {
			peers[b.ChannelIDs[0]], peers[b.ChannelIDs[1]] = b.ChannelIDs[1], b.ChannelIDs[0]
		}
	}
	return peers
}

// onPeer compares the customer's side of the call, as seen at seen, with
// the side the barge feed whispers to. After a transfer that left both
// the agent leg and the old peer up, the feed would whisper to a party the
// agent no longer talks to: the stale path goes, rebuilt at once in barge
// (repairBarge), prepared again in whisper. A path built after seen, or
// whispering through the agent leg, is not judged.
func (s *session) onPeer(ctx context.Context, peer string, seen time.Time) error {
	b := s.barge
	if b == nil || b.target == "" || b.target == peer || b.built.After(seen) {
		return nil
	}
	s.log.Info("the customer's side of the call changed: barge path rebuilt", "was", b.target, "now", peer)
	s.removeBarge(ctx)
	if s.mode == earshot.ModeBarge {
		s.repair = true
		return nil
	}
	return s.prepareBarge(ctx)
}
