package audio_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/audio"
)

func TestWAVRoundTrip(t *testing.T) {
	for _, rate := range []int{8000, 16000, 11025} {
		t.Run(fmt.Sprintf("%d Hz", rate), func(t *testing.T) {
			in := audio.Tone(rate, agent, toneDBFS, 500*time.Millisecond)
			r := writeRead(t, rate, in)
			if r.Rate != rate || len(r.Samples) != len(in) || r.Path == "" {
				t.Fatalf("got rate %d, %d samples, path %q; want %d, %d, set",
					r.Rate, len(r.Samples), r.Path, rate, len(in))
			}
			for i, v := range r.Samples {
				if math.Abs(v-in[i]) > 1.0/32768 {
					t.Fatalf("sample %d: got %v, want %v", i, v, in[i])
				}
			}
			if got, tick := r.Duration(), time.Second/time.Duration(rate); (got - 500*time.Millisecond).Abs() > tick {
				t.Errorf("Duration() = %v, want 500ms ± %v", got, tick)
			}
		})
	}
}

func TestWriteWAVClips(t *testing.T) {
	r := writeRead(t, 8000, []float64{2, -2, 0.5})
	if want := []float64{32767.0 / 32768, -1, 0.5}; !slices.Equal(r.Samples, want) {
		t.Errorf("got %v, want %v", r.Samples, want)
	}
}

// TestParseWAVVariants covers headers MixMonitor and other writers produce
// that WriteWAV does not: extra chunks and unfinalised data sizes.
func TestParseWAVVariants(t *testing.T) {
	tone := audio.Tone(8000, agent, toneDBFS, time.Second)
	payload := pcm16(tone)
	fmt16 := fmtChunk(1, 1, 16, 8000)
	list := chunk("LIST", []byte("INFOISFT\x05\x00\x00\x00Aster\x00")) // odd size: padded
	stereo := make([]float64, 0, 2*len(tone))
	for _, v := range tone {
		stereo = append(stereo, v, v)
	}
	// WAVE_FORMAT_EXTENSIBLE carrying PCM: tag 0xFFFE, then the PCM GUID.
	ext := []byte{0xfe, 0xff, 1, 0, 0x40, 0x1f, 0, 0, 0x80, 0x3e, 0, 0, 2, 0, 16, 0, 22, 0, 16, 0, 4, 0, 0, 0,
		1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71}
	tests := []struct {
		name    string
		file    []byte
		samples int
	}{
		{"plain", rawWAV(fmt16, -1, payload, nil), 8000},
		{"LIST before fmt", rawWAV(append(slices.Clone(list), fmt16...), -1, payload, nil), 8000},
		{"LIST between fmt and data", rawWAV(append(slices.Clone(fmt16), list...), -1, payload, nil), 8000},
		{"LIST after data", rawWAV(fmt16, -1, payload, list), 8000},
		{"data size 0", rawWAV(fmt16, 0, payload, nil), 8000},
		{"data size 0xFFFFFFFF", rawWAV(fmt16, 0xFFFFFFFF, payload, nil), 8000},
		{"data size beyond EOF", rawWAV(fmt16, 1<<20, payload, nil), 8000},
		{"torn last sample", rawWAV(fmt16, 0, append(slices.Clone(payload), 7), nil), 8000},
		{"extensible PCM", rawWAV(chunk("fmt ", ext), -1, payload, nil), 8000},
		{"stereo mixed down", rawWAV(fmtChunk(1, 2, 16, 8000), -1, pcm16(stereo), nil), 8000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := audio.ParseWAV(bytes.NewReader(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if r.Rate != 8000 || len(r.Samples) != tt.samples {
				t.Fatalf("got rate %d, %d samples; want 8000, %d", r.Rate, len(r.Samples), tt.samples)
			}
			audio.AssertHears(t, r, "phone", agent, span(0, 1))
			audio.AssertNotHears(t, r, "phone", customer, span(0, 1))
		})
	}
}

func TestParseWAVErrors(t *testing.T) {
	fmt16 := fmtChunk(1, 1, 16, 8000)
	tests := []struct {
		name string
		file []byte
		want error
		msg  string
	}{
		{"empty file", nil, audio.ErrNotWAV, "too short"},
		{"not RIFF", []byte("hello, this is not a wav file"), audio.ErrNotWAV, "header"},
		{"RIFF but not WAVE", []byte("RIFF\x04\x00\x00\x00AVI "), audio.ErrNotWAV, "header"},
		{"8-bit PCM", rawWAV(fmtChunk(1, 1, 8, 8000), -1, make([]byte, 80), nil), audio.ErrUnsupported, "8-bit"},
		{"24-bit PCM", rawWAV(fmtChunk(1, 1, 24, 8000), -1, make([]byte, 80), nil), audio.ErrUnsupported, "24-bit"},
		{"float", rawWAV(fmtChunk(3, 1, 32, 8000), -1, make([]byte, 80), nil), audio.ErrUnsupported, "format tag 3"},
		{"mu-law", rawWAV(fmtChunk(7, 1, 8, 8000), -1, make([]byte, 80), nil), audio.ErrUnsupported, "format tag 7"},
		{"zero rate", rawWAV(fmtChunk(1, 1, 16, 0), -1, make([]byte, 80), nil), audio.ErrUnsupported, "rate"},
		{"no fmt", rawWAV(nil, -1, make([]byte, 80), nil), audio.ErrNotWAV, "before fmt"},
		{"header only", []byte("RIFF\x04\x00\x00\x00WAVE"), audio.ErrNotWAV, "no data"},
		{"no data", append([]byte("RIFF\x18\x00\x00\x00WAVE"), fmt16...), audio.ErrNotWAV, "no data"},
		{"truncated fmt", []byte("RIFF\x10\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00"), audio.ErrNotWAV, "fmt chunk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := audio.ParseWAV(bytes.NewReader(tt.file))
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got %v, %v; want error %v mentioning %q", r, err, tt.want, tt.msg)
			}
		})
	}
}

func TestReadWAVErrorNamesFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.wav")
	if err := os.WriteFile(bad, []byte("not a wav"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.wav")
	tests := []struct {
		name, path string
		want       error
	}{
		{"malformed", bad, audio.ErrNotWAV},
		{"missing", missing, os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := audio.ReadWAV(tt.path)
			if !errors.Is(err, tt.want) || !strings.HasPrefix(err.Error(), "read wav "+tt.path+": ") {
				t.Fatalf("got %v; want %v prefixed with the path", err, tt.want)
			}
		})
	}
}
