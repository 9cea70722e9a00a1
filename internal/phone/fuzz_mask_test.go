package phone

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzMask feeds Mask and LooksLikePhone arbitrary strings: they see raw
// usernames and stored values before any check. Mask must never panic,
// must keep the length in characters, keep a leading "+", hide everything
// but at most the last four characters, and show those four only when more
// than four follow the "+". Seeds: testdata/fuzz/FuzzMask.
func FuzzMask(f *testing.F) {
	f.Add("+14155552671")
	f.Add("+1234")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		_ = LooksLikePhone(s)
		m := Mask(s)
		rest, plus := strings.CutPrefix(s, "+")
		mrest, mplus := strings.CutPrefix(m, "+")
		if plus != mplus {
			t.Fatalf("Mask(%q) = %q: leading + not kept", s, m)
		}
		n := utf8.RuneCountInString(rest)
		if utf8.RuneCountInString(mrest) != n {
			t.Fatalf("Mask(%q) = %q changes the length", s, m)
		}
		shown := 0
		if n > 4 {
			shown = 4
		}
		rs, ms := []rune(rest), []rune(mrest)
		for i := 0; i < n-shown; i++ {
			if ms[i] != '*' {
				t.Fatalf("Mask(%q) = %q shows character %d", s, m, i)
			}
		}
		if string(ms[n-shown:]) != string(rs[n-shown:]) {
			t.Fatalf("Mask(%q) = %q does not end with the last %d characters", s, m, shown)
		}
	})
}
