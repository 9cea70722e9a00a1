// Package store defines the persistence contract of Latchkey. Every backend
// (store/sqlite, later store/postgres) implements Store and passes the one
// conformance suite in store/storetest.
//
// Rules every implementation follows:
//   - Missing rows are pool.ErrNotFound, unique-key clashes pool.ErrConflict
//     (wrapped with context; callers test with errors.Is).
//   - Methods that say "atomically" must hold under concurrent callers on
//     many nodes: do the check and the write in one statement or transaction.
//   - Times are stored with at least millisecond precision and returned in UTC.
//   - An acknowledged write is durable.
package store

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
)

// Store is everything the engine needs from persistence.
type Store interface {
	Pools
	Users
	Sessions
	Codes
	RefreshTokens
	Maintenance
	// Close releases the store's resources.
	Close() error
}

// Expiring names a kind of record that expires and is swept.
type Expiring string

const (
	ExpiringSessions      Expiring = "sessions"
	ExpiringCodes         Expiring = "codes"
	ExpiringRefreshTokens Expiring = "refresh_tokens"
)

// ExpiringKinds lists every Expiring, in sweep order.
var ExpiringKinds = []Expiring{ExpiringSessions, ExpiringCodes, ExpiringRefreshTokens}

// Maintenance is housekeeping the server runs besides serving requests.
type Maintenance interface {
	// DeleteExpired deletes at most limit records of the kind whose expiry
	// is at or before now, and returns how many it deleted. Each call is
	// one short transaction, so sweeping never holds locks that sign-ins
	// wait on for long.
	DeleteExpired(ctx context.Context, kind Expiring, now time.Time, limit int) (int, error)
	// Check verifies the integrity of the stored data (the database's own
	// consistency checks and the references between records) and returns
	// an error describing the first problem found.
	Check(ctx context.Context) error
}

// Pools stores pools, their app clients and their signing keys.
type Pools interface {
	// CreatePool stores a new pool; pool.ErrConflict if the ID exists.
	CreatePool(ctx context.Context, p pool.Pool) error
	GetPool(ctx context.Context, id string) (pool.Pool, error)
	// ListPools returns every pool, oldest first.
	ListPools(ctx context.Context) ([]pool.Pool, error)

	// CreateClient stores a new app client; pool.ErrNotFound if its pool
	// does not exist, pool.ErrConflict if the ID exists.
	CreateClient(ctx context.Context, c pool.Client) error
	// GetClient finds a client by its ID alone (client IDs are global).
	GetClient(ctx context.Context, id string) (pool.Client, error)
	// ListClients returns a pool's clients, oldest first.
	ListClients(ctx context.Context, poolID string) ([]pool.Client, error)

	// CreateFirstPool stores p, its client c and its signing key k in one
	// transaction if the store holds no pool yet, and reports whether it
	// did. Of nodes starting at once on an empty store exactly one creates;
	// the others get created == false and nothing is stored for them.
	CreateFirstPool(ctx context.Context, p pool.Pool, c pool.Client, k pool.SigningKey) (created bool, err error)

	// AddSigningKey stores a key; pool.ErrConflict if (pool, kid) exists.
	AddSigningKey(ctx context.Context, k pool.SigningKey) error
	// ListSigningKeys returns a pool's keys, newest first, retired included.
	ListSigningKeys(ctx context.Context, poolID string) ([]pool.SigningKey, error)
}

// Users stores accounts.
type Users interface {
	// CreateUser stores a new user. If the username is taken by a CONFIRMED
	// user, pool.ErrConflict. If it is taken by an UNCONFIRMED user, that
	// user is replaced atomically by u (no account is stuck unconfirmed);
	// replaced reports whether that happened.
	CreateUser(ctx context.Context, u pool.User) (replaced bool, err error)
	// GetUser finds a user by pool and username.
	GetUser(ctx context.Context, poolID, username string) (pool.User, error)
	// GetUserBySub finds a user by pool and sub.
	GetUserBySub(ctx context.Context, poolID, sub string) (pool.User, error)
	// UpdateUser replaces the attributes, status, enabled flag and UpdatedAt
	// of the user with u.Sub; pool.ErrNotFound if gone.
	UpdateUser(ctx context.Context, u pool.User) error
	// DeleteUser removes the user with this sub and, in the same
	// transaction, its refresh tokens and sign-up codes.
	DeleteUser(ctx context.Context, poolID, sub string) error
	// ListUsers returns up to limit users of a pool ordered by username,
	// starting after the cursor (the last username of the previous page; ""
	// for the first page). next is "" on the last page.
	ListUsers(ctx context.Context, poolID string, limit int, after string) (users []pool.User, next string, err error)
}

