package phone_test

import (
	"strings"
	"testing"

	"github.com/earshot/earshot"
	"github.com/earshot/earshot/phone"
)

func TestNormalize(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		for _, tt := range []struct {
			raw, region, want string
		}{
			{"+358 40 123 4567", "FI", "+358401234567"},
			{"+358 40 123 4567", "", "+358401234567"},
			{"+358401234567", "US", "+358401234567"},
			{"040 1234567", "FI", "+358401234567"},
			{"040 1234567", "fi", "+358401234567"},
			{"040-123 4567", "FI", "+358401234567"},
			{"(040) 123.4567", "FI", "+358401234567"},
			{"  0401234567\t", "FI", "+358401234567"},
			{"00358401234567", "FI", "+358401234567"},
			{"00358401234567", "", "+358401234567"},
			{"00358401234567", "US", "+358401234567"},
			{"tel:+358401234567", "FI", "+358401234567"},
			{"TEL:+358-40-123-4567", "", "+358401234567"},
			{"tel:0401234567", "FI", "+358401234567"},
			{"09 1234 5678", "FI", "+358912345678"},
			{"+1 (202) 555-0143", "FI", "+12025550143"},
			{"(202) 555-0143", "US", "+12025550143"},
			{"+44 20 7946 0958", "", "+442079460958"},
		} {
			got, err := phone.Normalize(tt.raw, tt.region)
			if err != nil {
				t.Errorf("Normalize(%q, %q): %v", tt.raw, tt.region, err)
				continue
			}
			if got != tt.want {
				t.Errorf("Normalize(%q, %q) = %q, want %q", tt.raw, tt.region, got, tt.want)
			}
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		for _, tt := range []struct {
			raw, region, want string
		}{
			{"", "FI", "phone number is empty"},
			{"   ", "FI", "phone number is empty"},
			{"abc", "FI", `phone number "abc" is not a valid number: it contains letters`},
			{"0800-FLOWERS", "FI", `phone number "0800-FLOWERS" is not a valid number: it contains letters`},
			{"+358 40 123 4567 ext. 12", "FI", "it contains letters"},
			{"040#1234567", "FI", "only digits"},
			{"12", "FI", `phone number "12" is not a valid number`},
			{"+3584", "FI", `phone number "+3584" is not a valid number`},
			{"+358 40 123 4567 8901 2345", "FI", `is not a valid number: too long`},
			{"0401234567", "", `is not a valid number: no country code`},
			// With FI as the region, "+999…" is read as Finland's carrier international prefix 999.
			{"+999 1234567", "", `is not a valid number: unknown country code`},
			{"+358 00 000 0000", "FI", `"+358 00 000 0000" is not a valid number`},
			{"358+401234567", "FI", "a + may only start the number"},
			{"++358401234567", "FI", "a + may only start the number"},
			{"tel:+358401234567;ext=12", "FI", "tel: URI parameters are not supported"},
			{"0401234567", "XX", `default region "XX" is not a known region`},
		} {
			got, err := phone.Normalize(tt.raw, tt.region)
			if err == nil {
				t.Errorf("Normalize(%q, %q) = %q, want an error", tt.raw, tt.region, got)
				continue
			}
			if code := earshot.ErrorCode(err); code != earshot.EINVALID {
				t.Errorf("Normalize(%q, %q): code %q, want %q", tt.raw, tt.region, code, earshot.EINVALID)
			}
			if msg := earshot.ErrorMessage(err); !strings.Contains(msg, tt.want) {
				t.Errorf("Normalize(%q, %q): message %q does not contain %q", tt.raw, tt.region, msg, tt.want)
			}
		}
	})
}

func TestIsE164(t *testing.T) {
	for _, tt := range []struct {
		s    string
		want bool
	}{
		{"+358401234567", true},
		{"+12025550143", true},
		{"+123456789012345", true},   // 15 digits, the maximum
		{"+1234567890123456", false}, // 16 digits
		{"358401234567", false},
		{"+0358401234567", false},
		{"+358 40 1234567", false},
		{"+", false},
		{"", false},
		{"+358401234567\n", false},
	} {
		if got := phone.IsE164(tt.s); got != tt.want {
			t.Errorf("IsE164(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestKnownRegion(t *testing.T) {
	for _, tt := range []struct {
		region string
		want   bool
	}{
		{"FI", true}, {"fi", true}, {"US", true}, {"XX", false}, {"", false}, {"FIN", false},
	} {
		if got := phone.KnownRegion(tt.region); got != tt.want {
			t.Errorf("KnownRegion(%q) = %v, want %v", tt.region, got, tt.want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"+358 40 123 4567", "040 1234567", "00358401234567", "tel:+358401234567",
		"abc", "", "12", "+1 (202) 555-0143", "tel:;phone-context=+358", "٠٤٠١٢٣٤٥٦٧",
	} {
		f.Add(s, "FI")
	}
	f.Add("0401234567", "")
	f.Add("2025550143", "US")
	f.Fuzz(func(t *testing.T, raw, region string) {
		got, err := phone.Normalize(raw, region)
		if err != nil {
			if earshot.ErrorCode(err) != earshot.EINVALID {
				t.Fatalf("Normalize(%q, %q): code %q, want %q", raw, region, earshot.ErrorCode(err), earshot.EINVALID)
			}
			return
		}
		if !phone.IsE164(got) {
			t.Fatalf("Normalize(%q, %q) = %q, not E.164", raw, region, got)
		}
		again, err := phone.Normalize(got, region)
		if err != nil || again != got {
			t.Fatalf("Normalize(%q, %q) = %q, %v; want itself", got, region, again, err)
		}
	})
}
