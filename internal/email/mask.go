package email

import (
	"strings"
	"unicode/utf8"
)

// Mask hides an address as Cognito does: the first character of the local
// part, "***@", the first character of the domain, "***":
// "alice@example.com" → "a***@e***". An input without "@" is treated as a
// local part alone ("alice" → "a***"); empty parts contribute no character.
func Mask(addr string) string {
	i := strings.LastIndex(addr, "@")
	if i < 0 {
		return first(addr) + "***"
	}
	return first(addr[:i]) + "***@" + first(addr[i+1:]) + "***"
}

func first(s string) string {
	if s == "" {
		return ""
	}
	_, n := utf8.DecodeRuneInString(s)
	return s[:n]
}
