package main

import (
	"flag"
	"fmt"

	"github.com/latchkey/latchkey/internal/pool"
)

// settingsFlags are the flags of a pool's basic settings, shared by
// `pools create` (over the defaults) and `pools update` (over the stored
// settings): only the flags given change anything.
type settingsFlags struct {
	values pool.Settings
}

// defineSettingsFlags defines the flags on fs, showing the defaults.
func defineSettingsFlags(fs *flag.FlagSet) *settingsFlags {
	f := &settingsFlags{values: pool.DefaultSettings()}
	v := &f.values
	fs.BoolVar(&v.AutoConfirm, "auto-confirm", v.AutoConfirm, "confirm users at sign-up (false: SignUp sends a confirmation code)")
	fs.BoolVar(&v.PreventUserExistenceErrors, "hide-user-existence", v.PreventUserExistenceErrors, "answer for unknown users as for known ones")
	fs.IntVar(&v.CodeLength, "code-length", v.CodeLength, "digits in a one-time code (6-10)")
	fs.IntVar(&v.MaxAttempts, "max-attempts", v.MaxAttempts, "answers allowed per code (1-10)")
	fs.DurationVar(&v.SessionTTL, "session-ttl", v.SessionTTL, "lifetime of a sign-in session and its code (3m-15m)")
	fs.DurationVar(&v.SignUpCodeTTL, "sign-up-code-ttl", v.SignUpCodeTTL, "lifetime of a sign-up confirmation code (up to 24h; NIST SP 800-63B asks 10m for SMS)")
	fs.StringVar(&v.DefaultPhoneRegion, "default-phone-region", "", `ISO region for phone numbers given without "+" (empty: E.164 required)`)
	return f
}

// apply copies the flags given on fs into s and describes each change.
func (f *settingsFlags) apply(fs *flag.FlagSet, s *pool.Settings) []string {
	var changes []string
	note := func(name string, from, to any) {
		if from != to {
			changes = append(changes, fmt.Sprintf("%s: %v (was %v)", name, to, from))
		}
	}
	fs.Visit(func(fl *flag.Flag) {
		v := f.values
		switch fl.Name {
		case "auto-confirm":
			note("auto-confirm", s.AutoConfirm, v.AutoConfirm)
			s.AutoConfirm = v.AutoConfirm
		case "hide-user-existence":
			note("hide-user-existence", s.PreventUserExistenceErrors, v.PreventUserExistenceErrors)
			s.PreventUserExistenceErrors = v.PreventUserExistenceErrors
		case "code-length":
			note("code-length", s.CodeLength, v.CodeLength)
			s.CodeLength = v.CodeLength
		case "max-attempts":
			note("max-attempts", s.MaxAttempts, v.MaxAttempts)
			s.MaxAttempts = v.MaxAttempts
		case "session-ttl":
			note("session-ttl", s.SessionTTL, v.SessionTTL)
			s.SessionTTL = v.SessionTTL
		case "sign-up-code-ttl":
			note("sign-up-code-ttl", s.SignUpCodeTTL, v.SignUpCodeTTL)
			s.SignUpCodeTTL = v.SignUpCodeTTL
		case "default-phone-region":
			note("default-phone-region", s.DefaultPhoneRegion, v.DefaultPhoneRegion)
			s.DefaultPhoneRegion = v.DefaultPhoneRegion
		}
	})
	return changes
}
