package audio

import (
	"math"
	"time"
)

// Tone returns a sine of freq Hz lasting d whose peak is amplitudeDBFS
// relative to full scale (0 dBFS = peak 1.0), starting at phase zero.
func Tone(rate int, freq, amplitudeDBFS float64, d time.Duration) []float64 {
	a := math.Pow(10, amplitudeDBFS/20)
	out := make([]float64, samplesIn(rate, d))
	for i := range out {
		out[i] = a * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))
	}
	return out
}

// Silence returns d of digital silence.
func Silence(rate int, d time.Duration) []float64 {
	return make([]float64, samplesIn(rate, d))
}

// Mix adds signals sample by sample, as a conference bridge would; the
// result is as long as the longest input. It does not clip: WriteWAV does.
func Mix(a ...[]float64) []float64 {
	n := 0
	for _, s := range a {
		n = max(n, len(s))
	}
	out := make([]float64, n)
	for _, s := range a {
		for i, v := range s {
			out[i] += v
		}
	}
	return out
}
