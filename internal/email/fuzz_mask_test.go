package email

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzMask feeds Mask arbitrary strings (it masks stored addresses, and a
// decoy path may hand it anything). It must never panic and must show at
// most the first character of the local part and of the domain, around
// "***@" and "***". Seeds: testdata/fuzz/FuzzMask.
func FuzzMask(f *testing.F) {
	f.Add("alice@example.com")
	f.Add("@")
	f.Add("")
	f.Fuzz(func(t *testing.T, addr string) {
		m := Mask(addr)
		i := strings.LastIndex(addr, "@")
		var want string
		if i < 0 {
			want = first(addr) + "***"
		} else {
			want = first(addr[:i]) + "***@" + first(addr[i+1:]) + "***"
		}
		if m != want {
			t.Fatalf("Mask(%q) = %q, want %q", addr, m, want)
		}
		// At most one character of each part survives, whatever the input.
		if len(m) > 2*utf8.UTFMax+len("***@***") {
			t.Fatalf("Mask(%q) = %q is too long", addr, m)
		}
	})
}
