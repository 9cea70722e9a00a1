package email

import (
	"errors"
	"strings"
	"testing"
)

// FuzzNormalize checks that Normalize never panics, that every error wraps
// ErrInvalid, and that every accepted address is lower-case and a fixed point.
func FuzzNormalize(f *testing.F) {
	f.Add("alice@example.com")
	f.Add("Alice <alice@example.com>")
	f.Fuzz(func(t *testing.T, raw string) {
		out, err := Normalize(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Normalize(%q) error %v does not wrap ErrInvalid", raw, err)
			}
			return
		}
		if out != strings.ToLower(out) || !strings.EqualFold(out, raw) {
			t.Fatalf("Normalize(%q) = %q, want the input lower-cased", raw, out)
		}
		again, err := Normalize(out)
		if err != nil || again != out {
			t.Fatalf("Normalize(%q) = %q; again = %q, %v", raw, out, again, err)
		}
		if m := Mask(out); !strings.HasSuffix(m, "***") || strings.Count(m, "@") != 1 {
			t.Fatalf("Mask(%q) = %q", out, m)
		}
	})
}
