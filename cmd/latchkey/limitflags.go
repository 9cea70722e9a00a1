package main

import (
	"flag"
	"fmt"
	"sort"
	"strings"

	"github.com/latchkey/latchkey/internal/pool"
)

// limitFlags are the flags that set a pool's abuse limits, shared by pools
// create and pools update. Only flags given on the command line change
// anything.
type limitFlags struct {
	preset      string
	rates       map[string]string
	countries   string
	consecutive int
	set         map[string]bool
}

// rateFields names each pool.Limits rate as --limit accepts it.
func rateFields(l *pool.Limits) map[string]*pool.Rate {
	return map[string]*pool.Rate{
		"guesses":              &l.Guesses,
		"destination_cooldown": &l.DestinationCooldown,
		"destination_hourly":   &l.DestinationHourly,
		"destination_daily":    &l.DestinationDaily,
		"ip_hourly":            &l.IPHourly,
		"ip_daily":             &l.IPDaily,
		"client_hourly":        &l.ClientHourly,
		"exists_ip_hourly":     &l.ExistsIPHourly,
		"exists_ip_daily":      &l.ExistsIPDaily,
		"exists_client_hourly": &l.ExistsClientHourly,
		"prefix_hourly":        &l.PrefixHourly,
		"prefix_daily":         &l.PrefixDaily,
		"sms_hourly":           &l.SMSHourly,
		"sms_daily":            &l.SMSDaily,
		"new_sms_hourly":       &l.NewSMSHourly,
		"new_sms_daily":        &l.NewSMSDaily,
	}
}

func rateNames() string {
	var names []string
	for n := range rateFields(&pool.Limits{}) {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func defineLimitFlags(fs *flag.FlagSet) *limitFlags {
	lf := &limitFlags{rates: map[string]string{}}
	fs.StringVar(&lf.preset, "limits", "", "start from a preset of abuse limits: default or strict")
	fs.Func("limit", "set one limit, NAME=COUNT/DURATION or NAME=off (repeatable); NAME is one of "+rateNames(), func(v string) error {
		name, rate, ok := strings.Cut(v, "=")
		if !ok {
			return fmt.Errorf("want NAME=COUNT/DURATION, got %q", v)
		}
		if _, known := rateFields(&pool.Limits{})[name]; !known {
			return fmt.Errorf("unknown limit %q; known: %s", name, rateNames())
		}
		if _, err := pool.ParseRate(rate); err != nil {
			return err
		}
		lf.rates[name] = rate
		return nil
	})
	fs.StringVar(&lf.countries, "sms-countries", "", `comma-separated regions (US) or calling codes (+44) SMS may go to (default: the default phone region, else US)`)
	fs.IntVar(&lf.consecutive, "max-consecutive-failures", 0, "lock an account after this many wrong codes in a row, until an administrator unlocks it (0: keep)")
	return lf
}

// apply changes s by the flags that were given (names from fs.Visit).
func (lf *limitFlags) apply(fs *flag.FlagSet, s *pool.Settings) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	l := s.EffectiveLimits()
	if given["limits"] {
		switch lf.preset {
		case "default":
			l = pool.DefaultLimits()
		case "strict":
			l = pool.StrictLimits()
		default:
			return fmt.Errorf("--limits %q: want default or strict", lf.preset)
		}
		l.SMSCountries = s.EffectiveLimits().SMSCountries
	}
	fields := rateFields(&l)
	for name, text := range lf.rates {
		r, err := pool.ParseRate(text)
		if err != nil {
			return err
		}
		*fields[name] = r
	}
	if given["sms-countries"] {
		l.SMSCountries = nil
		for _, c := range strings.Split(lf.countries, ",") {
			if c = strings.ToUpper(strings.TrimSpace(c)); c != "" {
				l.SMSCountries = append(l.SMSCountries, c)
			}
		}
	}
	if given["max-consecutive-failures"] {
		l.MaxConsecutiveFailures = lf.consecutive
	}
	if err := l.Validate(); err != nil {
		return err
	}
	s.Limits = &l
	return nil
}
