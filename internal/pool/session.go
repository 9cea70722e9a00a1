package pool

import (
	"fmt"
	"log/slog"
	"time"
)

// Challenge names, as Cognito's ChallengeNameType.
const (
	ChallengeCustom = "CUSTOM_CHALLENGE"
	ChallengeSMSOTP = "SMS_OTP"
	ChallengeEmail  = "EMAIL_OTP"
	ChallengeSelect = "SELECT_CHALLENGE"
)

// Auth flows, as Cognito's AuthFlowType.
const (
	FlowCustomAuth = "CUSTOM_AUTH"
	FlowUserAuth   = "USER_AUTH"
)

// SessionKind tells what a session is for.
type SessionKind string

const (
	// KindSignIn is a sign-in in progress (InitiateAuth → RespondToAuthChallenge).
	KindSignIn SessionKind = "sign_in"
	// KindSignUp is handed out by SignUp: it lets USER_AUTH start at once for
	// the new user, but still needs a code to prove the identifier.
	KindSignUp SessionKind = "sign_up"
	// KindConfirmed is handed out by ConfirmSignUp after a correct code: it
	// lets USER_AUTH issue tokens without a second code.
	KindConfirmed SessionKind = "confirmed"
)

// ChallengeResult is one entry of a session's history, exactly Cognito's
// DefineAuthChallenge request.session element.
type ChallengeResult struct {
	ChallengeName     string `json:"challengeName"`
	ChallengeResult   bool   `json:"challengeResult"`
	ChallengeMetadata string `json:"challengeMetadata,omitempty"`
}

// AuthSession is server-side state for one sign-in in progress. It is found
// by the hash of the opaque session string the client holds; the string
// itself is never stored.
type AuthSession struct {
	// ID is stable for the life of the session; TokenHash changes each time
	// the client is handed a new session string.
	ID        string
	TokenHash []byte
	Kind      SessionKind
	PoolID    string
	ClientID  string
	// Username is the canonical username, or the normalised identifier the
	// client gave when the user does not exist (a decoy session).
	Username string
	Sub      string
	// Decoy marks a session for an unknown user: it behaves like a real one
	// from outside and can never succeed.
	Decoy bool
	Flow  string
	// Challenge is the challenge the client must answer next.
	Challenge string
	History   []ChallengeResult
	// CodeHash is the keyed hash of the live code; nil when none is live.
	CodeHash []byte
	// Attempts counts answers evaluated against the live code.
	Attempts    int
	MaxAttempts int
	// Channel and Destination say where the live code went: "sms" or
	// "email", and the E.164 number or address.
	Channel     string
	Destination string
	// Custom is the state of a sign-in whose steps the pool's
	// DefineAuthChallenge hook decides: the current challenge's metadata
	// and private parameters from CreateAuthChallenge.
	Custom    CustomChallenge
	CreatedAt time.Time
	ExpiresAt time.Time
}

// CustomChallenge is what a hook-defined CUSTOM_AUTH sign-in keeps between
// its steps, stored with the session as one JSON document. The zero value
// is a sign-in run by the built-in state machine.
type CustomChallenge struct {
	// Hooked marks a sign-in started under a DefineAuthChallenge hook: its
	// answers go through the hooks' state machine (VerifyAuthChallengeResponse,
	// then DefineAuthChallenge) even if the pool's hooks change meanwhile.
	Hooked bool `json:"hooked,omitempty"`
	// Metadata is CreateAuthChallenge's challengeMetadata for the current
	// challenge; it goes into History with the answer's result.
	Metadata string `json:"metadata,omitempty"`
	// SealedPrivate holds CreateAuthChallenge's privateChallengeParameters
	// for the current challenge, sealed by the engine under the pool's key
	// and bound to the session: they often hold the expected answer, which
	// a copy of the database must not reveal. The engine opens them only to
	// pass them to VerifyAuthChallengeResponse.
	SealedPrivate []byte `json:"sealed_private,omitempty"`
}

// PrivateParameters are a challenge's private parameters. They are secrets:
// String, GoString and Format-driven printing show only how many there are.
type PrivateParameters map[string]string

// String withholds the parameters.
func (p PrivateParameters) String() string {
	return fmt.Sprintf("[%d private challenge parameters withheld]", len(p))
}

// GoString keeps %#v from printing the parameters.
func (p PrivateParameters) GoString() string { return "pool.PrivateParameters" + p.String() }

// LogValue keeps slog from logging the parameters.
func (p PrivateParameters) LogValue() slog.Value { return slog.StringValue(p.String()) }

// Expired reports whether the session is no longer usable at now.
func (s AuthSession) Expired(now time.Time) bool { return !now.Before(s.ExpiresAt) }

// Code purposes.
const (
	PurposeSignIn = "sign_in"
	PurposeSignUp = "sign_up"
)

// PurposeVerify is the purpose of a code that verifies a changed email or
// phone_number attribute.
func PurposeVerify(attr string) string { return "verify_" + attr }

// Code is a one-time code not tied to a sign-in session, such as a sign-up
// confirmation code. At most one is live per (pool, username, purpose).
type Code struct {
	PoolID      string
	Username    string
	Purpose     string
	Hash        []byte
	Attempts    int
	MaxAttempts int
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// RefreshToken is the stored form of an opaque refresh token. Its ID is the
// "origin_jti" of every access and ID token minted from it, so revoking it
// revokes them too.
type RefreshToken struct {
	ID        string
	Hash      []byte
	PoolID    string
	ClientID  string
	Sub       string
	Username  string
	AuthTime  time.Time
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
}

// Revoked reports whether the token was revoked at or before now.
func (t RefreshToken) Revoked() bool { return t.RevokedAt != nil }
