package push

import (
	"encoding/json"
	"strings"
)

// Note is one notification for one user, before it is fanned out to their
// devices: what the console shows live (the event stream's
// "notification") and what a Web Push message carries.
type Note struct {
	User    string
	Message Message
}

// Action is a button a notification offers: Listen on an offer (open the
// dial URI), the other modes on a supervising status (R11).
type Action struct {
	ID    string `json:"action"`
	Title string `json:"title"`
}

// actionTitle is the words on each button, in one place for every client.
var actionTitle = map[string]string{
	"listen":  "Listen",
	"whisper": "Whisper",
	"barge":   "Barge",
}

// Actions returns the buttons of m: Listen on a listen offer, the other
// modes on a supervising status, none otherwise.
func Actions(m Message) []Action {
	var ids []string
	switch m.Type {
	case TypeListenOffer:
		ids = []string{"listen"}
	case TypeSupervisingStatus:
		if a := m.Data["actions"]; a != "" {
			ids = strings.Split(a, ",")
		}
	}
	out := make([]Action, 0, len(ids))
	for _, id := range ids {
		t := actionTitle[id]
		if t == "" {
			t = id
		}
		out = append(out, Action{ID: id, Title: t})
	}
	return out
}

// Payload is a notification as a browser shows it: the console's live
// notice, its system notification, and the Web Push message's content
// (web/sw.js reads it). Title, body and data are the FCM message's.
type Payload struct {
	Type     string            `json:"type"`
	Title    string            `json:"title"`
	Body     string            `json:"body"`
	Tag      string            `json:"tag"`
	Category string            `json:"category"`
	Actions  []Action          `json:"actions"`
	Data     map[string]string `json:"data"`
}

// PayloadOf returns m as a Payload.
func PayloadOf(m Message) Payload {
	return Payload{
		Type: m.Type, Title: m.Title, Body: m.Body, Tag: m.Key, Category: m.Category,
		Actions: Actions(m), Data: m.Data,
	}
}

// JSON is the payload's JSON, the Web Push message's plain text.
func (p Payload) JSON() []byte {
	b, _ := json.Marshal(p) // strings only: cannot fail
	return b
}
