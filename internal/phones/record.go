package phones

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/audio"
)

// StartLag is how much of the start of a call a recording misses:
// MixMonitor writes its first frame ~0.5 s after the phone answers
// (measured: 505–527 ms), then keeps time to the hang-up. Measure nothing
// in a phone's first StartLag.
const StartLag = 700 * time.Millisecond

// Heard is what one party's phone recorded, placed on the wall clock.
type Heard struct {
	*audio.Recording
	Party string
	// Start is when the recording's first sample was heard: the phone's
	// hang-up minus the recording's length. Frames flow every 20 ms from
	// the first one to the hang-up, because each phone sends its own tone;
	// the start itself is no anchor, as MixMonitor begins ~0.5 s late.
	Start time.Time
}

// At maps a wall-clock instant to an offset in the recording.
func (r *Heard) At(t time.Time) time.Duration { return t.Sub(r.Start) }

// Between maps a wall-clock span to an interval of the recording.
func (r *Heard) Between(from, to time.Time) audio.Interval {
	return audio.Interval{From: r.At(from), To: r.At(to)}
}

// Recording waits until the party's phone has hung up and its recording
// is complete, then reads it.
func (c *Call) Recording(ctx context.Context, party string) (*Heard, error) {
	id := c.Phones[party]
	if id == "" {
		return nil, fmt.Errorf("no phone for %q in call %s", party, c.ID)
	}
	if err := c.WaitGone(ctx, id); err != nil {
		return nil, err
	}
	c.h.mu.Lock()
	end := c.h.destroyed[id]
	c.h.mu.Unlock()
	return readHeard(ctx, c.h.env.HostPath(path.Join(RecDir, c.ID+"-"+party+".wav")), party, end)
}

// readHeard reads a phone's recording once it is complete and anchors it
// at end, the moment the recording stopped. The recorder (MixMonitor,
// baresip) closes the file just after the call ends; its header is
// complete once the RIFF size matches the file.
func readHeard(ctx context.Context, file, party string, end time.Time) (*Heard, error) {
	deadline := time.Now().Add(5 * time.Second)
	for !wavComplete(file) {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("recording %s never completed", file)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	rec, err := audio.ReadWAV(file)
	if err != nil {
		return nil, err
	}
	return &Heard{Recording: rec, Party: party, Start: end.Add(-rec.Duration())}, nil
}

func wavComplete(file string) bool {
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	var hdr [8]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return false
	}
	st, err := f.Stat()
	if err != nil {
		return false
	}
	return string(hdr[:4]) == "RIFF" && int64(binary.LittleEndian.Uint32(hdr[4:]))+8 == st.Size()
}

// AssertNoLeaks waits (up to 5 s) until Asterisk holds no channel or
// bridge whose id starts with prefix ("<app>."), and fails the test with
// what is left otherwise.
func (h *Harness) AssertNoLeaks(tb testing.TB, prefix string) {
	tb.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left, err := h.leftovers(ctx, prefix)
		if err != nil {
			tb.Errorf("leak check: %v", err)
			return
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Errorf("leaked in Asterisk: %s", strings.Join(left, ", "))
			return
		}
		time.Sleep(50 * time.Millisecond) // polling Asterisk's own state, with a deadline
	}
}

func (h *Harness) leftovers(ctx context.Context, prefix string) ([]string, error) {
	chans, err := h.client.Channels(ctx)
	if err != nil {
		return nil, err
	}
	bridges, err := h.client.Bridges(ctx)
	if err != nil {
		return nil, err
	}
	var left []string
	for _, ch := range chans {
		if strings.HasPrefix(ch.ID, prefix) {
			left = append(left, "channel "+ch.ID+" ("+ch.Name+")")
		}
	}
	for _, b := range bridges {
		if strings.HasPrefix(b.ID, prefix) {
			left = append(left, "bridge "+b.ID)
		}
	}
	return left, nil
}

// voiceLength is how long a voice file plays before the phone loops it.
const voiceLength = 30 * time.Second

// toneDBFS is the peak of a voice file's tone, near that of Playtones.
const toneDBFS = -13.0

// voiceFile writes, once, the sound file a phone plays as its voice
// (VOICE_<party> in the test dialplan): the tone of hz (0: the
// supervisor's) for voiceLength. It returns the sandbox path without
// extension.
func (h *Harness) voiceFile(hz float64) (string, error) {
	if hz == 0 {
		hz = SupervisorHz
	}
	name := path.Join(RecDir, fmt.Sprintf("voice-%d", int(hz)))
	host := h.env.HostPath(name + ".wav")
	if _, err := os.Stat(host); err == nil {
		return name, nil
	}
	var buf bytes.Buffer
	if err := audio.WriteWAV(&buf, 8000, audio.Tone(8000, hz, toneDBFS, voiceLength)); err != nil {
		return "", err
	}
	// Written aside and renamed: a phone must never play half a file.
	tmp := host + "." + randHex(4)
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("voice file: %w", err)
	}
	if err := os.Rename(tmp, host); err != nil {
		return "", fmt.Errorf("voice file: %w", err)
	}
	return name, nil
}
