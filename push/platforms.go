package push

import "context"

// PlatformWeb is the platform of a browser's Web Push subscription; its
// Device.Token is the subscription's endpoint.
const PlatformWeb = "web"

// PlatformSenders sends each message through the sender of its platform,
// and the rest through the one under "": Web Push beside FCM, behind the
// same queue, retries and token pruning.
type PlatformSenders map[string]Sender

// Send implements Sender.
func (p PlatformSenders) Send(ctx context.Context, msgs []Message) []error {
	errs := make([]error, len(msgs))
	groups := map[string][]int{}
	for i, m := range msgs {
		platform := m.Platform
		if _, ok := p[platform]; !ok {
			platform = ""
		}
		groups[platform] = append(groups[platform], i)
	}
	for platform, idx := range groups {
		s := p[platform]
		if s == nil {
			for _, i := range idx {
				errs[i] = errNoSender
			}
			continue
		}
		batch := make([]Message, len(idx))
		for j, i := range idx {
			batch[j] = msgs[i]
		}
		res := s.Send(ctx, batch)
		for j, i := range idx {
			if j < len(res) {
				errs[i] = res[j]
			} else {
				errs[i] = errNoAnswer
			}
		}
	}
	return errs
}

// logOnly reports whether every message ends up as a log line.
func (p PlatformSenders) logOnly() bool {
	_, ok := p[""].(LogSender)
	return ok
}
