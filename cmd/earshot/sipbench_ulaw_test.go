package main

import "testing"

// The SIP benchmark's tones are G.711 µ-law: the encoder agrees with the
// reference values across both signs, the segments and the clip.
func TestLinearToULaw(t *testing.T) {
	for _, c := range []struct {
		in   int16
		want byte
	}{
		{0, 0xff}, {1, 0xff}, {100, 0xf2}, {-100, 0x72}, {1000, 0xce}, {-1000, 0x4e},
		{10000, 0x9c}, {-10000, 0x1c}, {32767, 0x80}, {-32768, 0x00},
	} {
		if got := linearToULaw(c.in); got != c.want {
			t.Errorf("linearToULaw(%d) = %#x, want %#x", c.in, got, c.want)
		}
	}
	if n := len(ulawTone(1000, 8000)); n != 8000 {
		t.Errorf("ulawTone: %d samples, want 8000", n)
	}
}
