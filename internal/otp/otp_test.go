package otp

import (
	"bytes"
	"crypto/rand"
	"math"
	"strings"
	"testing"
)

func TestGenerateLengthAndDigits(t *testing.T) {
	for _, digits := range []int{6, 8, 10} {
		for i := 0; i < 200; i++ {
			code, err := Generate(rand.Reader, digits)
			if err != nil {
				t.Fatal(err)
			}
			if len(code) != digits || strings.Trim(code, "0123456789") != "" {
				t.Fatalf("Generate(%d) = %q", digits, code)
			}
		}
	}
}

func TestGenerateRejectsBadLength(t *testing.T) {
	for _, digits := range []int{-1, 0, 5, 11} {
		if _, err := Generate(rand.Reader, digits); err == nil {
			t.Errorf("Generate(%d) succeeded", digits)
		}
	}
}

func TestGenerateFailsWhenRandomnessFails(t *testing.T) {
	if _, err := Generate(bytes.NewReader(nil), 6); err == nil {
		t.Fatal("Generate with an empty reader succeeded")
	}
}

// TestGenerateUniform runs a chi-squared test on every digit position: a
// biased generator (modulo bias, a weak source) fails it.
func TestGenerateUniform(t *testing.T) {
	const n = 60000
	var counts [6][10]int
	for i := 0; i < n; i++ {
		code, err := Generate(rand.Reader, 6)
		if err != nil {
			t.Fatal(err)
		}
		for pos, c := range code {
			counts[pos][c-'0']++
		}
	}
	// 9 degrees of freedom: P(chi2 > 33.7) ≈ 1e-4.
	const critical = 33.7
	expected := float64(n) / 10
	for pos := range counts {
		var chi2 float64
		for _, c := range counts[pos] {
			d := float64(c) - expected
			chi2 += d * d / expected
		}
		if chi2 > critical || math.IsNaN(chi2) {
			t.Errorf("position %d: chi2 = %.1f > %.1f, counts %v", pos, chi2, critical, counts[pos])
		}
	}
}

func TestHasher(t *testing.T) {
	if _, err := NewHasher(make([]byte, 31)); err == nil {
		t.Fatal("NewHasher accepted a 31-byte key")
	}
	h, err := NewHasher(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	want := h.Hash("session-1", "123456")
	tests := []struct {
		name, context, answer string
		ok                    bool
	}{
		{"right code", "session-1", "123456", true},
		{"wrong code", "session-1", "123457", false},
		{"other session", "session-2", "123456", false},
		{"context shifted into code", "session-", "1123456", false},
		{"empty answer", "session-1", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.Check(tt.context, tt.answer, want); got != tt.ok {
				t.Errorf("Check(%q, %q) = %v, want %v", tt.context, tt.answer, got, tt.ok)
			}
		})
	}
	other, _ := NewHasher(bytes.Repeat([]byte{8}, 32))
	if other.Check("session-1", "123456", want) {
		t.Error("a different key accepted the code")
	}
}
