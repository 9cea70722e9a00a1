package email

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeAccepts(t *testing.T) {
	long63 := strings.Repeat("a", 63)
	tests := []struct{ raw, want string }{
		{"alice@example.com", "alice@example.com"},
		{"Alice@Example.COM", "alice@example.com"},
		{"a.b+tag@mail.example.co.uk", "a.b+tag@mail.example.co.uk"},
		{"+tag@example.com", "+tag@example.com"},
		{"a!#$%&'*+/=?^_`{|}~-@example.com", "a!#$%&'*+/=?^_`{|}~-@example.com"},
		{"x@a-b.c", "x@a-b.c"},
		{"x@123.example", "x@123.example"},
		{"x@xn--bcher-kva.example", "x@xn--bcher-kva.example"},
		{strings.Repeat("a", 64) + "@example.com", strings.Repeat("a", 64) + "@example.com"},
		{"x@" + long63 + ".com", "x@" + long63 + ".com"},
		// 64 + 1 + 189 = 254 bytes exactly.
		{strings.Repeat("a", 64) + "@" + long63 + "." + long63 + "." + strings.Repeat("b", 61), strings.Repeat("a", 64) + "@" + long63 + "." + long63 + "." + strings.Repeat("b", 61)},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.raw)
		if err != nil {
			t.Errorf("Normalize(%q) error: %v", tt.raw, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func TestNormalizeRejects(t *testing.T) {
	tests := []struct{ name, raw, wantMsg string }{
		{"empty", "", "email address is empty"},
		{"too long", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com", "email address is too long: 255 bytes, at most 254"},
		{"1000 chars", strings.Repeat("a", 1000), "too long: 1000 bytes"},
		{"leading space", " alice@example.com", "leading or trailing spaces"},
		{"trailing newline", "alice@example.com\n", "leading or trailing spaces"},
		{"display name", "Alice <alice@example.com>", "without a display name or angle brackets"},
		{"angle brackets", "<alice@example.com>", "without a display name or angle brackets"},
		{"non-ASCII local", "ålice@example.com", "contains non-ASCII characters"},
		{"non-ASCII domain", "alice@exämple.com", "contains non-ASCII characters"},
		{"no at", "alice.example.com", "has no @"},
		{"two ats", "a@b@example.com", "more than one @"},
		{"double at", "a@@example.com", "more than one @"},
		{"empty local", "@example.com", "nothing before the @"},
		{"local too long", strings.Repeat("a", 65) + "@example.com", "local part longer than 64 bytes"},
		{"empty domain", "alice@", "nothing after the @"},
		{"domain over 253", "a@" + strings.Repeat("b", 250) + ".com", "too long: 256 bytes"},
		{"no dot", "a@b", `email address "a@b" has no dot in its domain`},
		{"trailing dot", "a@example.com.", "empty label"},
		{"leading dot", "a@.example.com", "empty label"},
		{"double dot domain", "a@example..com", "empty label"},
		{"label too long", "a@" + strings.Repeat("b", 64) + ".com", "label longer than 63 bytes"},
		{"leading hyphen", "a@-example.com", "starts or ends with a hyphen"},
		{"trailing hyphen", "a@example-.com", "starts or ends with a hyphen"},
		{"underscore", "a@ex_ample.com", `has '_' in its domain`},
		{"domain literal", "a@[127.0.0.1]", `has '[' in its domain`},
		{"ip address", "a@127.0.0.1", "all-numeric top-level domain"},
		{"space in domain", "a@ example.com", `has ' ' in its domain`},
		{"comment after", "a@example.com (Alice)", `has ' ' in its domain`},
		{"comment before", "(c)a@example.com", "is not a valid address"},
		{"space in local", "a b@example.com", "is not a valid address"},
		{"quoted local", `"a b"@example.com`, "is not a valid address"},
		{"quoted simple local", `"a"@example.com`, "is not a valid address"},
		{"double dot local", "a..b@example.com", "is not a valid address"},
		{"leading dot local", ".a@example.com", "is not a valid address"},
		{"trailing dot local", "a.@example.com", "is not a valid address"},
		{"comma list", "a@example.com,b", `has ',' in its domain`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.raw)
			if err == nil {
				t.Fatalf("Normalize(%q) = %q, want error", tt.raw, got)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
			if len(tt.raw) > maxLen && strings.Contains(err.Error(), tt.raw) {
				t.Errorf("error echoes an over-long input")
			}
		})
	}
}

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice@example.com", "a***@e***"},
		{"b@x.io", "b***@x***"},
		{"élodie@ëxample.com", "é***@ë***"},
		{"alice", "a***"},
		{"@example.com", "***@e***"},
		{"alice@", "a***@***"},
		{"", "***"},
	}
	for _, tt := range tests {
		if got := Mask(tt.in); got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
