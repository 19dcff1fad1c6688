package audio_test

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/audio"
)

// Tones of the simulated parties, and the level the phones play them at.
const (
	customer   = 400.0
	beep       = 700.0
	agent      = 1000.0
	supervisor = 2500.0
	toneDBFS   = -19.0
)

var allTones = []float64{customer, beep, agent, supervisor}

// sec converts seconds to a Duration, rounded to the microsecond so that
// 1.01 s is exactly 1010 ms.
func sec(s float64) time.Duration {
	return time.Duration(math.Round(s*1e6)) * time.Microsecond
}

// span is the interval [from, to) in seconds.
func span(from, to float64) audio.Interval { return audio.Interval{From: sec(from), To: sec(to)} }

// writeRead writes samples to a WAV file in a temp dir and reads it back, so
// every test also exercises the file round trip.
func writeRead(t *testing.T, rate int, samples []float64) *audio.Recording {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rec.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := audio.WriteWAV(f, rate, samples); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := audio.ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// noise is Gaussian white noise with the given RMS relative to full scale,
// from a fixed seed so the measured figures in doc.go are reproducible.
func noise(rate int, rmsDBFS float64, d time.Duration) []float64 {
	rng := rand.New(rand.NewPCG(1, 2))
	sigma := math.Pow(10, rmsDBFS/20)
	out := audio.Silence(rate, d)
	for i := range out {
		out[i] = sigma * rng.NormFloat64()
	}
	return out
}

// chunk encodes one RIFF chunk, padded to an even size.
func chunk(id string, body []byte) []byte {
	b := append([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// fmtChunk encodes a plain 16-byte fmt chunk.
func fmtChunk(format, channels, bits uint16, rate uint32) []byte {
	le := binary.LittleEndian
	align := channels * bits / 8
	b := le.AppendUint16(nil, format)
	b = le.AppendUint16(b, channels)
	b = le.AppendUint32(b, rate)
	b = le.AppendUint32(b, rate*uint32(align))
	b = le.AppendUint16(b, align)
	return chunk("fmt ", le.AppendUint16(b, bits))
}

// rawWAV assembles a WAV file: the chunks in before, a data chunk holding
// payload but claiming dataSize bytes (-1: the true size), then after.
func rawWAV(before []byte, dataSize int64, payload, after []byte) []byte {
	le := binary.LittleEndian
	size := uint32(len(payload))
	if dataSize >= 0 {
		size = uint32(dataSize)
	}
	body := append([]byte("WAVE"), before...)
	body = append(le.AppendUint32(append(body, "data"...), size), payload...)
	body = append(body, after...)
	return append(append([]byte("RIFF"), le.AppendUint32(nil, uint32(len(body)))...), body...)
}

// pcm16 encodes samples (one or more interleaved channels) as 16-bit PCM.
func pcm16(samples []float64) []byte {
	var b []byte
	for _, v := range samples {
		b = binary.LittleEndian.AppendUint16(b, uint16(int16(math.Round(v*32767))))
	}
	return b
}
