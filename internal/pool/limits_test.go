package pool

import (
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in      string
		want    Rate
		text    string
		wantErr bool
	}{
		{"5/1h", Rate{5, time.Hour}, "5/1h", false},
		{"10/24h", Rate{10, 24 * time.Hour}, "10/24h", false},
		{"1/30s", Rate{1, 30 * time.Second}, "1/30s", false},
		{"3/90m", Rate{3, 90 * time.Minute}, "3/1h30m", false},
		{"off", Rate{}, "off", false},
		{"", Rate{}, "off", false},
		{"0/1h", Rate{}, "", true},
		{"5", Rate{}, "", true},
		{"x/1h", Rate{}, "", true},
		{"5/soon", Rate{}, "", true},
		{"5/-1h", Rate{}, "", true},
		{"1000/1ms", Rate{}, "", true},
		{"1/87600h1s", Rate{}, "", true},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseRate(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if got != tt.want || got.String() != tt.text {
			t.Errorf("ParseRate(%q) = %v (%q), want %v (%q)", tt.in, got, got.String(), tt.want, tt.text)
		}
	}
}

func TestRateMax(t *testing.T) {
	year := 365 * 24 * time.Hour
	if got := DefaultLimits().Guesses.Max(year); got != 375 {
		t.Errorf("default guesses per year = %d, want 375", got)
	}
	if got := StrictLimits().Guesses.Max(year); got != 371 {
		t.Errorf("strict guesses per year = %d, want 371", got)
	}
	if got := (Rate{}).Max(year); got != -1 {
		t.Errorf("off rate Max = %d, want -1", got)
	}
}

func TestLimitsValidate(t *testing.T) {
	if err := DefaultLimits().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if err := StrictLimits().Validate(); err != nil {
		t.Fatalf("strict invalid: %v", err)
	}
	for _, c := range [][]string{{"us"}, {"USA"}, {"+"}, {"+1234"}, {"+x"}} {
		l := DefaultLimits()
		l.SMSCountries = c
		if err := l.Validate(); err == nil {
			t.Errorf("countries %v accepted", c)
		}
	}
	l := DefaultLimits()
	l.SMSCountries = []string{"US", "+44", "+1"}
	if err := l.Validate(); err != nil {
		t.Errorf("valid countries refused: %v", err)
	}
}
