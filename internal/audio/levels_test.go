package audio_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/audio"
)

// TestLevels checks which tones each synthetic recording carries. Where the
// tones fall on exact bins the absent ones must read below −100 dBFS, far
// from the threshold; at 11025 Hz they leak and only need to stay absent.
func TestLevels(t *testing.T) {
	mix := func(rate int, freqs ...float64) []float64 {
		var parts [][]float64
		for _, f := range freqs {
			parts = append(parts, audio.Tone(rate, f, toneDBFS, 2*time.Second))
		}
		return audio.Mix(parts...)
	}
	tests := []struct {
		name    string
		rate    int
		signal  []float64
		present []float64
		absent  float64 // every other tone reads below this
	}{
		{"400 Hz", 8000, mix(8000, customer), []float64{customer}, -100},
		{"700 Hz", 8000, mix(8000, beep), []float64{beep}, -100},
		{"1000 Hz", 8000, mix(8000, agent), []float64{agent}, -100},
		{"2500 Hz", 8000, mix(8000, supervisor), []float64{supervisor}, -100},
		{"400+1000 Hz", 8000, mix(8000, customer, agent), []float64{customer, agent}, -100},
		{"all four", 8000, mix(8000, allTones...), allTones, -100},
		{"silence", 8000, audio.Silence(8000, 2*time.Second), nil, -100},
		{"16 kHz 1000+2500 Hz", 16000, mix(16000, agent, supervisor), []float64{agent, supervisor}, -100},
		{"11025 Hz 400 Hz", 11025, mix(11025, customer), []float64{customer}, audio.PresentDBFS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := writeRead(t, tt.rate, tt.signal)
			for _, f := range allTones {
				levels := r.Levels(f)
				if len(levels) != 100 {
					t.Fatalf("%v Hz: %d blocks, want 100", f, len(levels))
				}
				lo, hi := slices.Min(levels), slices.Max(levels)
				if slices.Contains(tt.present, f) {
					// A −19 dBFS tone reads −19 dBFS in every block.
					if lo < toneDBFS-0.5 || hi > toneDBFS+0.5 {
						t.Errorf("%v Hz present: levels %.1f..%.1f, want %.1f ± 0.5", f, lo, hi, toneDBFS)
					}
					audio.AssertHears(t, r, "phone", f, span(0, 2))
					continue
				}
				if hi >= tt.absent {
					t.Errorf("%v Hz absent: max level %.1f dBFS, want < %.0f", f, hi, tt.absent)
				}
				audio.AssertNotHears(t, r, "phone", f, span(0, 2))
			}
		})
	}
}

// TestNoise measures how white noise reads in the tone bins, pinning the
// figures quoted in doc.go. With seed PCG(1, 2) over 10 s (500 blocks):
//
//	−20 dBFS RMS: 329–341 of 500 blocks present, median ≈ −37.5, max −26.7 dBFS
//	−38 dBFS RMS: 0 blocks present, max −44.7 dBFS (margin 4.7 dB)
//
// So loud noise defeats "does not hear" but never fakes "hears", and a tone
// at −19 dBFS is still heard through −20 dBFS noise.
func TestNoise(t *testing.T) {
	const d = 10 * time.Second
	all := span(0, 10)
	tests := []struct {
		name     string
		signal   []float64
		heard    []float64 // tones that must be heard
		notHeard bool      // the other tones must be absent in every block
	}{
		{"-20 dBFS", noise(8000, -20, d), nil, false},
		{"-38 dBFS", noise(8000, -38, d), nil, true},
		{"tone in -20 dBFS", audio.Mix(noise(8000, -20, d), audio.Tone(8000, agent, toneDBFS, d)), []float64{agent}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := writeRead(t, 8000, tt.signal)
			for _, f := range allTones {
				v := r.Hears(f, all)
				t.Logf("%v Hz: %s", f, v)
				switch {
				case slices.Contains(tt.heard, f):
					if !v.Heard() {
						t.Errorf("%v Hz should be heard: %s", f, v)
					}
				case v.Heard():
					t.Errorf("noise heard as %v Hz: %s", f, v)
				case tt.notHeard && (!v.NotHeard() || v.Max > audio.PresentDBFS-4):
					t.Errorf("noise leaks into %v Hz: %s", f, v)
				}
			}
		})
	}
}

