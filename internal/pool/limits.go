package pool

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rate is "Count per Per": a token bucket that holds Count tokens and gains
// one every Per/Count. Over any span d it allows at most Count + d·Count/Per
// events, which is the figure the documented bounds use. Its text form is
// "COUNT/DURATION", e.g. "5/1h" or "10/24h".
type Rate struct {
	Count int           `json:"count"`
	Per   time.Duration `json:"per"`
}

// Every is the time it takes the bucket to gain one token; 0 when off.
func (r Rate) Every() time.Duration {
	if r.Count <= 0 {
		return 0
	}
	return r.Per / time.Duration(r.Count)
}

// Max returns the most events the rate allows in any span of length d
// (-1 when the rate is off: no limit).
func (r Rate) Max(d time.Duration) int {
	if r.IsZero() {
		return -1
	}
	return r.Count + int(d/r.Every())
}

// IsZero reports whether the rate is unset (off).
func (r Rate) IsZero() bool { return r.Count == 0 && r.Per == 0 }

func (r Rate) String() string {
	if r.IsZero() {
		return "off"
	}
	return fmt.Sprintf("%d/%s", r.Count, shortDuration(r.Per))
}

// shortDuration writes 1h rather than 1h0m0s, as ParseDuration reads it.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ParseRate reads "COUNT/DURATION" ("off" or "" for no limit).
func ParseRate(s string) (Rate, error) {
	if s == "" || s == "off" {
		return Rate{}, nil
	}
	count, per, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, fmt.Errorf("rate %q: want COUNT/DURATION, e.g. 5/1h", s)
	}
	n, err := strconv.Atoi(count)
	if err != nil {
		return Rate{}, fmt.Errorf("rate %q: count: %w", s, err)
	}
	d, err := time.ParseDuration(per)
	if err != nil {
		return Rate{}, fmt.Errorf("rate %q: duration: %w", s, err)
	}
	r := Rate{Count: n, Per: d}
	return r, r.Validate()
}

// Validate checks that the rate is off or usable.
func (r Rate) Validate() error {
	if r.IsZero() {
		return nil
	}
	if r.Count < 1 || r.Per < time.Millisecond || r.Per/time.Duration(r.Count) < time.Millisecond {
		return fmt.Errorf("rate %d/%s: count must be at least 1 and the period at least 1ms per event", r.Count, r.Per)
	}
	if r.Per > 10*365*24*time.Hour {
		return fmt.Errorf("rate %d/%s: period must be at most 10 years", r.Count, r.Per)
	}
	return nil
}

// Limits is a pool's abuse-resistance policy: how many wrong codes an
// account may submit, and how many messages may be sent where. A zero Rate
// turns that limit off. Pools stored before a field existed get its default
// (see Settings.Normalize).
type Limits struct {
	// Guesses bounds the wrong answers an account may make across all its
	// sessions, codes, clients and addresses: the guessing budget. Wrong
	// answers later followed by a right one from the same session or the
	// same address are given back, so a user who mistypes is not charged.
	Guesses Rate `json:"guesses"`
	// ForgiveWindow is how far back a right answer gives back the wrong
	// answers made from the same address.
	ForgiveWindow time.Duration `json:"forgive_window"`
	// TrustedSourceWindow: an address the account signed in from within
	// this window answers from a budget of its own (the same Guesses rate),
	// so an attacker who spends the account's budget from elsewhere does
	// not lock the user out at home (NIST SP 800-63B §3.2.2 suggests
	// accepting addresses that succeeded before). 0 turns it off.
	TrustedSourceWindow time.Duration `json:"trusted_source_window"`
	// MaxConsecutiveFailures locks the account after that many wrong
	// answers without a right one in between (NIST SP 800-63B §3.2.2 sets
	// 100 as the ceiling); only an administrator unlocks it. 0 is off.
	MaxConsecutiveFailures int `json:"max_consecutive_failures"`

	// Per destination (phone number or email address).
	DestinationCooldown Rate `json:"destination_cooldown"`
	DestinationHourly   Rate `json:"destination_hourly"`
	DestinationDaily    Rate `json:"destination_daily"`
	// Per client IP address, and per app client.
	IPHourly     Rate `json:"ip_hourly"`
	IPDaily      Rate `json:"ip_daily"`
	ClientHourly Rate `json:"client_hourly"`
	// Per block of 10,000 phone numbers (the number without its last four
	// digits): SMS pumping walks through number ranges.
	PrefixHourly Rate `json:"prefix_hourly"`
	PrefixDaily  Rate `json:"prefix_daily"`
	// The whole pool's SMS budget: messages actually sent, a hard cap on
	// spending.
	SMSHourly Rate `json:"sms_hourly"`
	SMSDaily  Rate `json:"sms_daily"`
	// The part of the SMS budget for numbers not yet verified: new
	// sign-ups, changed numbers. SMS pumping sends to fresh numbers, so
	// an attack spends this budget and leaves returning users, whose
	// numbers are verified, served.
	NewSMSHourly Rate `json:"new_sms_hourly"`
	NewSMSDaily  Rate `json:"new_sms_daily"`
	// SMSCountries lists where SMS may be sent: ISO 3166 region codes
	// ("US") or calling codes ("+44"). Empty means the pool's default
	// phone region, or "US" when it has none — never the whole world.
	SMSCountries []string `json:"sms_countries,omitempty"`
	// ExistsIPHourly, ExistsIPDaily and ExistsClientHourly limit the
	// answers Cognito's API forces to tell that an account exists (SignUp
	// of a taken username, ConfirmSignUp of a confirmed user), per client
	// address and per app client, so nobody can enumerate a pool through
	// them. A person meets such an answer a few times at most.
	ExistsIPHourly     Rate `json:"exists_ip_hourly"`
	ExistsIPDaily      Rate `json:"exists_ip_daily"`
	ExistsClientHourly Rate `json:"exists_client_hourly"`
	// AuditRetention is how long audit events are kept.
	AuditRetention time.Duration `json:"audit_retention"`
}

