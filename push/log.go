package push

import (
	"context"
	"log/slog"
)

// LogSender "delivers" by writing one log line per message: the demo's
// and a site without FCM's push service. Nothing leaves the machine.
type LogSender struct{ Log *slog.Logger }

// Send implements Sender.
func (s LogSender) Send(ctx context.Context, msgs []Message) []error {
	for _, m := range msgs {
		s.Log.InfoContext(ctx, "push (log only)", "user", m.User, "token", TokenTail(m.Token),
			"type", m.Type, "title", m.Title, "body", m.Body, "data", m.Data)
	}
	return make([]error, len(msgs))
}