func TestToneStartsMidway(t *testing.T) {
	for _, start := range []float64{1.0, 1.01, 1.019} {
		t.Run(fmt.Sprintf("at %.3fs", start), func(t *testing.T) {
			r := writeRead(t, 8000, slices.Concat(
				audio.Silence(8000, sec(start)),
				audio.Tone(8000, agent, toneDBFS, 3*time.Second-sec(start))))
			audio.AssertNotHears(t, r, "customer", agent, span(0, start))
			audio.AssertHears(t, r, "customer", agent, span(start, 3))
			if v := r.Hears(agent, span(0, 3)); v.Heard() || v.NotHeard() {
				t.Errorf("whole recording (one third silent): %s; want neither heard nor not heard", v)
			}
			got, ok := r.FirstPresent(agent, 0)
			if !ok || (got-sec(start)).Abs() > audio.Block {
				t.Errorf("FirstPresent(0) = %v, %v; want %v ± %v", got, ok, sec(start), audio.Block)
			}
			if got, ok := r.FirstPresent(agent, sec(2.005)); !ok || got != sec(2.02) {
				t.Errorf("FirstPresent(2.005s) = %v, %v; want 2.02s (next whole block)", got, ok)
			}
			if got, ok := r.FirstPresent(customer, 0); ok {
				t.Errorf("FirstPresent(absent tone) = %v, true; want false", got)
			}
		})
	}
}

func TestLongestGap(t *testing.T) {
	tone := func(f, s float64) []float64 { return audio.Tone(8000, f, toneDBFS, sec(s)) }
	gapAt := func(start float64) []float64 {
		return slices.Concat(tone(agent, start), audio.Silence(8000, 60*time.Millisecond), tone(agent, 2-start))
	}
	tests := []struct {
		name   string
		signal []float64
		freqs  []float64
		iv     audio.Interval
		want   time.Duration
	}{
		{"aligned 60 ms gap", gapAt(1.0), []float64{agent}, span(0, 2.06), 60 * time.Millisecond},
		{"unaligned 60 ms gap", gapAt(1.005), []float64{agent}, span(0, 2.06), 60 * time.Millisecond},
		{"gap filled by another party", audio.Mix(gapAt(1.0), tone(customer, 2.06)), []float64{customer, agent}, span(0, 2.06), 0},
		{"gap of the other party only", audio.Mix(gapAt(1.0), tone(customer, 2.06)), []float64{agent}, span(0, 2.06), 60 * time.Millisecond},
		{"no gap", tone(agent, 2), []float64{agent}, span(0, 2), 0},
		{"interval excludes gap", gapAt(1.0), []float64{agent}, span(0, 1), 0},
		{"all silence", audio.Silence(8000, time.Second), allTones, span(0, 1), time.Second},
		{"interval clamped to end", audio.Silence(8000, time.Second), allTones, span(0.5, 5), 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := writeRead(t, 8000, tt.signal)
			if got := r.LongestGap(tt.freqs, tt.iv); (got - tt.want).Abs() > audio.Block {
				t.Errorf("LongestGap = %v, want %v ± %v", got, tt.want, audio.Block)
			}
		})
	}
}

func TestSlice(t *testing.T) {
	r := writeRead(t, 8000, slices.Concat(audio.Silence(8000, time.Second), audio.Tone(8000, agent, toneDBFS, time.Second)))
	s := r.Slice(span(0.9, 5))
	if s.Duration() != 1100*time.Millisecond || s.Path != r.Path {
		t.Fatalf("slice: %v of %q, want 1.1s of %q", s.Duration(), s.Path, r.Path)
	}
	if got, ok := s.FirstPresent(agent, 0); !ok || got != 100*time.Millisecond {
		t.Errorf("FirstPresent in slice = %v, %v; want 100ms", got, ok)
	}
}

func TestHearsUnmeasurable(t *testing.T) {
	r := writeRead(t, 8000, audio.Tone(8000, agent, toneDBFS, 2*time.Second))
	tests := []struct {
		name string
		iv   audio.Interval
	}{
		{"beyond end", span(1, 3)},
		{"starts after end", span(2.5, 3)},
		{"inverted", span(1.5, 1)},
		{"negative", span(-1, 1)},
		{"shorter than a block", span(1.005, 1.015)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := r.Hears(agent, tt.iv)
			if v.Err == nil || v.Heard() || v.NotHeard() {
				t.Errorf("Hears(%s) = %s, err %v; want an error failing both", tt.iv, v, v.Err)
			}
		})
	}
	var none *audio.Recording
	if v := none.Hears(agent, span(0, 1)); v.Err == nil {
		t.Errorf("nil recording: %s; want an error", v)
	}
}
