package push

import (
	"context"
	"log/slog"
	"maps"
	"regexp"
)

// LogSender "delivers" by writing one log line per message: the demo's
// and a site without FCM's push service. Nothing leaves the machine, and
// no secret reaches the log: the token is shortened (TokenTail) and the
// dial URI's one-time code masked (MaskDialURI).
type LogSender struct{ Log *slog.Logger }

// Send implements Sender.
func (s LogSender) Send(ctx context.Context, msgs []Message) []error {
	for _, m := range msgs {
		data := maps.Clone(m.Data)
		if uri, ok := data["dial_uri"]; ok {
			data["dial_uri"] = MaskDialURI(uri)
		}
		s.Log.InfoContext(ctx, "push (log only)", "user", m.User, "token", TokenTail(m.Token),
			"type", m.Type, "title", m.Title, "body", m.Body, "data", data)
	}
	return make([]error, len(msgs))
}

// postDial is the one-time code of a dial URI: the digits after the
// pause (",") up to the "#".
var postDial = regexp.MustCompile(`,[^#]*#`)

// MaskDialURI hides a dial URI's one-time code for logs:
// "tel:+35891234599,482913#" → "tel:+35891234599,******#". The code
// lets whoever holds it join the call for the offer's life.
func MaskDialURI(uri string) string {
	return postDial.ReplaceAllLiteralString(uri, ",******#")
}
