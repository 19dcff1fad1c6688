package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"
)

// Recording is a mono recording with samples normalised to [-1, 1).
type Recording struct {
	Path    string    // file it was read from, for failure messages; may be empty
	Rate    int       // samples per second
	Samples []float64 // mono samples in [-1, 1)
}

// ErrNotWAV reports input that is not a RIFF/WAVE file or is truncated
// before the audio starts.
var ErrNotWAV = errors.New("not a RIFF/WAVE file")

// ErrUnsupported reports a valid WAV file in an encoding this package does
// not decode (only 16-bit integer PCM is supported).
var ErrUnsupported = errors.New("unsupported WAV encoding")

// Sizes that MixMonitor leaves in the data chunk header when a recording was
// not finalised; both mean "read to end of file".
const (
	sizeUnknown  = 0
	sizeStreamed = 0xFFFFFFFF
)

// ReadWAV reads and decodes the WAV file at path, as ParseWAV does, and
// records path in the result for failure messages.
func ReadWAV(path string) (*Recording, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read wav %s: %w", path, err)
	}
	rec, err := parseWAV(b)
	if err != nil {
		return nil, fmt.Errorf("read wav %s: %w", path, err)
	}
	rec.Path = path
	return rec, nil
}

// ParseWAV decodes a WAV file from r. Multi-channel audio is mixed down to
// mono by averaging the channels.
func ParseWAV(r io.Reader) (*Recording, error) {
	// Recordings are short; reading them whole keeps chunk handling simple.
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return parseWAV(b)
}

func parseWAV(b []byte) (*Recording, error) {
	if len(b) < 12 {
		return nil, fmt.Errorf("%w: file too short (%d bytes)", ErrNotWAV, len(b))
	}
	if string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: header is %q, want \"RIFF....WAVE\"", ErrNotWAV, b[:12])
	}
	le := binary.LittleEndian
	var channels, bits, rate int
	haveFmt := false
	// The RIFF size is ignored: unfinalised recordings leave it wrong.
	for pos := 12; pos+8 <= len(b); {
		id, size := string(b[pos:pos+4]), int64(le.Uint32(b[pos+4:]))
		pos += 8
		rest := int64(len(b) - pos)
		switch id {
		case "fmt ":
			if size < 16 || size > rest {
				return nil, fmt.Errorf("%w: fmt chunk of %d bytes", ErrNotWAV, size)
			}
			f := b[pos:]
			format := int(le.Uint16(f))
			if format == 0xFFFE && size >= 40 {
				// WAVE_FORMAT_EXTENSIBLE: the real tag opens the sub-format GUID.
				format = int(le.Uint16(f[24:]))
			}
			channels, rate, bits = int(le.Uint16(f[2:])), int(le.Uint32(f[4:])), int(le.Uint16(f[14:]))
			switch {
			case format != 1:
				return nil, fmt.Errorf("%w: format tag %d, want 1 (PCM)", ErrUnsupported, format)
			case bits != 16:
				return nil, fmt.Errorf("%w: %d-bit samples, want 16-bit", ErrUnsupported, bits)
			case channels < 1:
				return nil, fmt.Errorf("%w: %d channels", ErrUnsupported, channels)
			case rate < 1:
				return nil, fmt.Errorf("%w: sample rate %d", ErrUnsupported, rate)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, fmt.Errorf("%w: data chunk before fmt chunk", ErrNotWAV)
			}
			if size == sizeUnknown || size == sizeStreamed || size > rest {
				size = rest
			}
			return &Recording{Rate: rate, Samples: decode(b[pos:pos+int(size)], channels)}, nil
		}
		pos += int(min(size+size&1, rest)) // chunks are padded to even sizes
	}
	return nil, fmt.Errorf("%w: no data chunk", ErrNotWAV)
}

// decode converts interleaved 16-bit frames to mono, dropping a trailing
// partial frame left by an interrupted write.
func decode(b []byte, channels int) []float64 {
	frame := 2 * channels
	out := make([]float64, len(b)/frame)
	for i := range out {
		var sum float64
		for c := range channels {
			sum += float64(int16(binary.LittleEndian.Uint16(b[i*frame+2*c:])))
		}
		out[i] = sum / float64(channels) / 32768
	}
	return out
}

// WriteWAV writes samples as a finalised mono 16-bit PCM WAV file. Samples
// are clipped to [-1, 1) like a real phone line would.
func WriteWAV(w io.Writer, rate int, samples []float64) error {
	if rate <= 0 {
		return fmt.Errorf("write wav: sample rate %d", rate)
	}
	var buf bytes.Buffer
	le := binary.LittleEndian
	n := uint32(2 * len(samples))
	buf.WriteString("RIFF")
	buf.Write(le.AppendUint32(nil, 36+n))
	buf.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate),
		uint32(2 * rate), uint16(2), uint16(16)} {
		_ = binary.Write(&buf, le, v) // cannot fail on a bytes.Buffer
	}
	buf.WriteString("data")
	buf.Write(le.AppendUint32(nil, n))
	for _, v := range samples {
		s := math.Max(-32768, math.Min(32767, math.Round(v*32768)))
		buf.Write(le.AppendUint16(nil, uint16(int16(s))))
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// Duration is the length of the recording.
func (r *Recording) Duration() time.Duration {
	if r.Rate <= 0 {
		return 0
	}
	return time.Duration(int64(len(r.Samples)) * int64(time.Second) / int64(r.Rate))
}

// Slice returns the part of the recording within iv, clamped to the
// recording. It shares samples with r; block 0 of the slice starts at
// iv.From.
func (r *Recording) Slice(iv Interval) *Recording {
	n := len(r.Samples)
	from := min(max(samplesIn(r.Rate, iv.From), 0), n)
	to := min(max(samplesIn(r.Rate, iv.To), from), n)
	return &Recording{Path: r.Path, Rate: r.Rate, Samples: r.Samples[from:to]}
}

// samplesIn converts a duration to a sample count, rounding to nearest.
func samplesIn(rate int, d time.Duration) int {
	return int((int64(d)*int64(rate) + int64(time.Second)/2) / int64(time.Second))
}
