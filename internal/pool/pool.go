package pool

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Identifier kinds a pool accepts as usernames.
const (
	AttrPhoneNumber         = "phone_number"
	AttrEmail               = "email"
	AttrPhoneNumberVerified = "phone_number_verified"
	AttrEmailVerified       = "email_verified"
	AttrSub                 = "sub"
	AttrLocale              = "locale"
)

// Pool is a user pool: a tenant with its own users, clients, keys and settings.
type Pool struct {
	// ID has Cognito's shape "<region>_<9 alphanumerics>"; Amplify reads the
	// region from the part before the underscore.
	ID        string
	Name      string
	Region    string
	CreatedAt time.Time
	Settings  Settings
	// HashKey is the pool's secret for keyed hashes of one-time codes and
	// decoy destinations. 32 random bytes; never shown.
	HashKey []byte
}

// Settings are the per-pool knobs of the sign-up and sign-in flows.
type Settings struct {
	// UsernameAttributes lists what may serve as a username: AttrPhoneNumber,
	// AttrEmail, or both.
	UsernameAttributes []string `json:"username_attributes"`
	// AutoConfirm confirms users at sign-up; the first code sign-in then proves
	// the identifier. When false, SignUp sends a confirmation code.
	AutoConfirm bool `json:"auto_confirm"`
	// CodeLength is the number of decimal digits in a one-time code.
	CodeLength int `json:"code_length"`
	// MaxAttempts is the number of answers evaluated per code.
	MaxAttempts int `json:"max_attempts"`
	// SessionTTL is how long a sign-in session (and its code) stays valid:
	// Cognito's AuthSessionValidity.
	SessionTTL time.Duration `json:"session_ttl"`
	// SignUpCodeTTL is how long a sign-up confirmation code stays valid.
	SignUpCodeTTL time.Duration `json:"sign_up_code_ttl"`
	// PreventUserExistenceErrors hides whether a user exists: unknown users
	// get decoy sessions instead of UserNotFoundException.
	PreventUserExistenceErrors bool `json:"prevent_user_existence_errors"`
	// DefaultPhoneRegion is the ISO 3166 region used to parse phone numbers
	// given without a leading "+"; empty means numbers must be E.164.
	DefaultPhoneRegion string `json:"default_phone_region,omitempty"`
	// SigningAlgorithm is the JWS algorithm of the key that signs the
	// pool's tokens: one of SigningAlgorithms. Empty (a pool stored before
	// the setting existed) means DefaultSigningAlgorithm; read it with
	// EffectiveSigningAlgorithm. Changing it adds a key of the new
	// algorithm; keys of the old one keep verifying.
	SigningAlgorithm string `json:"signing_alg,omitempty"`
	// Limits is the abuse-resistance policy; nil (a pool stored before
	// limits existed) means DefaultLimits. Read it with EffectiveLimits.
	// Hooks replaces steps of the built-in flows with the team's own code
	// (Cognito's Lambda triggers): the JSON of a hook.Config, read with
	// hook.ParseConfig; empty means every step is built in.
	Hooks  json.RawMessage `json:"hooks,omitempty"`
	Limits *Limits         `json:"limits,omitempty"`
	// Delivery is how codes reach users: providers per channel, templates,
	// test identities; nil uses the server's default sender and the
	// built-in templates. See Delivery.
	Delivery *Delivery `json:"delivery,omitempty"`
}

// EffectiveLimits returns the pool's limits, the defaults when unset.
func (s Settings) EffectiveLimits() Limits {
	if s.Limits == nil {
		return DefaultLimits()
	}
	return *s.Limits
}

// DefaultSigningAlgorithm is what Cognito signs with, and what every
// Cognito client and verifier accepts.
const DefaultSigningAlgorithm = "RS256"

// SigningAlgorithms returns the JWS algorithms a pool may sign with, the
// default first: RS256 (RSA-2048), ES256 (ECDSA on P-256) and EdDSA
// (Ed25519).
func SigningAlgorithms() []string { return []string{DefaultSigningAlgorithm, "ES256", "EdDSA"} }

// EffectiveSigningAlgorithm returns the pool's signing algorithm, the
// default when unset.
func (s Settings) EffectiveSigningAlgorithm() string {
	if s.SigningAlgorithm == "" {
		return DefaultSigningAlgorithm
	}
	return s.SigningAlgorithm
}

// ValidateSigningAlgorithm accepts "" (the default) and the exact names
// in SigningAlgorithms.
func ValidateSigningAlgorithm(alg string) error {
	for _, a := range SigningAlgorithms() {
		if alg == a {
			return nil
		}
	}
	if alg == "" {
		return nil
	}
	return fmt.Errorf("signing algorithm %q is not one of %s", alg, strings.Join(SigningAlgorithms(), ", "))
}

// ParseSigningAlgorithm reads an algorithm as a person types it: any case,
// returned as its JOSE name ("es256" is ES256).
func ParseSigningAlgorithm(s string) (string, error) {
	for _, a := range SigningAlgorithms() {
		if strings.EqualFold(s, a) {
			return a, nil
		}
	}
	return "", fmt.Errorf("signing algorithm %q is not one of %s", s, strings.Join(SigningAlgorithms(), ", "))
}

// DefaultSettings returns the safe defaults a new pool starts with.
func DefaultSettings() Settings {
	return Settings{
		UsernameAttributes:         []string{AttrPhoneNumber, AttrEmail},
		AutoConfirm:                true,
		CodeLength:                 6,
		MaxAttempts:                3,
		SessionTTL:                 3 * time.Minute,
		SignUpCodeTTL:              24 * time.Hour,
		PreventUserExistenceErrors: true,
		SigningAlgorithm:           DefaultSigningAlgorithm,
	}
}

// AllowsUsername reports whether attr (AttrPhoneNumber or AttrEmail) may be
// used as a username in this pool.
func (s Settings) AllowsUsername(attr string) bool {
	for _, a := range s.UsernameAttributes {
		if a == attr {
			return true
		}
	}
	return false
}

// Client is an app client of a pool.
type Client struct {
	// ID is 26 lowercase alphanumerics, like Cognito's.
	ID     string
	PoolID string
	Name   string
	// Secret, when set, requires SECRET_HASH on user calls. Kept in clear
	// because the server must recompute the HMAC.
	Secret          string
	AccessTokenTTL  time.Duration
	IDTokenTTL      time.Duration
	RefreshTokenTTL time.Duration
	CreatedAt       time.Time
}

// Default token lifetimes, as Cognito's.
const (
	DefaultAccessTokenTTL  = time.Hour
	DefaultIDTokenTTL      = time.Hour
	DefaultRefreshTokenTTL = 30 * 24 * time.Hour
)

// SigningKey is a pool's private key for signing JWTs.
type SigningKey struct {
	PoolID string
	// KID is the JWT "kid" header and the JWKS key id.
	KID string
	// Algorithm is the one JWS algorithm the key signs and verifies:
	// "RS256", "ES256" or "EdDSA" (see SigningAlgorithms).
	Algorithm string
	// PrivateKeyPEM is the PKCS#8 private key. It is a secret.
	PrivateKeyPEM []byte
	CreatedAt     time.Time
	// RetiredAt, when set, means the key no longer signs but still verifies.
	RetiredAt *time.Time
}
