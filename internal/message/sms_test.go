package message

import (
	"strings"
	"testing"
	"unicode/utf16"
)

func TestAnalyzeSMS(t *testing.T) {
	a := strings.Repeat
	tests := []struct {
		name     string
		body     string
		enc      string
		units    int
		segments int
	}{
		{"empty", "", EncodingGSM7, 0, 1},
		{"hello", "hello", EncodingGSM7, 5, 1},
		{"160 a", a("a", 160), EncodingGSM7, 160, 1},
		{"161 a", a("a", 161), EncodingGSM7, 161, 2},
		{"306 a", a("a", 306), EncodingGSM7, 306, 2},
		{"307 a", a("a", 307), EncodingGSM7, 307, 3},
		{"euro counts 2", "€", EncodingGSM7, 2, 1},
		{"every extension char counts 2", "^{}\\[~]|€\f", EncodingGSM7, 20, 1},
		{"80 euros", a("€", 80), EncodingGSM7, 160, 1},
		{"159 a and a euro", a("a", 159) + "€", EncodingGSM7, 161, 2},
		// 306 septets would be 2 parts of 153, but the escape sequence of
		// the euro sign cannot straddle parts 1 and 2.
		{"escape not split", a("a", 152) + "€" + a("a", 152), EncodingGSM7, 306, 3},
		{"basic set", "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà", EncodingGSM7, 127, 1},
		{"lower-case c cedilla is not GSM", "ç", EncodingUCS2, 1, 1},
		{"backtick is not GSM", "`", EncodingUCS2, 1, 1},
		{"one emoji", "😀", EncodingUCS2, 2, 1},
		{"text and emoji", "code 1234 😀", EncodingUCS2, 12, 1},
		{"70 UCS-2", a("ж", 70), EncodingUCS2, 70, 1},
		{"71 UCS-2", a("ж", 71), EncodingUCS2, 71, 2},
		{"134 UCS-2", a("ж", 134), EncodingUCS2, 134, 2},
		{"135 UCS-2", a("ж", 135), EncodingUCS2, 135, 3},
		{"35 emoji", a("😀", 35), EncodingUCS2, 70, 1},
		{"36 emoji", a("😀", 36), EncodingUCS2, 72, 2},
		// 134 units would be 2 parts of 67, but the surrogate pair cannot
		// straddle them.
		{"surrogate pair not split", a("ж", 66) + "😀" + a("ж", 66), EncodingUCS2, 134, 3},
		{"one non-GSM char switches all", a("a", 100) + "ó", EncodingUCS2, 101, 2},
		{"invalid UTF-8", "a\xffb", EncodingUCS2, 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AnalyzeSMS(tt.body)
			want := SMSInfo{Encoding: tt.enc, Units: tt.units, Segments: tt.segments}
			if got != want {
				t.Errorf("AnalyzeSMS = %+v, want %+v", got, want)
			}
			if (got.Warning() != "") != (tt.segments > 1) {
				t.Errorf("Warning() = %q for %d segments", got.Warning(), tt.segments)
			}
		})
	}
}

func TestSMSInfoWarning(t *testing.T) {
	if w := (SMSInfo{}).Warning(); w != "" {
		t.Errorf("zero SMSInfo warns %q", w)
	}
	w := AnalyzeSMS(strings.Repeat("ж", 71)).Warning()
	for _, s := range []string{"71", "UCS-2", "70", "2 segments"} {
		if !strings.Contains(w, s) {
			t.Errorf("Warning() = %q, want it to mention %q", w, s)
		}
	}
}

// checkSMSInfo checks AnalyzeSMS's result against a plain recount.
func checkSMSInfo(t *testing.T, s string, got SMSInfo) {
	t.Helper()
	var units int
	gsm := true
	for _, r := range s {
		switch {
		case strings.ContainsRune("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà", r):
			units++
		case strings.ContainsRune("\f^{}\\[~]|€", r):
			units += 2
		default:
			gsm = false
		}
	}
	single, multi := GSM7SingleLimit, GSM7MultiLimit
	if gsm {
		if got.Encoding != EncodingGSM7 {
			t.Fatalf("%q: Encoding %q, want GSM-7", s, got.Encoding)
		}
	} else {
		units = len(utf16.Encode([]rune(s)))
		single, multi = UCS2SingleLimit, UCS2MultiLimit
		if got.Encoding != EncodingUCS2 {
			t.Fatalf("%q: Encoding %q, want UCS-2", s, got.Encoding)
		}
	}
	if got.Units != units {
		t.Fatalf("%q: Units %d, want %d", s, got.Units, units)
	}
	if gsm != IsGSM7(s) {
		t.Fatalf("%q: IsGSM7 = %v, want %v", s, !gsm, gsm)
	}
	switch {
	case units <= single:
		if got.Segments != 1 {
			t.Fatalf("%q: %d units in %d segments, want 1", s, units, got.Segments)
		}
	default:
		// Greedy packing never splits a 2-unit character, so every part but
		// the last holds multi-1 or multi units.
		lo, hi := (units+multi-1)/multi, (units+multi-2)/(multi-1)
		if got.Segments < lo || got.Segments > hi {
			t.Fatalf("%q: %d units in %d segments, want %d..%d", s, units, got.Segments, lo, hi)
		}
	}
}

func FuzzAnalyzeSMS(f *testing.F) {
	for _, s := range []string{
		"",
		"hello",
		strings.Repeat("a", 160),
		strings.Repeat("a", 161),
		"€",
		strings.Repeat("€", 81),
		strings.Repeat("a", 152) + "€" + strings.Repeat("a", 152),
		"😀",
		strings.Repeat("ж", 70),
		strings.Repeat("ж", 66) + "😀" + strings.Repeat("ж", 66),
		"12345678 is your Acme sign-in code.\n\n@example.com #12345678",
		"AAAAのログインコード：12345678",
		"a\xffb\xc3",
		"\x00\x1b\u2028\U0010FFFF",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkSMSInfo(t, s, AnalyzeSMS(s))
	})
}
