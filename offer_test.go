package earshot_test

import (
	"testing"

	"github.com/earshot/earshot"
)

func TestDialURI(t *testing.T) {
	cases := []struct{ number, code, want string }{
		{"+35891234599", "", "tel:+35891234599"},
		{"+35891234599", "0427", "tel:+35891234599,0427#"},
	}
	for _, tc := range cases {
		if got := earshot.DialURI(tc.number, tc.code); got != tc.want {
			t.Errorf("DialURI(%q, %q) = %q, want %q", tc.number, tc.code, got, tc.want)
		}
	}
}

func TestMode(t *testing.T) {
	cases := []struct {
		in     string
		ok     bool
		others []earshot.Mode
	}{
		{"listen", true, []earshot.Mode{earshot.ModeWhisper, earshot.ModeBarge}},
		{"whisper", true, []earshot.Mode{earshot.ModeListen, earshot.ModeBarge}},
		{"barge", true, []earshot.Mode{earshot.ModeListen, earshot.ModeWhisper}},
		{"spy", false, nil},
		{"", false, nil},
	}
	for _, tc := range cases {
		m, err := earshot.ParseMode(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseMode(%q) err = %v", tc.in, err)
			continue
		}
		if tc.ok && len(m.Others()) != 2 || (tc.ok && (m.Others()[0] != tc.others[0] || m.Others()[1] != tc.others[1])) {
			t.Errorf("%s.Others() = %v, want %v", m, m.Others(), tc.others)
		}
		if !tc.ok && earshot.ErrorCode(err) != earshot.EINVALID {
			t.Errorf("ParseMode(%q) code = %s, want invalid", tc.in, earshot.ErrorCode(err))
		}
	}
}
