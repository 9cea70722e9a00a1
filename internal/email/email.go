// Package email checks, normalises and masks email addresses used as
// usernames and code destinations.
//
// Only plain ASCII addresses are accepted: internationalised local parts and
// domains (other than in xn-- punycode) are rejected, because Unicode case
// folding is not a stable identity and look-alike characters make
// confusable usernames. Quoted local parts and domain literals are rejected
// too; real users do not have them.
package email

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
)

// ErrInvalid is wrapped by every Normalize error.
var ErrInvalid = errors.New("invalid email address")

// Limits from RFC 5321 (with the 254-byte path limit of RFC 3696 errata).
const (
	maxLen      = 254
	maxLocalLen = 64
	maxLabel    = 63
	// The domain limit of 253 bytes needs no check of its own: with a
	// non-empty local part and the "@", maxLen leaves at most 252.
)

const example = "use a plain address like alice@example.com"

// invalidError carries a client-safe message and wraps ErrInvalid.
type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }
func (e *invalidError) Unwrap() error { return ErrInvalid }

func invalid(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// Normalize checks an email address and returns it lower-cased. It requires
// a bare address (no display name, angle brackets, comments or surrounding
// spaces), exactly one "@", a non-empty local part of at most 64 bytes that
// net/mail accepts as a dot-atom, and a domain (at most 253 bytes) with at
// least one dot, made of labels of ASCII letters, digits and hyphens (1–63
// bytes, no leading or trailing hyphen) and a top-level label that is not
// all digits. The whole address is at most 254 bytes.
func Normalize(raw string) (string, error) {
	if raw == "" {
		return "", invalid("email address is empty: %s", example)
	}
	if len(raw) > maxLen {
		// The input is not echoed: it may be arbitrarily long.
		return "", invalid("email address is too long: %d bytes, at most %d", len(raw), maxLen)
	}
	if strings.TrimSpace(raw) != raw {
		return "", invalid("email address %q has leading or trailing spaces", raw)
	}
	if strings.ContainsAny(raw, "<>") {
		return "", invalid("email address %q must be a bare address without a display name or angle brackets: %s", raw, example)
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] >= 0x80 {
			return "", invalid("email address %q contains non-ASCII characters: %s", raw, example)
		}
	}
	local, domain, ok := strings.Cut(raw, "@")
	if !ok {
		return "", invalid("email address %q has no @: %s", raw, example)
	}
	if strings.Contains(domain, "@") {
		return "", invalid("email address %q has more than one @: %s", raw, example)
	}
	if local == "" {
		return "", invalid("email address %q has nothing before the @", raw)
	}
	if len(local) > maxLocalLen {
		return "", invalid("email address %q has a local part longer than %d bytes", raw, maxLocalLen)
	}
	if err := checkDomain(raw, domain); err != nil {
		return "", err
	}
	// net/mail validates the local part's dot-atom syntax; any difference
	// between what it parsed and the input means the input was not bare
	// (quoted local part, comment, display name, folding whitespace).
	addr, err := mail.ParseAddress(raw)
	if err != nil || addr.Name != "" || addr.Address != raw {
		return "", invalid("email address %q is not a valid address: %s", raw, example)
	}
	return lowerASCII(raw), nil
}

func checkDomain(raw, domain string) error {
	if domain == "" {
		return invalid("email address %q has nothing after the @", raw)
	}
	if !strings.Contains(domain, ".") {
		return invalid("email address %q has no dot in its domain", raw)
	}
	labels := strings.Split(domain, ".")
	for _, l := range labels {
		if l == "" {
			return invalid("email address %q has an empty label in its domain", raw)
		}
		if len(l) > maxLabel {
			return invalid("email address %q has a domain label longer than %d bytes", raw, maxLabel)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return invalid("email address %q has a domain label that starts or ends with a hyphen", raw)
		}
		for i := 0; i < len(l); i++ {
			if !isLDH(l[i]) {
				return invalid("email address %q has %q in its domain; only letters, digits, hyphens and dots are allowed", raw, l[i])
			}
		}
	}
	if allDigits(labels[len(labels)-1]) {
		return invalid("email address %q has an all-numeric top-level domain", raw)
	}
	return nil
}

func isLDH(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// lowerASCII lower-cases ASCII letters only, so the result has the same
// length and normalising it again changes nothing.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
