package phone

import (
	"errors"
	"testing"
)

// FuzzNormalize checks that Normalize never panics, that every error wraps
// ErrInvalid, and that every accepted number is E.164 and a fixed point.
func FuzzNormalize(f *testing.F) {
	f.Add("+14155552671", "")
	f.Add("(415) 555-2671", "US")
	f.Add("07700 900123", "GB")
	f.Fuzz(func(t *testing.T, raw, region string) {
		out, err := Normalize(raw, region)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Normalize(%q, %q) error %v does not wrap ErrInvalid", raw, region, err)
			}
			return
		}
		if !isE164(out) {
			t.Fatalf("Normalize(%q, %q) = %q, not E.164", raw, region, out)
		}
		for _, r := range []string{"", region} {
			again, err := Normalize(out, r)
			if err != nil || again != out {
				t.Fatalf("Normalize(%q, %q) = %q; again with region %q = %q, %v", raw, region, out, r, again, err)
			}
		}
		if !LooksLikePhone(out) {
			t.Fatalf("LooksLikePhone(%q) = false", out)
		}
		if m := Mask(out); len(m) != len(out) {
			t.Fatalf("Mask(%q) = %q changes the length", out, m)
		}
	})
}
