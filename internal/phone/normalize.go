package phone

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// ErrInvalid is wrapped by every Normalize error.
var ErrInvalid = errors.New("invalid phone number")

// maxInputLen bounds the raw input so parsing cost stays trivial; no sane
// spelling of a 15-digit number with separators needs more.
const maxInputLen = 32

// example ends error messages so users see the form we expect.
const example = "use E.164 form like +14155552671"

// invalidError carries a client-safe message; the parser's error, if any, is
// kept as a cause for logs and errors.Is.
type invalidError struct {
	msg   string
	cause error
}

func (e *invalidError) Error() string { return e.msg }

func (e *invalidError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrInvalid}
	}
	return []error{ErrInvalid, e.cause}
}

func invalid(cause error, format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...), cause: cause}
}

// Normalize parses a phone number and returns it in E.164 ("+15555550100").
// defaultRegion is an ISO 3166-1 alpha-2 code (case-insensitive) used only
// when raw has no leading "+"; "" means a leading "+" is required. Digits may
// be separated by spaces, dashes, dots and parentheses; letters (vanity
// numbers, extensions, "tel:") and non-ASCII digits are rejected. See the
// package doc for which numbers count as real.
func Normalize(raw, defaultRegion string) (string, error) {
	if raw == "" {
		return "", invalid(nil, "phone number is empty: %s", example)
	}
	if len(raw) > maxInputLen {
		// The input is not echoed: it may be arbitrarily long.
		return "", invalid(nil, "phone number is too long: %d bytes, at most %d", len(raw), maxInputLen)
	}
	hasPlus, err := checkChars(raw)
	if err != nil {
		return "", err
	}
	region := ""
	if !hasPlus {
		if defaultRegion == "" {
			return "", invalid(nil, "phone number %q has no country code: start it with +, %s", raw, example)
		}
		region = strings.ToUpper(defaultRegion)
		if len(region) != 2 || phonenumbers.GetCountryCodeForRegion(region) == 0 {
			return "", invalid(nil, "phone number %q has no country code and the default region %q is unknown: %s", raw, defaultRegion, example)
		}
	}
	n, err := phonenumbers.Parse(raw, region)
	if err != nil {
		return "", invalid(err, "phone number %q is not a valid number: %s", raw, example)
	}
	if n.GetExtension() != "" {
		return "", invalid(nil, "phone number %q has an extension, which cannot receive SMS: %s", raw, example)
	}
	if !phonenumbers.IsValidNumber(n) {
		if err := checkPossible(raw, n); err != nil {
			return "", err
		}
	}
	out := phonenumbers.Format(n, phonenumbers.E164)
	if !isE164(out) || !stable(out) {
		return "", invalid(nil, "phone number %q is not a valid number: %s", raw, example)
	}
	return out, nil
}

// stable reports whether out parses back to itself. The parser strips what
// looks like a national prefix even after a country code ("+44 (0) 20…"),
// so some odd inputs, e.g. "+84 00000 00000 0", format to a string that
// parses to a different number; storing one would make the identity shift
// on the next sign-in.
func stable(out string) bool {
	n, err := phonenumbers.Parse(out, "")
	return err == nil && phonenumbers.Format(n, phonenumbers.E164) == out
}

// checkChars rejects anything but ASCII digits, separators and one leading
// "+", and reports whether the "+" is there.
func checkChars(raw string) (hasPlus bool, err error) {
	digits := 0
	for i, r := range raw {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		case r == '+':
			if hasPlus || strings.TrimLeft(raw[:i], " ") != "" {
				return false, invalid(nil, "phone number %q has a \"+\" that is not at the start: %s", raw, example)
			}
			hasPlus = true
		case unicode.IsLetter(r):
			return false, invalid(nil, "phone number %q contains letters: %s", raw, example)
		case unicode.IsDigit(r):
			return false, invalid(nil, "phone number %q contains non-ASCII digits: %s", raw, example)
		default:
			return false, invalid(nil, "phone number %q contains %q, which is not allowed: %s", raw, r, example)
		}
	}
	if digits == 0 {
		return false, invalid(nil, "phone number %q has no digits: %s", raw, example)
	}
	return hasPlus, nil
}

// checkPossible accepts a number libphonenumber cannot validate if it has a
// full-length national number for a known country code.
func checkPossible(raw string, n *phonenumbers.PhoneNumber) error {
	cc := n.GetCountryCode()
	switch phonenumbers.IsPossibleNumberWithReason(n) {
	case phonenumbers.IS_POSSIBLE:
		return nil
	case phonenumbers.INVALID_COUNTRY_CODE:
		return invalid(nil, "phone number %q has an unknown country code +%d: %s", raw, cc, example)
	case phonenumbers.TOO_SHORT:
		return invalid(nil, "phone number %q is too short for country code +%d: %s", raw, cc, example)
	case phonenumbers.TOO_LONG:
		return invalid(nil, "phone number %q is too long for country code +%d: %s", raw, cc, example)
	case phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return invalid(nil, "phone number %q is missing an area code: %s", raw, example)
	default:
		return invalid(nil, "phone number %q has the wrong number of digits for country code +%d: %s", raw, cc, example)
	}
}

// isE164 reports whether s is "+" followed by 2 to 15 digits, the first not 0.
func isE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
