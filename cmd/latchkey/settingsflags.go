package main

import (
	"flag"
	"fmt"

	"github.com/latchkey/latchkey/internal/auth"
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
	fs.Var(algFlag{&v.SigningAlgorithm}, "signing-alg", fmt.Sprintf("`algorithm` of the pool's JWTs: RS256 (Cognito's), ES256 or EdDSA; on update, a key of the new\n"+
		"algorithm is published at once and signs %s later, and the old keys keep verifying", auth.KeyActivationDelay))
	return f
}

// algFlag is --signing-alg, read in any case ("es256" is ES256) and
// refused at parse time when it is none of pool.SigningAlgorithms.
type algFlag struct{ v *string }

func (f algFlag) String() string {
	if f.v == nil {
		return ""
	}
	return *f.v
}

func (f algFlag) Set(s string) error {
	alg, err := pool.ParseSigningAlgorithm(s)
	if err != nil {
		return err
	}
	*f.v = alg
	return nil
}

// apply copies the flags given on fs into s and describes each change.
func (f *settingsFlags) apply(fs *flag.FlagSet, s *pool.Settings) []string {
	var changes []string
	v := f.values
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "auto-confirm":
			setting(&changes, fl.Name, &s.AutoConfirm, v.AutoConfirm)
		case "hide-user-existence":
			setting(&changes, fl.Name, &s.PreventUserExistenceErrors, v.PreventUserExistenceErrors)
		case "code-length":
			setting(&changes, fl.Name, &s.CodeLength, v.CodeLength)
		case "max-attempts":
			setting(&changes, fl.Name, &s.MaxAttempts, v.MaxAttempts)
		case "session-ttl":
			setting(&changes, fl.Name, &s.SessionTTL, v.SessionTTL)
		case "sign-up-code-ttl":
			setting(&changes, fl.Name, &s.SignUpCodeTTL, v.SignUpCodeTTL)
		case "default-phone-region":
			setting(&changes, fl.Name, &s.DefaultPhoneRegion, v.DefaultPhoneRegion)
		case "signing-alg":
			// A pool stored before the setting existed has "" for RS256.
			was := s.EffectiveSigningAlgorithm()
			setting(&changes, fl.Name, &was, v.SigningAlgorithm)
			s.SigningAlgorithm = v.SigningAlgorithm
		}
	})
	return changes
}

// setting sets *dst to v and, if that changes it, appends a description
// of the change to changes.
func setting[T comparable](changes *[]string, name string, dst *T, v T) {
	if *dst != v {
		*changes = append(*changes, fmt.Sprintf("%s: %v (was %v)", name, v, *dst))
	}
	*dst = v
}
