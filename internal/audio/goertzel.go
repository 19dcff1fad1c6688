package audio

import (
	"math"
	"time"
)

// Block is the analysis window: short enough to time a switch to within
// 20 ms, long enough for 50 Hz-wide Goertzel bins.
const Block = 20 * time.Millisecond

// PresentDBFS is the level at or above which a tone counts as present in a
// block: midway between a played tone (≈ −19 dBFS) and an absent one
// (< −100 dBFS).
const PresentDBFS = -40.0

// floorDBFS is reported for exact digital silence instead of −Inf, so
// levels stay printable and sortable.
const floorDBFS = -150.0

// blocksPerSecond is the number of Blocks per second.
const blocksPerSecond = int64(time.Second / Block)

// numBlocks is the number of whole blocks in the recording.
func (r *Recording) numBlocks() int {
	if r.Rate <= 0 {
		return 0
	}
	return int(int64(len(r.Samples)) * blocksPerSecond / int64(r.Rate))
}

// block returns the samples of block i. At rates that are not a multiple of
// 50 Hz blocks differ by a sample, so boundaries never drift from i*Block.
func (r *Recording) block(i int) []float64 {
	start := int64(i) * int64(r.Rate) / blocksPerSecond
	end := int64(i+1) * int64(r.Rate) / blocksPerSecond
	return r.Samples[start:end]
}

// Levels returns the level of freq in dBFS for each whole Block; index i
// covers [i*Block, (i+1)*Block). A trailing partial block is ignored.
func (r *Recording) Levels(freq float64) []float64 {
	return r.levels(freq, 0, r.numBlocks())
}

// levels returns the levels of freq for blocks [i0, i1).
func (r *Recording) levels(freq float64, i0, i1 int) []float64 {
	out := make([]float64, 0, max(i1-i0, 0))
	for i := i0; i < i1; i++ {
		out = append(out, goertzel(r.block(i), freq, r.Rate))
	}
	return out
}

// goertzel returns the level of freq in x in dBFS, scaled so that a
// full-scale sine on a bin reads 0 dBFS (amplitude = 2|X|/N).
func goertzel(x []float64, freq float64, rate int) float64 {
	if len(x) == 0 {
		return floorDBFS
	}
	c := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = v+c*s1-s2, s1
	}
	power := max(s1*s1+s2*s2-c*s1*s2, 0) // rounding can make it slightly negative
	amp := 2 * math.Sqrt(power) / float64(len(x))
	return max(20*math.Log10(amp), floorDBFS)
}

// blockRange returns the blocks lying wholly inside iv, clamped to the
// recording. Rounding inwards keeps a block that straddles a switch out of
// both the "before" and the "after" interval.
func (r *Recording) blockRange(iv Interval) (i0, i1 int) {
	i0 = int((max(iv.From, 0) + Block - 1) / Block)
	i1 = min(int(iv.To/Block), r.numBlocks())
	return i0, max(i1, i0)
}

// FirstPresent returns the start of the first block at or after from in
// which freq is present, e.g. to measure time to audio. It reports false if
// the tone never becomes present.
func (r *Recording) FirstPresent(freq float64, from time.Duration) (time.Duration, bool) {
	i0 := int((max(from, 0) + Block - 1) / Block)
	for i := i0; i < r.numBlocks(); i++ {
		if goertzel(r.block(i), freq, r.Rate) >= PresentDBFS {
			return time.Duration(i) * Block, true
		}
	}
	return 0, false
}

// LongestGap returns the longest run of consecutive blocks wholly inside iv
// in which none of freqs is present: the silence a listener hears, e.g.
// while a call switches mode. iv is clamped to the recording.
func (r *Recording) LongestGap(freqs []float64, iv Interval) time.Duration {
	i0, i1 := r.blockRange(iv)
	longest, run := 0, 0
	for i := i0; i < i1; i++ {
		run++
		for _, f := range freqs {
			if goertzel(r.block(i), f, r.Rate) >= PresentDBFS {
				run = 0
				break
			}
		}
		longest = max(longest, run)
	}
	return time.Duration(longest) * Block
}
