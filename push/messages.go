package push

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/earshot/earshot"
)

// Categories the app registers: APNs categories (with their actions) and
// Android click actions. A status category offers the other two modes.
const (
	CategoryListenOffer = "EARSHOT_LISTEN_OFFER" // action: LISTEN (open the dial URI)
	CategoryInfo        = "EARSHOT_INFO"         // no actions
)

// StatusCategory is the category of a supervising status in mode m, e.g.
// EARSHOT_STATUS_LISTEN, whose actions are WHISPER and BARGE.
func StatusCategory(m earshot.Mode) string {
	return "EARSHOT_STATUS_" + strings.ToUpper(string(m))
}

// How long the push service may hold messages that have no natural expiry.
const (
	statusTTL = 2 * time.Hour    // a status outlives any ordinary call
	infoTTL   = 10 * time.Minute // "withdrawn" and "ended" matter only briefly
)

// builder turns events into per-device messages.
type builder struct {
	dir               earshot.Directory
	supervisingNumber string
	now               func() time.Time
}

// callOn names a call for Key: its id, which is unique on its Asterisk
// node, qualified by the node when there are several.
func callOn(node, callID string) string {
	if node == "" {
		return callID
	}
	return node + ":" + callID
}

// Key is the replace-key of the messages about one agent call. APNs
// takes at most 64 bytes; a longer call id is hashed.
func Key(callID string) string {
	k := "earshot-call-" + callID
	if len(k) > 64 {
		sum := sha256.Sum256([]byte(callID))
		k = "earshot-call-" + hex.EncodeToString(sum[:16])
	}
	return k
}

// offer builds the listen offer (R7, R8) or its withdrawal; ok is false
// for an offer already expired.
func (b *builder) offer(ctx context.Context, ev earshot.OfferEvent) (Message, bool) {
	o := ev.Offer
	agent, pool := b.names(ctx, o.Agent, o.Pool)
	data := map[string]string{
		"offer_id": o.ID, "agent_id": o.Agent, "agent_name": agent, "pool_id": o.Pool, "pool_name": pool,
	}
	if ev.Withdrawn {
		data["type"] = TypeOfferWithdrawn
		return b.message(data, callOn(o.Node, o.CallID), CategoryInfo, infoTTL,
			"Call ended",
			fmt.Sprintf("%s's call in %s ended before you dialled in.", agent, pool)), true
	}
	ttl := o.ExpiresAt.Sub(b.now()).Truncate(time.Second)
	if ttl < time.Second {
		return Message{}, false
	}
	data["type"] = TypeListenOffer
	data["source"] = ev.Source
	// Each node has its own number; the offer names its call's.
	number := cmp.Or(o.SupervisingNumber, b.supervisingNumber)
	data["supervising_number"] = number
	data["dial_uri"] = earshot.DialURI(number, o.Code)
	if o.Node != "" {
		data["node"] = o.Node
	}
	data["expires_at"] = o.ExpiresAt.UTC().Format(time.RFC3339)
	return b.message(data, callOn(o.Node, o.CallID), CategoryListenOffer, ttl,
		agent+" is on a service call",
		fmt.Sprintf("%s · Listen: calls the supervising number.", pool)), true
}

// session builds the supervising status (R11) or the session's end.
func (b *builder) session(ctx context.Context, ev earshot.SessionEvent) Message {
	s := ev.Session
	agent, pool := b.names(ctx, s.Agent, s.Pool)
	data := map[string]string{
		"session_id": s.ID, "agent_id": s.Agent, "agent_name": agent, "pool_id": s.Pool, "pool_name": pool,
	}
	if ev.Kind == earshot.SessionEnded {
		data["type"] = TypeSessionEnded
		data["reason"] = string(ev.Reason)
		return b.message(data, callOn(s.Node, s.CallID), CategoryInfo, infoTTL,
			"Supervising ended", fmt.Sprintf("%s: %s.", agent, ev.Reason.Text()))
	}
	others := make([]string, 0, 2)
	for _, m := range s.Mode.Others() {
		others = append(others, string(m))
	}
	data["type"] = TypeSupervisingStatus
	data["mode"] = string(s.Mode)
	data["actions"] = strings.Join(others, ",")
	return b.message(data, callOn(s.Node, s.CallID), StatusCategory(s.Mode), statusTTL,
		fmt.Sprintf("Supervising %s: %s", agent, s.Mode), modeText[s.Mode])
}

var modeText = map[earshot.Mode]string{
	earshot.ModeListen:  "Listening. Neither the agent nor the customer hears you.",
	earshot.ModeWhisper: "Whispering. Only the agent hears you.",
	earshot.ModeBarge:   "Barging in. The agent and the customer hear you.",
}

func (b *builder) message(data map[string]string, callID, category string, ttl time.Duration, title, body string) Message {
	return Message{
		Type: data["type"], Data: data, Title: title, Body: body,
		Key: Key(callID), Category: category, TTL: ttl, Expires: b.now().Add(ttl),
	}
}

// names looks up display names; an id stands in for a name the directory
// no longer has (the notification still makes sense).
func (b *builder) names(ctx context.Context, agentID, poolID string) (agent, pool string) {
	agent, pool = agentID, poolID
	if u, err := b.dir.User(ctx, agentID); err == nil && u.Name != "" {
		agent = u.Name
	}
	if p, err := b.dir.Pool(ctx, poolID); err == nil && p.Name != "" {
		pool = p.Name
	}
	return agent, pool
}
