package audio

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Interval is the half-open time span [From, To) of a recording.
type Interval struct{ From, To time.Duration }

// String formats the interval as "2.00s–4.00s" for failure messages.
func (iv Interval) String() string {
	return fmt.Sprintf("%.2fs–%.2fs", iv.From.Seconds(), iv.To.Seconds())
}

// Verdict is the measurement of one tone over one interval, kept whole so a
// failing test can show what was actually heard.
type Verdict struct {
	Freq     float64
	Interval Interval
	First    int       // index of the first block measured
	Levels   []float64 // dBFS per block, from block First on
	Present  int       // blocks at or above PresentDBFS
	Total    int       // blocks measured
	Min      float64   // dBFS
	Median   float64   // dBFS
	Max      float64   // dBFS
	// Err is set when the interval cannot be measured (beyond the end of
	// the recording, empty or inverted); such a verdict fails both Heard
	// and NotHeard.
	Err error
}

// Hears measures freq over the whole blocks inside iv.
func (r *Recording) Hears(freq float64, iv Interval) Verdict {
	v := Verdict{Freq: freq, Interval: iv}
	switch {
	case r == nil:
		v.Err = fmt.Errorf("no recording")
		return v
	case iv.From < 0 || iv.To <= iv.From:
		v.Err = fmt.Errorf("invalid interval %s", iv)
		return v
	case iv.To > r.Duration():
		v.Err = fmt.Errorf("interval %s extends beyond the end of the recording (%.2fs)",
			iv, r.Duration().Seconds())
		return v
	}
	i0, i1 := r.blockRange(iv)
	if i1 == i0 {
		v.Err = fmt.Errorf("interval %s holds no whole %v block", iv, Block)
		return v
	}
	v.First, v.Levels, v.Total = i0, r.levels(freq, i0, i1), i1-i0
	for _, l := range v.Levels {
		if l >= PresentDBFS {
			v.Present++
		}
	}
	s := slices.Sorted(slices.Values(v.Levels))
	v.Min, v.Max = s[0], s[len(s)-1]
	v.Median = (s[(len(s)-1)/2] + s[len(s)/2]) / 2
	return v
}

// Heard reports whether the tone is present in at least 90% of the blocks;
// the slack absorbs a block or two lost to jitter or a straddled switch.
func (v Verdict) Heard() bool {
	return v.Err == nil && v.Total > 0 && v.Present*10 >= v.Total*9
}

// NotHeard reports whether the tone is present in no block at all: any
// leak of another party's audio is a failure.
func (v Verdict) NotHeard() bool {
	return v.Err == nil && v.Total > 0 && v.Present == 0
}

// String summarises the verdict in one line, e.g. "present in 12/100
// blocks (min -120.0, median -118.3, max -19.2 dBFS)".
func (v Verdict) String() string {
	if v.Err != nil {
		return "cannot measure: " + v.Err.Error()
	}
	return fmt.Sprintf("present in %d/%d blocks (min %.1f, median %.1f, max %.1f dBFS)",
		v.Present, v.Total, v.Min, v.Median, v.Max)
}

// maxNumeric is the most blocks (3 s) listed as numbers; longer intervals
// are drawn as a one-character-per-block map to stay readable.
const maxNumeric = 150

// Listing renders the per-block levels for a failure message, one line per
// 10 blocks (200 ms) as rounded dBFS, or for long intervals one line per
// 50 blocks (1 s) as a map: '#' present, '+' within 20 dB below the
// threshold, '.' lower. Each line starts with the time of its first block.
func (v Verdict) Listing() string {
	if len(v.Levels) == 0 {
		return "  (no blocks)\n"
	}
	var b strings.Builder
	perLine := 10
	if len(v.Levels) > maxNumeric {
		perLine = 50
		fmt.Fprintf(&b, "  '#' >= %.0f dBFS, '+' >= %.0f, '.' below\n", PresentDBFS, PresentDBFS-20)
	}
	for i, l := range v.Levels {
		if i%perLine == 0 {
			if i > 0 {
				b.WriteByte('\n')
			}
			fmt.Fprintf(&b, "  %6.2fs ", (time.Duration(v.First+i) * Block).Seconds())
		}
		if perLine == 10 {
			if i%5 == 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, " %4.0f", l)
			continue
		}
		if i%10 == 0 {
			b.WriteByte(' ')
		}
		switch {
		case l >= PresentDBFS:
			b.WriteByte('#')
		case l >= PresentDBFS-20:
			b.WriteByte('+')
		default:
			b.WriteByte('.')
		}
	}
	b.WriteByte('\n')
	return b.String()
}
