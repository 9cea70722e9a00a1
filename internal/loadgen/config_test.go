package loadgen

import (
	"strings"
	"testing"
	"time"
)

func TestNumber(t *testing.T) {
	tests := []struct {
		prefix string
		i      int
		want   string
	}{
		{"+15550", 0, "+15550000000"},
		{"+15550", 42, "+15550000042"},
		{"+15551", 999_999, "+15551999999"},
		{"+1555", 1234567, "+15551234567"},
		{"+155512345", 7, "+15551234507"},
	}
	for _, tt := range tests {
		if got := number(tt.prefix, tt.i); got != tt.want || len(got) != numberDigits+1 {
			t.Errorf("number(%q, %d) = %q, want %q", tt.prefix, tt.i, got, tt.want)
		}
	}
}

func TestCheckPrefix(t *testing.T) {
	tests := []struct {
		prefix  string
		users   int
		wantErr string
	}{
		{"+15550", 1_000_000, ""},
		{"+15550", 1_000_001, "too few for 1000001 users"},
		{"+1555", 10_000_000, ""},
		{"+1555000000", 10, ""},
		{"+1555000000", 11, "leaves 1 digits"},
		{"+15550000000", 1, "leaves 0 digits"},
		{"+155500000000", 1, "leaves 0 digits"},
		{"15550", 1, "want + and the first digits"},
		{"+", 1, "want + and the first digits"},
		{"+0555", 1, "want + and the first digits"},
		{"+1-555", 1, "want + and the first digits"},
	}
	for _, tt := range tests {
		err := checkPrefix(tt.prefix, tt.users)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("checkPrefix(%q, %d) = %v, want %q", tt.prefix, tt.users, err, tt.wantErr)
		}
	}
}

func TestConfigDefaultsAndValidation(t *testing.T) {
	base := Config{ClientID: "abc"}
	d := base.withDefaults()
	if d.Endpoint != DefaultEndpoint || d.Flow != FlowReturning || d.Users != DefaultUsers || d.Concurrency != DefaultConcurrency ||
		d.Duration != DefaultDuration || d.Cooldown != DefaultCooldown || d.Prefix != DefaultReturningPrefix {
		t.Errorf("defaults = %+v", d)
	}
	if p := (Config{Flow: FlowNew}).withDefaults().Prefix; p != DefaultNewPrefix {
		t.Errorf("new flow's default prefix = %q, want %q", p, DefaultNewPrefix)
	}
	tests := []struct {
		name    string
		change  func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"no client", func(c *Config) { c.ClientID = "" }, "client ID is required"},
		{"bad endpoint", func(c *Config) { c.Endpoint = "127.0.0.1:8080" }, "want an http://"},
		{"bad flow", func(c *Config) { c.Flow = "sideways" }, `flow "sideways"`},
		{"fewer users than workers", func(c *Config) { c.Users, c.Concurrency = 4, 8 }, "users of its own"},
		{"new flow may have few users", func(c *Config) { c.Flow, c.Users, c.Concurrency = FlowNew, 4, 8 }, ""},
		{"seed is for returning users", func(c *Config) { c.Flow, c.Seed = FlowNew, true }, "seeding is for the returning flow"},
		{"negative flows", func(c *Config) { c.Flows = -1 }, "not negative"},
		{"negative warm-up", func(c *Config) { c.Warmup = -time.Second }, "must not be negative"},
		{"users beyond the prefix", func(c *Config) { c.Prefix, c.Users = "+155500000", 100 }, "too few"},
		{"returning users leave a number for the probe", func(c *Config) { c.Prefix, c.Users = "+155500000", 99 }, ""},
		{"the probe's number is past the prefix", func(c *Config) { c.Prefix, c.Users = "+155500000", 100 }, "101 users"},
		{"new users may fill the prefix", func(c *Config) { c.Flow, c.Prefix, c.Users = FlowNew, "+155500000", 100 }, ""},
		{"10,000 users", func(c *Config) { c.Users = 10_000 }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.change(&c)
			err := c.withDefaults().validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("validate = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestUserSource(t *testing.T) {
	r := &runner{cfg: Config{Flow: FlowReturning, Users: 10, Concurrency: 3}}
	var got []int
	next := r.userSource(1)
	for range 8 {
		u, ok := next()
		if !ok {
			t.Fatal("returning users ran out")
		}
		got = append(got, u)
	}
	// Worker 1 of 3 owns users 1, 4 and 7, round and round.
	if want := []int{1, 4, 7, 1, 4, 7, 1, 4}; !equalInts(got, want) {
		t.Errorf("worker 1's users = %v, want %v", got, want)
	}

	r = &runner{cfg: Config{Flow: FlowNew, Users: 3, Concurrency: 2}}
	a, b := r.userSource(0), r.userSource(1)
	var seen []int
	for _, next := range []func() (int, bool){a, b, a, b} {
		if u, ok := next(); ok {
			seen = append(seen, u)
		}
	}
	if want := []int{0, 1, 2}; !equalInts(seen, want) {
		t.Errorf("new users handed out = %v, want each of %v once", seen, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
