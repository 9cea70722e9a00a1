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

// Store is everything the engine needs from persistence: the records a
// unit of work reads and writes (Tx, whose Update starts one), and pools,
// clients, keys and housekeeping besides.
type Store interface {
	Pools
	Tx
	Maintenance
	// Close releases the store's resources.
	Close() error
}

// Tx is the part of a Store that one unit of work reads and writes
// through; pools, clients and keys are read before a unit starts.
//
// Update runs fn as one unit of work: every read and write fn makes
// through tx belongs to one transaction, committed when fn returns nil and
// rolled back when it returns an error. Each Tx method is atomic on its
// own as well (a method that fails changes nothing), so fn may go on after
// a refusal such as pool.ErrNotFound. A backend may run fn more than once
// when the database aborted the transaction to resolve a conflict with
// another one (a deadlock or a serialization failure): fn must touch only
// tx and its own results, and must not call the Store itself (on SQLite
// the transaction holds the only writer connection). Calling Update on a
// Tx nests: the inner unit of work becomes part of the outer transaction,
// under a savepoint.
type Tx interface {
	Users
	Sessions
	Codes
	RefreshTokens
	Limits
	Failures
	Audit
	Outbox
	Update(ctx context.Context, fn func(tx Tx) error) error
}

// Expiring names a kind of record that expires and is swept.
type Expiring string

const (
	ExpiringSessions      Expiring = "sessions"
	ExpiringCodes         Expiring = "codes"
	ExpiringRefreshTokens Expiring = "refresh_tokens"
	// ExpiringLimits are token buckets that have refilled completely: a
	// full bucket and a missing one mean the same.
	ExpiringLimits   Expiring = "limits"
	ExpiringFailures Expiring = "failures"
	ExpiringAudit    Expiring = "audit"
	// ExpiringOutbox are messages whose code expired before delivery.
	ExpiringOutbox Expiring = "outbox"
)

