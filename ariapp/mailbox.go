package ariapp

import (
	"sync"

	"github.com/CyCoreSystems/ari/v6"
)

// mailbox is an unbounded queue of events for one session. The pump puts
// without ever blocking; the session's goroutine takes at its own pace.
type mailbox struct {
	mu     sync.Mutex
	q      []ari.Event
	signal chan struct{}
}

func newMailbox() *mailbox { return &mailbox{signal: make(chan struct{}, 1)} }

func (m *mailbox) put(e ari.Event) {
	m.mu.Lock()
	m.q = append(m.q, e)
	m.mu.Unlock()
	select {
	case m.signal <- struct{}{}:
	default:
	}
}

// take returns the queued events, oldest first, and empties the queue.
func (m *mailbox) take() []ari.Event {
	m.mu.Lock()
	q := m.q
	m.q = nil
	m.mu.Unlock()
	return q
}
