package phone

import "strings"

// Mask hides all but the last four digits, Cognito style: "+14155552671" →
// "+*******2671". A leading "+" is kept and each hidden character becomes one
// "*". Inputs of four characters or fewer after the "+" are masked entirely,
// since showing them would show everything.
func Mask(e164 string) string {
	rest, plus := strings.CutPrefix(e164, "+")
	rs := []rune(rest)
	keep := 0
	if len(rs) > 4 {
		keep = 4
	}
	var b strings.Builder
	if plus {
		b.WriteByte('+')
	}
	b.WriteString(strings.Repeat("*", len(rs)-keep))
	b.WriteString(string(rs[len(rs)-keep:]))
	return b.String()
}

// LooksLikePhone reports whether s is meant as a phone number rather than an
// email address or username: after trimming spaces, it starts with "+" and
// has no "@" (an email local part may start with "+"), or it consists only
// of digits, spaces, dashes, dots and parentheses with at least 7 digits.
func LooksLikePhone(s string) bool {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "+") {
		return !strings.Contains(s, "@")
	}
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return false
		}
	}
	return digits >= 7
}