// ExpiringKinds lists every Expiring, in sweep order.
var ExpiringKinds = []Expiring{
	ExpiringSessions, ExpiringCodes, ExpiringRefreshTokens,
	ExpiringLimits, ExpiringFailures, ExpiringAudit, ExpiringOutbox,
}

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
	// UpdatePoolSettings replaces a pool's name and settings;
	// pool.ErrNotFound if the pool does not exist.
	UpdatePoolSettings(ctx context.Context, id, name string, settings pool.Settings) error

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
//
// Identifiers: every user is found by its username, and also by each of its
// email and phone_number attributes that is verified (its aliases), as in
// Cognito. An identifier belongs to at most one user of a pool; the store
// keeps the identifiers in step with the users atomically.
type Users interface {
	// CreateUser stores a new user. If the username is taken by a CONFIRMED
	// user, or is another user's alias, pool.ErrConflict. If it is taken by
	// an UNCONFIRMED user, that user is replaced atomically by u (no account
	// is stuck unconfirmed); replaced reports whether that happened.
	CreateUser(ctx context.Context, u pool.User) (replaced bool, err error)
	// GetUser finds a user by pool and username.
	GetUser(ctx context.Context, poolID, username string) (pool.User, error)
	// GetUserByIdentifier finds a user by username or by alias, in one
	// query whether or not the user exists.
	GetUserByIdentifier(ctx context.Context, poolID, identifier string) (pool.User, error)
	// GetUserBySub finds a user by pool and sub.
	GetUserBySub(ctx context.Context, poolID, sub string) (pool.User, error)
	// UpdateUser replaces the username, attributes, status, enabled flag and
	// UpdatedAt of the user with u.Sub, and brings its identifiers in step:
	// the username, and each email / phone_number attribute whose
	// *_verified attribute is "true" and that differs from the username.
	// pool.ErrNotFound if the user is gone; pool.ErrConflict (and nothing
	// changed) if the new username or an alias is another user's
	// identifier.
	UpdateUser(ctx context.Context, u pool.User) error
	// DeleteUser removes the user with this sub and, in the same
	// transaction, its identifiers, refresh tokens and sign-up codes.
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
	// PutCodeIfAbsent stores c unless a code with the same (pool,
	// username, purpose) is there, live, spent or expired, and reports
	// whether it stored it.
	PutCodeIfAbsent(ctx context.Context, c pool.Code) (stored bool, err error)
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

// Limit is a token bucket: it holds at most Burst tokens and gains one every
// Every; a missing bucket is full. Over any span of time d at most
// Burst + d/Every tokens can be taken, which is what the documented bounds
// are computed from. Buckets are kept as a GCRA "theoretical arrival time"
// so each is one integer, updated in one statement.
type Limit struct {
	// Key names the bucket, e.g. "guess/<pool>/<username>".
	Key   string
	Burst int
	Every time.Duration
	// Refund checks the bucket and writes it like a take, but leaves its
	// token: the bucket must hold one, and still does after. A decoy uses
	// it to do exactly the work of a real message without spending what
	// only real messages spend.
	Refund bool
}

// Limits keeps rate-limit buckets shared by every node.
type Limits interface {
	// TakeTokens takes one token from each limit's bucket, all or nothing,
	// atomically. If every bucket has a token, it returns denied == -1.
	// Otherwise nothing is taken and it returns the index of the first
	// limit whose bucket is empty and when that bucket next has a token.
	// A limit with Burst <= 0 or Every <= 0 is an error.
	TakeTokens(ctx context.Context, limits []Limit, now time.Time) (denied int, retryAt time.Time, err error)
	// ReturnTokens gives back n tokens to the bucket (never above Burst).
	ReturnTokens(ctx context.Context, l Limit, n int, now time.Time) error
	// LimitTokens reports how many whole tokens the bucket holds at now.
	LimitTokens(ctx context.Context, l Limit, now time.Time) (int, error)
	// ResetLimit fills the bucket (deletes it). Resetting a full bucket is
	// not an error.
	ResetLimit(ctx context.Context, key string) error
}

// Failure is one wrong answer to a one-time code, kept so that a later right
// answer from the same place can give the guessing budget back.
type Failure struct {
	PoolID string
	// Account is the username the code belonged to.
	Account string
	// SessionID is the sign-in session or code the answer was for.
	SessionID string
	// Source identifies where the answer came from (the client's IP
	// address); "" when unknown.
	Source    string
	At        time.Time
	ExpiresAt time.Time
}

// Failures stores wrong answers.
type Failures interface {
	// RecordFailure stores f.
	RecordFailure(ctx context.Context, f Failure) error
	// ForgiveFailures deletes the account's unexpired failures that were
	// made in session sessionID, or from source when source is not "",
	// and returns how many it deleted. Of concurrent callers each failure
	// is counted by exactly one.
	ForgiveFailures(ctx context.Context, poolID, account, sessionID, source string, now time.Time) (int, error)
}

// AuditEvent is one security-relevant event. It never holds a secret: no
// code, session string, token or key.
type AuditEvent struct {
	// ID is assigned by the store: increasing, unique within the store.
	ID       int64
	PoolID   string
	At       time.Time
	Type     string // e.g. "sign_in.success", see package audit
	Username string
	Sub      string
	ClientID string
	SourceIP string
	// Detail holds extra facts as flat strings (reason, channel, limit).
	Detail    map[string]string
	ExpiresAt time.Time
}

// AuditFilter selects audit events. Zero fields select everything.
type AuditFilter struct {
	PoolID   string
	Username string
	Type     string
	Since    time.Time // At >= Since
	Until    time.Time // At < Until
	// AfterID pages: only events with ID > AfterID.
	AfterID int64
	// Limit caps the number returned; <= 0 means 1000.
	Limit int
}

// Audit stores the audit trail.
type Audit interface {
	// AppendAudit stores ev and returns its ID.
	AppendAudit(ctx context.Context, ev AuditEvent) (int64, error)
	// ListAudit returns the events matching f, oldest (lowest ID) first.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
}

// OutboxMessage is a code message waiting to be delivered. Sealed is the
// message encrypted under a key of the pool: the code is never stored in
// clear. Decoy messages are stored like real ones, so a request for an
// unknown user does the same work, and are dropped by the dispatcher.
type OutboxMessage struct {
	ID          string
	PoolID      string
	Channel     string
	Destination string
	Purpose     string
	Decoy       bool
	Sealed      []byte
	Attempts    int
	LastError   string
	CreatedAt   time.Time
	// NotBefore is when the message may next be claimed.
	NotBefore time.Time
	// ExpiresAt is when its code expires; it is not sent after that.
	ExpiresAt time.Time
}

// Outbox is the durable queue of code messages. A message enqueued before
// the request is answered survives a crash of the node.
type Outbox interface {
	// EnqueueMessage stores m; pool.ErrConflict if its ID exists.
	EnqueueMessage(ctx context.Context, m OutboxMessage) error
	// ClaimMessages atomically claims up to limit unexpired messages with
	// NotBefore <= now, oldest first: each gets NotBefore = now + lease and
	// Attempts + 1 and is returned as updated. A message is claimed by one
	// caller at a time, across nodes.
	ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]OutboxMessage, error)
	// DeleteMessage removes a message once delivered (or dropped);
	// pool.ErrNotFound if it is gone.
	DeleteMessage(ctx context.Context, id string) error
	// DeferMessage sets when a failed message may be tried again and why it
	// failed; pool.ErrNotFound if it is gone.
	DeferMessage(ctx context.Context, id string, notBefore time.Time, lastError string) error
}
