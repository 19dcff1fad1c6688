package earshot

import "fmt"

// Mode is how a supervisor takes part in a call.
type Mode string

// The three supervising modes (R2–R4).
const (
	// ModeListen: the supervisor hears agent and customer; neither hears the supervisor.
	ModeListen Mode = "listen"
	// ModeWhisper: the agent hears the supervisor; the customer does not.
	ModeWhisper Mode = "whisper"
	// ModeBarge: agent and customer both hear the supervisor.
	ModeBarge Mode = "barge"
)

// Modes lists every mode in escalation order.
var Modes = []Mode{ModeListen, ModeWhisper, ModeBarge}

// ParseMode returns the mode named s, or an EINVALID error.
func ParseMode(s string) (Mode, error) {
	for _, m := range Modes {
		if string(m) == s {
			return m, nil
		}
	}
	return "", Errorf(EINVALID, "mode %q is not one of listen, whisper, barge", s)
}

// Others returns the modes a supervisor in m can switch to (R11).
func (m Mode) Others() []Mode {
	out := make([]Mode, 0, len(Modes)-1)
	for _, o := range Modes {
		if o != m {
			out = append(out, o)
		}
	}
	return out
}

// Valid reports whether m is one of the three modes.
func (m Mode) Valid() bool {
	_, err := ParseMode(string(m))
	return err == nil
}

// String implements fmt.Stringer.
func (m Mode) String() string { return string(m) }

var _ fmt.Stringer = ModeListen
