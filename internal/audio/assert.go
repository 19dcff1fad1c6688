package audio

import (
	"fmt"
	"strconv"
	"testing"
)

// AssertHears fails t unless who's recording r has freq present in at least
// 90% of the blocks of iv. The message lists the measured levels so a
// failure can be diagnosed without the WAV file.
func AssertHears(t testing.TB, r *Recording, who string, freq float64, iv Interval) {
	t.Helper()
	if v := r.Hears(freq, iv); !v.Heard() {
		t.Errorf("%s", failure(r, who, "should hear", v))
	}
}

// AssertNotHears fails t unless freq is present in no block of iv of who's
// recording r.
func AssertNotHears(t testing.TB, r *Recording, who string, freq float64, iv Interval) {
	t.Helper()
	if v := r.Hears(freq, iv); !v.NotHeard() {
		t.Errorf("%s", failure(r, who, "should not hear", v))
	}
}

// failure formats e.g. "customer should hear 1000 Hz during 2.00s–4.00s:
// present in 12/100 blocks (...); levels in x.wav (dBFS per 20 ms block):".
func failure(r *Recording, who, should string, v Verdict) string {
	msg := fmt.Sprintf("%s %s %s Hz during %s: %s", who, should,
		strconv.FormatFloat(v.Freq, 'f', -1, 64), v.Interval, v)
	if v.Err != nil {
		return msg
	}
	src := ""
	if r.Path != "" {
		src = " in " + r.Path
	}
	return fmt.Sprintf("%s; levels%s (dBFS per %v block):\n%s", msg, src, Block, v.Listing())
}
