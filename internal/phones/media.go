package phones

import (
	"context"
	"encoding/binary"
	"math"
	"sync"
	"time"

	"github.com/earshot/earshot/internal/audio"
)

// MediaPeer stands in for a browser on a browser session's media link: it
// sends a tone as the supervisor's microphone, in 20 ms frames of slin16
// at real-time pace, and records every frame it receives, placed on the
// wall clock by when it arrived.
type MediaPeer struct {
	mu      sync.Mutex
	start   time.Time // when the first frame arrived, minus one frame
	samples []float64
	first   time.Time
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

// MediaRate is the sample rate of a media link (slin16).
const MediaRate = 16000

// frameSamples is one 20 ms frame.
const frameSamples = MediaRate / 50

// NewMediaPeer starts sending a tone of hz (0: nothing) through send and
// recording what arrives on frames, until Stop.
func NewMediaPeer(send func(ctx context.Context, frame []byte) error, frames <-chan []byte, hz float64) *MediaPeer {
	ctx, cancel := context.WithCancel(context.Background())
	p := &MediaPeer{stop: cancel}
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		for {
			select {
			case f, ok := <-frames:
				if !ok {
					return
				}
				p.add(f)
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		defer p.wg.Done()
		if hz == 0 {
			return
		}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		n := 0
		for {
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
			_ = send(ctx, ToneFrame(hz, n))
			n++
		}
	}()
	return p
}

// ToneFrame is the n-th 20 ms frame of a continuous tone of hz at about
// -19 dBFS (the level of the simulated phones), as slin16.
func ToneFrame(hz float64, n int) []byte {
	const amp = 0.11
	b := make([]byte, 2*frameSamples)
	for i := range frameSamples {
		t := float64(n*frameSamples+i) / MediaRate
		v := int16(amp * 32767 * math.Sin(2*math.Pi*hz*t))
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

func (p *MediaPeer) add(f []byte) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.first.IsZero() {
		p.first = now
		p.start = now.Add(-time.Duration(len(f)/2) * time.Second / MediaRate)
	}
	for i := 0; i+1 < len(f); i += 2 {
		p.samples = append(p.samples, float64(int16(binary.LittleEndian.Uint16(f[i:])))/32768)
	}
}

// FirstFrame is when the first frame arrived (zero: none yet).
func (p *MediaPeer) FirstFrame() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.first
}

// Stop stops sending and recording.
func (p *MediaPeer) Stop() {
	p.stop()
	p.wg.Wait()
}

// Heard is what the peer received, as a recording on the wall clock.
func (p *MediaPeer) Heard(party string) *Heard {
	p.mu.Lock()
	defer p.mu.Unlock()
	return &Heard{
		Recording: &audio.Recording{Rate: MediaRate, Samples: append([]float64(nil), p.samples...)},
		Party:     party, Start: p.start,
	}
}
