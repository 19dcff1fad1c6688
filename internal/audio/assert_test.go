package audio_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/internal/audio"
)

// fakeTB records Errorf calls instead of failing; any other testing.TB
// method panics on the nil embedded interface, flagging unexpected use.
type fakeTB struct {
	testing.TB
	errs []string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

func TestAssertions(t *testing.T) {
	// Silent for 1 s, then the agent's tone for 4 s.
	r := writeRead(t, 8000, slices.Concat(audio.Silence(8000, time.Second),
		audio.Tone(8000, agent, toneDBFS, 4*time.Second)))
	hears := func(tb testing.TB, iv audio.Interval) { audio.AssertHears(tb, r, "customer", agent, iv) }
	notHears := func(tb testing.TB, iv audio.Interval) { audio.AssertNotHears(tb, r, "customer", agent, iv) }
	tests := []struct {
		name   string
		assert func(testing.TB, audio.Interval)
		iv     audio.Interval
		want   []string // substrings of the failure message; nil: must pass
	}{
		{"hears: pass", hears, span(1, 5), nil},
		{"not hears: pass", notHears, span(0, 1), nil},
		{"hears: silent", hears, span(0, 1), []string{
			"customer should hear 1000 Hz during 0.00s–1.00s: present in 0/50 blocks (min -150.0, median -150.0, max -150.0 dBFS)",
			"levels in " + r.Path, "\n    0.00s   -150 -150 -150 -150 -150  -150", "\n    0.80s ",
		}},
		{"hears: partly", hears, span(0, 2), []string{
			"present in 50/100 blocks (min -150.0, median -84.5, max -19.0 dBFS)",
			"\n    1.00s    -19  -19  -19  -19  -19   -19",
		}},
		{"not hears: tone", notHears, span(0.5, 1.5), []string{
			"customer should not hear 1000 Hz during 0.50s–1.50s: present in 25/50 blocks",
			"\n    1.10s    -19  -19",
		}},
		{"long interval as map", notHears, span(0, 5), []string{
			"present in 200/250 blocks", "'#' >= -40 dBFS",
			"\n    0.00s  .......... .......... .......... .......... ..........\n",
			"\n    1.00s  ########## ##########",
		}},
		{"hears: beyond end", hears, span(4, 6), []string{
			"customer should hear 1000 Hz during 4.00s–6.00s: cannot measure: interval 4.00s–6.00s extends beyond the end of the recording (5.00s)",
		}},
		{"not hears: beyond end", notHears, span(4, 6), []string{"should not hear", "beyond the end"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeTB{}
			tt.assert(fake, tt.iv)
			if tt.want == nil {
				if len(fake.errs) > 0 {
					t.Fatalf("unexpected failure: %s", fake.errs[0])
				}
				return
			}
			if len(fake.errs) != 1 {
				t.Fatalf("got %d failures, want 1: %q", len(fake.errs), fake.errs)
			}
			for _, w := range tt.want {
				if !strings.Contains(fake.errs[0], w) {
					t.Errorf("message lacks %q:\n%s", w, fake.errs[0])
				}
			}
			t.Logf("message:\n%s", fake.errs[0])
		})
	}
}
