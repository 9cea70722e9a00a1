package otp

import (
	"bytes"
	"testing"
)

// FuzzCheck feeds the answer check arbitrary answers and contexts (the
// answer comes straight from ChallengeResponses or ConfirmationCode). Check
// must never panic, must accept exactly the code that was hashed under the
// same context, and hashes must differ across (context, code) splits that
// concatenate to the same bytes. Seeds: testdata/fuzz/FuzzCheck.
func FuzzCheck(f *testing.F) {
	f.Add("session-1", "123456", "123456")
	f.Add("session-1", "123456", "123457")
	f.Add("", "", "")
	h, err := NewHasher(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, context, code, answer string) {
		want := h.Hash(context, code)
		if len(want) != 32 {
			t.Fatalf("hash is %d bytes", len(want))
		}
		if got := h.Check(context, answer, want); got != (answer == code) {
			t.Fatalf("Check(%q, %q) against the hash of %q = %v", context, answer, code, got)
		}
		if !h.Check(context, code, want) {
			t.Fatal("the right code was refused")
		}
		// Moving bytes between context and code changes the hash.
		if len(code) > 0 && h.Check(context+code[:1], code[1:], want) {
			t.Fatalf("(%q,%q) and (%q,%q) hash alike", context, code, context+code[:1], code[1:])
		}
		if h.Check(context, answer, nil) || h.Check(context, answer, want[:16]) {
			t.Fatal("a short or empty stored hash matched")
		}
	})
}