// Sessions stores sign-in sessions, found by the hash of the session string.
type Sessions interface {
	// CreateSession stores a new session; pool.ErrConflict if its ID or
	// token hash exists.
	CreateSession(ctx context.Context, s pool.AuthSession) error
	// GetSession returns the session whose current token hash is tokenHash.
	// It returns expired sessions too (callers decide); pool.ErrNotFound if
	// none.
	GetSession(ctx context.Context, tokenHash []byte) (pool.AuthSession, error)
	// ConsumeAttempt atomically counts one answer against the session's live
	// code and returns the session as it is after the increment. It fails
	// without counting with pool.ErrNotFound (no such token), pool.ErrExpired
	// (ExpiresAt <= now) or pool.ErrNoAttemptsLeft (Attempts >= MaxAttempts).
	// Fifty concurrent callers on a session with MaxAttempts 3 see exactly
	// three successes.
	ConsumeAttempt(ctx context.Context, tokenHash []byte, now time.Time) (pool.AuthSession, error)
	// ReplaceSession atomically swaps the session whose current token hash
	// is oldTokenHash for next (same ID; next carries the new token hash,
	// challenge, history, code hash, channel, destination and expiry).
	// Attempts and MaxAttempts are NOT taken from next: the counter only
	// moves through ConsumeAttempt, so a rotation racing a concurrent answer
	// cannot lose an increment. pool.ErrNotFound if no session has
	// oldTokenHash any more — another caller won.
	ReplaceSession(ctx context.Context, oldTokenHash []byte, next pool.AuthSession) error
	// DeleteSession removes the session whose current token hash is
	// tokenHash. pool.ErrNotFound if it is already gone: of concurrent
	// callers exactly one succeeds, which is how a session is used once.
	DeleteSession(ctx context.Context, tokenHash []byte) error
}

// Codes stores one-time codes that live outside sign-in sessions, such as
// sign-up confirmation codes.
type Codes interface {
	// PutCode stores c, replacing any code with the same (pool, username,
	// purpose): only the newest code is live.
	PutCode(ctx context.Context, c pool.Code) error
	// ConsumeCodeAttempt atomically counts one answer against the live code
	// and returns it after the increment; errors as Sessions.ConsumeAttempt.
	ConsumeCodeAttempt(ctx context.Context, poolID, username, purpose string, now time.Time) (pool.Code, error)
	// DeleteCode removes the code; pool.ErrNotFound if already gone (exactly
	// one of concurrent callers succeeds).
	DeleteCode(ctx context.Context, poolID, username, purpose string) error
}

// RefreshTokens stores refresh tokens by the hash of the opaque token.
type RefreshTokens interface {
	// CreateRefreshToken stores t; pool.ErrConflict if its ID or hash exists.
	CreateRefreshToken(ctx context.Context, t pool.RefreshToken) error
	// GetRefreshToken finds a token by hash, revoked or expired included.
	GetRefreshToken(ctx context.Context, hash []byte) (pool.RefreshToken, error)
	// GetRefreshTokenByID finds a token by ID (an access token's origin_jti).
	GetRefreshTokenByID(ctx context.Context, id string) (pool.RefreshToken, error)
	// RevokeRefreshToken sets RevokedAt = at on the token with this ID if it
	// is not already revoked. Revoking twice is not an error.
	RevokeRefreshToken(ctx context.Context, id string, at time.Time) error
	// RevokeUserRefreshTokens revokes every live refresh token of the user
	// (GlobalSignOut) and returns how many it revoked.
	RevokeUserRefreshTokens(ctx context.Context, poolID, sub string, at time.Time) (int, error)
}
