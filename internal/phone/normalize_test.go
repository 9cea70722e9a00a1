package phone

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeAccepts(t *testing.T) {
	tests := []struct {
		name, raw, region, want string
	}{
		{"US valid", "+14155552671", "", "+14155552671"},
		{"US valid with spaces", "+1 415 555 2671", "", "+14155552671"},
		{"US parens dashes", "+1 (415) 555-2671", "", "+14155552671"},
		{"US dots", "+1.415.555.2671", "", "+14155552671"},
		{"US national with region", "(415) 555-2671", "US", "+14155552671"},
		{"US national with trunk 1", "1-415-555-2671", "US", "+14155552671"},
		{"region is case-insensitive", "415 555 2671", "us", "+14155552671"},
		{"plus ignores region", "+14155552671", "GB", "+14155552671"},
		{"surrounding spaces", "  +14155552671 ", "", "+14155552671"},
		// Fictional NANP 555-01xx: not valid in libphonenumber, accepted as possible.
		{"US fictional 555-0100", "+1 555 555 0100", "", "+15555550100"},
		{"US fictional national", "555-555-0100", "US", "+15555550100"},
		{"US 202 555-0100", "+12025550100", "", "+12025550100"},
		// Ofcom drama range: not valid in libphonenumber, accepted as possible.
		{"UK drama mobile", "+447700900123", "", "+447700900123"},
		{"UK national drama", "07700 900123", "GB", "+447700900123"},
		{"UK (0) trunk prefix", "+44 (0) 7700 900123", "", "+447700900123"},
		{"UK London valid", "+44 20 7946 0958", "", "+442079460958"},
		{"UK international prefix 00", "00 44 20 7946 0958", "GB", "+442079460958"},
		{"DE mobile", "+49 151 23456789", "", "+4915123456789"},
		{"DE Berlin national", "030 123456", "DE", "+4930123456"},
		{"DE (0)", "+49 (0)30 123456", "", "+4930123456"},
		{"IN mobile", "+91 98765 43210", "", "+919876543210"},
		{"IN national", "98765 43210", "IN", "+919876543210"},
		{"IT keeps leading zero", "+39 06 1234 5678", "", "+390612345678"},
		{"FR mobile", "+33 6 12 34 56 78", "", "+33612345678"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.raw, tt.region)
			if err != nil {
				t.Fatalf("Normalize(%q, %q) error: %v", tt.raw, tt.region, err)
			}
			if got != tt.want {
				t.Fatalf("Normalize(%q, %q) = %q, want %q", tt.raw, tt.region, got, tt.want)
			}
			again, err := Normalize(got, "")
			if err != nil || again != got {
				t.Fatalf("Normalize(%q) again = %q, %v; want it unchanged", got, again, err)
			}
		})
	}
}

func TestNormalizeRejects(t *testing.T) {
	tests := []struct {
		name, raw, region, wantMsg string
	}{
		{"empty", "", "", "phone number is empty"},
		{"plus alone", "+", "", `phone number "+" has no digits`},
		{"separators only", "( )", "US", "has no digits"},
		{"no plus no region", "4155552671", "", `phone number "4155552671" has no country code`},
		{"unknown region", "4155552671", "XX", `default region "XX" is unknown`},
		{"non-geo region", "4155552671", "001", `default region "001" is unknown`},
		{"letters", "+1 abc", "", `phone number "+1 abc" contains letters`},
		{"vanity letters", "+1-800-FLOWERS", "", "contains letters"},
		{"extension", "+14155552671 ext 1", "", "contains letters"},
		{"tel URI", "tel:+14155552671", "", "contains letters"},
		{"hash extension", "+14155552671#1", "", `contains '#'`},
		{"tab", "+1\t4155552671", "", `contains '\t'`},
		{"fullwidth digits", "+１ ４１５ ５５５", "", "contains non-ASCII digits"},
		{"arabic-indic digits", "+١٤١٥٥٥٥٢٦٧١", "", "contains non-ASCII digits"},
		{"double plus", "++14155552671", "", `has a "+" that is not at the start`},
		{"plus in middle", "1+4155552671", "US", `has a "+" that is not at the start`},
		{"leading zero country code", "+0044 20 7946 0958", "", "is not a valid number"},
		{"plus zero", "+0", "", "is not a valid number"},
		{"unassigned country code", "+999 123456", "", "is not a valid number"},
		{"too short", "+1 415", "", "too short for country code +1"},
		{"three digits", "+123", "", "too short for country code +1"},
		{"local only", "+1 555 0100", "", "is missing an area code"},
		{"too long for US", "+1 415 555 2671 1234", "", "too long for country code +1"},
		{"over 15 digits", "+1234567890123456", "", "too long for country code +1"},
		{"US with IDD 00 is not stripped", "0015555550100", "US", "too long for country code +1"},
		{"unstable national prefix", "+8400000000000", "", "is not a valid number"},
		{"too long input", "+1 (415) 555-2671 . . . . . . . .", "", "phone number is too long: 33 bytes, at most 32"},
		{"1000 chars", strings.Repeat("1", 1000), "US", "phone number is too long: 1000 bytes, at most 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.raw, tt.region)
			if err == nil {
				t.Fatalf("Normalize(%q, %q) = %q, want error", tt.raw, tt.region, got)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
			if len(tt.raw) > maxInputLen && strings.Contains(err.Error(), tt.raw) {
				t.Errorf("error echoes an over-long input")
			}
		})
	}
}

func TestNormalizeErrorKeepsParserCause(t *testing.T) {
	_, err := Normalize("+999 123456", "")
	var ie *invalidError
	if !errors.As(err, &ie) || ie.cause == nil {
		t.Fatalf("want parser cause kept, got %#v", err)
	}
	if !errors.Is(err, ie.cause) {
		t.Errorf("errors.Is does not reach the cause")
	}
}