// DefaultLimits is the policy a new pool starts with; docs/security.md
// derives its guarantees.
func DefaultLimits() Limits {
	return Limits{
		// 10 at once, then one every 24 hours: at most 10 + 365 = 375
		// evaluated wrong answers in any year, a 3.8 in 10,000 chance
		// against a 6-digit code.
		Guesses:                Rate{Count: 10, Per: 10 * 24 * time.Hour},
		ForgiveWindow:          24 * time.Hour,
		TrustedSourceWindow:    30 * 24 * time.Hour,
		MaxConsecutiveFailures: 100,
		DestinationCooldown:    Rate{Count: 1, Per: 30 * time.Second},
		DestinationHourly:      Rate{Count: 5, Per: time.Hour},
		DestinationDaily:       Rate{Count: 10, Per: 24 * time.Hour},
		// Generous: carriers put many phones behind one address (CGNAT).
		IPHourly:           Rate{Count: 100, Per: time.Hour},
		IPDaily:            Rate{Count: 1000, Per: 24 * time.Hour},
		ClientHourly:       Rate{Count: 3600, Per: time.Hour},
		PrefixHourly:       Rate{Count: 20, Per: time.Hour},
		PrefixDaily:        Rate{Count: 60, Per: 24 * time.Hour},
		SMSHourly:          Rate{Count: 1000, Per: time.Hour},
		SMSDaily:           Rate{Count: 10000, Per: 24 * time.Hour},
		NewSMSHourly:       Rate{Count: 100, Per: time.Hour},
		NewSMSDaily:        Rate{Count: 500, Per: 24 * time.Hour},
		ExistsIPHourly:     Rate{Count: 20, Per: time.Hour},
		ExistsIPDaily:      Rate{Count: 100, Per: 24 * time.Hour},
		ExistsClientHourly: Rate{Count: 1000, Per: time.Hour},
		AuditRetention:     400 * 24 * time.Hour,
	}
}

// StrictLimits is a preset for pools that prefer a tighter guessing bound
// to convenience: 6 at once (five mistakes and the right code), then one a
// day: at most 371 a year.
func StrictLimits() Limits {
	l := DefaultLimits()
	l.Guesses = Rate{Count: 6, Per: 6 * 24 * time.Hour}
	l.MaxConsecutiveFailures = 50
	l.DestinationHourly = Rate{Count: 3, Per: time.Hour}
	l.DestinationDaily = Rate{Count: 6, Per: 24 * time.Hour}
	return l
}

// Validate checks every rate.
func (l Limits) Validate() error {
	for name, r := range map[string]Rate{
		"guesses": l.Guesses, "destination_cooldown": l.DestinationCooldown,
		"destination_hourly": l.DestinationHourly, "destination_daily": l.DestinationDaily,
		"ip_hourly": l.IPHourly, "ip_daily": l.IPDaily, "client_hourly": l.ClientHourly,
		"prefix_hourly": l.PrefixHourly, "prefix_daily": l.PrefixDaily,
		"sms_hourly": l.SMSHourly, "sms_daily": l.SMSDaily,
		"new_sms_hourly": l.NewSMSHourly, "new_sms_daily": l.NewSMSDaily,
		"exists_ip_hourly": l.ExistsIPHourly, "exists_ip_daily": l.ExistsIPDaily,
		"exists_client_hourly": l.ExistsClientHourly,
	} {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("limit %s: %w", name, err)
		}
	}
	if l.ForgiveWindow < 0 || l.TrustedSourceWindow < 0 || l.MaxConsecutiveFailures < 0 || l.AuditRetention < 0 {
		return fmt.Errorf("limits: windows, max consecutive failures and audit retention must not be negative")
	}
	for _, c := range l.SMSCountries {
		if !validCountry(c) {
			return fmt.Errorf("limits: sms country %q: want an ISO 3166 region like US or a calling code like +44", c)
		}
	}
	return nil
}

func validCountry(c string) bool {
	if strings.HasPrefix(c, "+") {
		n, err := strconv.Atoi(c[1:])
		return err == nil && n > 0 && n < 1000 && len(c) <= 4
	}
	if len(c) != 2 {
		return false
	}
	return c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z'
}
