package ariapp

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/earshot/earshot"
)

// A browser session's supervisor leg is a chan_websocket channel made by
// ARI externalMedia with connection_type=server: Asterisk serves its audio
// at /media/<connection id> on its own HTTP server, and Earshot is the one
// client of that socket (docs/design.md §2.13). The browser never reaches
// Asterisk: its audio link attaches to the mediaLeg, which relays frames
// both ways. Asterisk re-times what it receives (a 20 ms timer on the
// channel) and buffers up to a second of it, which is the jitter buffer
// of the microphone's direction.

// mediaFormat is the leg's codec: signed linear at 16 kHz is what the
// browser's audio stack works in, so neither side transcodes µ-law and
// wideband voice survives to the supervisor.
const mediaFormat = "slin16"

// mediaQueue bounds what waits for a slow browser link: 25 frames, half a
// second; later frames are dropped rather than delaying the call audio.
const mediaQueue = 25

// mediaLeg is the socket to Asterisk of one browser session and the link
// attached to it, if any. Its reader goroutine ends when the socket
// closes (Asterisk hangs the channel up, or close).
type mediaLeg struct {
	conn *websocket.Conn
	log  *slog.Logger
	done chan struct{} // the reader ended
	end  <-chan struct{}
	// grace ends the session when no link is attached for this long.
	grace  time.Duration
	onIdle func()

	mu     sync.Mutex
	link   *mediaLink
	idle   *time.Timer
	closed bool
}

// dialMedia connects to Asterisk's media socket and reads its MEDIA_START.
func dialMedia(ctx context.Context, url string, log *slog.Logger) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, fmt.Errorf("dial asterisk media socket: %w", err)
	}
	// Asterisk sends 640-byte frames and short text events.
	conn.SetReadLimit(64 << 10)
	typ, b, err := conn.Read(ctx)
	if err != nil {
		conn.CloseNow()
		return nil, fmt.Errorf("read MEDIA_START: %w", err)
	}
	if typ != websocket.MessageText || !strings.HasPrefix(string(b), "MEDIA_START") {
		conn.CloseNow()
		return nil, fmt.Errorf("asterisk media socket: want MEDIA_START, got %.80q", b)
	}
	if !strings.Contains(string(b), "format:"+mediaFormat) || !strings.Contains(string(b), "optimal_frame_size:640") {
		log.Warn("asterisk media socket: unexpected format", "media_start", string(b))
	}
	return conn, nil
}

func newMediaLeg(conn *websocket.Conn, end <-chan struct{}, grace time.Duration, onIdle func(), log *slog.Logger) *mediaLeg {
	m := &mediaLeg{conn: conn, log: log, done: make(chan struct{}), end: end, grace: grace, onIdle: onIdle}
	m.idle = time.AfterFunc(grace, onIdle) // a link must attach soon
	go m.read()
	return m
}

// read forwards Asterisk's frames to the attached link, if any.
func (m *mediaLeg) read() {
	defer close(m.done)
	for {
		typ, b, err := m.conn.Read(context.Background())
		if err != nil {
			return
		}
		if typ != websocket.MessageBinary {
			continue // MEDIA_XOFF and the like: nothing to relay
		}
		m.mu.Lock()
		if l := m.link; l != nil {
			select {
			case l.frames <- b:
			default:
				l.dropped++
			}
		}
		m.mu.Unlock()
	}
}

// attach makes l the link, unless one is attached already.
func (m *mediaLeg) attach() (*mediaLink, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, earshot.ErrSessionNotFound
	}
	if m.link != nil {
		return nil, earshot.ErrMediaAttached
	}
	m.idle.Stop()
	l := &mediaLink{leg: m, frames: make(chan []byte, mediaQueue)}
	m.link = l
	return l, nil
}

func (m *mediaLeg) detach(l *mediaLink) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.link != l {
		return
	}
	m.link = nil
	if l.dropped > 0 {
		m.log.Info("browser media link detached", "frames_dropped", l.dropped)
	}
	if !m.closed {
		m.idle.Reset(m.grace)
	}
}

// close closes the socket (Asterisk hangs the channel up if it has not)
// and waits for the reader.
func (m *mediaLeg) close() {
	m.mu.Lock()
	m.closed = true
	m.idle.Stop()
	m.link = nil
	m.mu.Unlock()
	_ = m.conn.Close(websocket.StatusNormalClosure, "session ended")
	<-m.done
}

// mediaLink is one attachment of a browser's audio (earshot.MediaLink).
type mediaLink struct {
	leg     *mediaLeg
	frames  chan []byte
	dropped int // under leg.mu
	once    sync.Once
}

var _ earshot.MediaLink = (*mediaLink)(nil)

func (l *mediaLink) Frames() <-chan []byte { return l.frames }
func (l *mediaLink) Done() <-chan struct{} { return l.leg.end }
func (l *mediaLink) Close()                { l.once.Do(func() { l.leg.detach(l) }) }

// Send writes one frame of the supervisor's microphone to Asterisk.
func (l *mediaLink) Send(ctx context.Context, frame []byte) error {
	// chan_websocket drops the tail of a message shorter than its frame
	// size, so only whole frames are worth sending.
	if len(frame) != earshot.MediaFrameBytes {
		return earshot.Errorf(earshot.EINVALID, "a media frame is %d bytes (20 ms of slin16)", earshot.MediaFrameBytes)
	}
	return l.leg.conn.Write(ctx, websocket.MessageBinary, frame)
}
