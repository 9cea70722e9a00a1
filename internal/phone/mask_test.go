package phone

import "testing"

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+14155552671", "+*******2671"},
		{"+15555550100", "+*******0100"},
		{"+447700900123", "+********0123"},
		{"+12345", "+*2345"},
		{"+1234", "+****"},
		{"+1", "+*"},
		{"+", "+"},
		{"", ""},
		{"4155552671", "******2671"},
	}
	for _, tt := range tests {
		if got := Mask(tt.in); got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLooksLikePhone(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"+14155552671", true},
		{"+1 (415) 555-2671", true},
		{" +14155552671", true},
		{"+", true},
		{"+abc", true},
		{"(415) 555-2671", true},
		{"415.555.2671", true},
		{"1234567", true},
		{"123456", false},
		{"12-34-56", false},
		{"", false},
		{"alice", false},
		{"alice@example.com", false},
		{"+tag@example.com", false},
		{"4155552671@example.com", false},
		{"415555267x", false},
		{"١٢٣٤٥٦٧٨", false},
	}
	for _, tt := range tests {
		if got := LooksLikePhone(tt.in); got != tt.want {
			t.Errorf("LooksLikePhone(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
