// Package phone normalises phone numbers to E.164, the one form Earshot
// stores and compares: a supervisor is recognised by the caller number of
// their call to the supervising number (R9), so "+358 40 123 4567",
// "040 1234567" and "tel:+358401234567" must all become the same string.
//
// Parsing and validation rest on github.com/nyaruka/phonenumbers, a port of
// Google's libphonenumber, because numbering plans change and are not worth
// hand-coding.
package phone

import (
	"errors"
	"regexp"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"

	"github.com/earshot/earshot"
)

// e164 is the syntax of an E.164 number: a plus, a country code that does
// not start with 0, and at most 15 digits in all.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// IsE164 reports whether s is written in E.164 form ("+358401234567"). It
// checks the syntax only, not whether the number is in use; Normalize does
// that.
func IsE164(s string) bool { return e164.MatchString(s) }

// KnownRegion reports whether region is an ISO 3166-1 alpha-2 code (in any
// case) that the numbering metadata knows, e.g. "FI".
func KnownRegion(region string) bool {
	return phonenumbers.GetSupportedRegions()[strings.ToUpper(region)]
}

// Normalize returns raw in E.164 form. Numbers written without a country
// code are read as numbers of defaultRegion (an ISO country code such as
// "FI"; "" requires a country code). It accepts the usual separators
// (spaces, "-", ".", "(", ")", "/"), the "00" international prefix and
// tel: URIs (RFC 3966). Errors are EINVALID and say what is wrong.
func Normalize(raw, defaultRegion string) (string, error) {
	region := strings.ToUpper(strings.TrimSpace(defaultRegion))
	if region != "" && !KnownRegion(region) {
		return "", earshot.Errorf(earshot.EINVALID, "default region %q is not a known region", defaultRegion)
	}
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", earshot.Errorf(earshot.EINVALID, "phone number is empty")
	}
	invalid := func(why string) error {
		return earshot.Errorf(earshot.EINVALID, "phone number %q is not a valid number: %s", raw, why)
	}

	number := s
	if len(s) >= 4 && strings.EqualFold(s[:4], "tel:") {
		number = s[4:]
		// Parameters (";phone-context=", ";ext=") would let a number stand
		// for something other than what the caller presents; E.164 has no
		// room for them.
		if strings.Contains(number, ";") {
			return "", invalid("tel: URI parameters are not supported")
		}
	}
	for _, r := range number {
		switch {
		case unicode.IsDigit(r), unicode.IsSpace(r), strings.ContainsRune("+-.()/", r):
		case unicode.IsLetter(r):
			// phonenumbers would read letters as a vanity number
			// ("0800-FLOWERS"); a caller number never has them.
			return "", invalid("it contains letters")
		default:
			return "", invalid("only digits, spaces and + - . ( ) / are allowed")
		}
	}
	if strings.Count(number, "+") > 1 || (strings.Contains(number, "+") && !strings.HasPrefix(number, "+")) {
		return "", invalid("a + may only start the number")
	}

	num, err := parse(number, region)
	if err != nil {
		return "", invalid(err.Error())
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// parse reads number and checks that it is a valid number, returning the
// reason for people when it is not.
func parse(number, region string) (*phonenumbers.PhoneNumber, error) {
	num, err := parseValid(number, region)
	// "00" is the international prefix in most of the world, but the
	// metadata only knows it for regions that use it; try it as "+" too so
	// "00358…" works with any default region (or none).
	if err != nil {
		digits := strings.TrimLeft(number, " \t")
		if strings.HasPrefix(digits, "00") {
			if n, err2 := parseValid("+"+digits[2:], region); err2 == nil {
				return n, nil
			}
		}
	}
	return num, err
}

func parseValid(number, region string) (*phonenumbers.PhoneNumber, error) {
	num, err := phonenumbers.Parse(number, region)
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode) && region == "" && !strings.HasPrefix(number, "+"):
		return nil, errors.New("no country code (write it as +<country code>…)")
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return nil, errors.New("unknown country code")
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return nil, errors.New("too short")
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return nil, errors.New("too long")
	case err != nil:
		return nil, errors.New("not a phone number")
	}
	if num.GetExtension() != "" {
		return nil, errors.New("extensions are not supported")
	}
	switch phonenumbers.IsPossibleNumberWithReason(num) {
	case phonenumbers.INVALID_COUNTRY_CODE:
		return nil, errors.New("unknown country code")
	case phonenumbers.TOO_SHORT:
		return nil, errors.New("too short")
	case phonenumbers.TOO_LONG:
		return nil, errors.New("too long")
	case phonenumbers.INVALID_LENGTH:
		return nil, errors.New("wrong length")
	}
	if !phonenumbers.IsValidNumber(num) {
		return nil, errors.New("no such number in the numbering plan")
	}
	return num, nil
}
