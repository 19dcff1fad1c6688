package ariapp

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
)

// FailOnce makes the next ARI request of one kind fail, the way an
// Asterisk that refuses it would (tests of what a failure leaves behind,
// on the real Asterisk). kind is "bridge" (CreateBridge) or "snoop".
func FailOnce(a *App, kind string) {
	a.ast = &failOnce{asterisk: a.ast, kind: kind}
}

type failOnce struct {
	asterisk
	kind  string
	spent atomic.Bool
}

var errInjected = errors.New("injected failure")

func (f *failOnce) CreateBridge(ctx context.Context, id, name string) error {
	if f.kind == "bridge" && !f.spent.Swap(true) {
		return &APIError{Method: "POST", Path: "/bridges/" + id, Status: 500, Message: errInjected.Error()}
	}
	return f.asterisk.CreateBridge(ctx, id, name)
}

func (f *failOnce) Snoop(ctx context.Context, target, id, spy, whisper, app, args string) error {
	if f.kind == "snoop" && strings.HasPrefix(args, "snoop") && !f.spent.Swap(true) {
		return &APIError{Method: "POST", Path: "/channels/" + target + "/snoop", Status: 500, Message: errInjected.Error()}
	}
	return f.asterisk.Snoop(ctx, target, id, spy, whisper, app, args)
}
