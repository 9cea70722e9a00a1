// Package rowcodec is the row form of Latchkey's records, shared by the SQL
// store backends: the column list of each table and the function that turns
// a row back into a domain value. SQLite and PostgreSQL store the same
// columns with the same encodings (times as unix milliseconds, durations as
// nanoseconds, absent hashes as NULL), so a record reads back identically
// from either. It also holds the backends' other shared logic that needs no
// SQL: the audit filter's conditions, the outbox's order and the GCRA
// arithmetic of rate-limit buckets.
package rowcodec

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
)

// Scanner is a single row: *sql.Row, *sql.Rows, pgx.Row or pgx.Rows.
type Scanner interface {
	Scan(dest ...any) error
}

// MS is how a time is stored: unix milliseconds, the contract's precision.
func MS(t time.Time) int64 { return t.UnixMilli() }

// CeilMS is t in unix milliseconds rounded up. Stored times are whole
// milliseconds, so at >= t and at < t hold exactly when at >= CeilMS(t) and
// at < CeilMS(t): a bound between two milliseconds is not truncated onto
// the earlier one.
func CeilMS(t time.Time) int64 {
	ms := MS(t)
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		ms++
	}
	return ms
}

// NullMS is how an optional time is stored: nil is NULL (both database/sql
// and pgx bind a nil pointer as NULL).
func NullMS(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	ms := t.UnixMilli()
	return &ms
}

// FromMS reads a stored time back, in UTC.
func FromMS(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// FromNullMS reads a nullable stored time; both database/sql and pgx scan
// NULL into a nil *int64.
func FromNullMS(ms *int64) *time.Time {
	if ms == nil {
		return nil
	}
	t := FromMS(*ms)
	return &t
}

// FromNullBlob reads an absent hash back as nil, not as an empty slice.
func FromNullBlob(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// expiringTables maps each kind of expiring record to its table; the names
// never come from input, so building a statement from them is safe.
var expiringTables = map[store.Expiring]string{
	store.ExpiringSessions:      "sessions",
	store.ExpiringCodes:         "codes",
	store.ExpiringRefreshTokens: "refresh_tokens",
	store.ExpiringLimits:        "limits",
	store.ExpiringFailures:      "failures",
	store.ExpiringAudit:         "audit_events",
	store.ExpiringOutbox:        "outbox",
}

// ExpiringTable checks the arguments of DeleteExpired and returns the table
// that holds records of kind.
func ExpiringTable(kind store.Expiring, limit int) (string, error) {
	table, ok := expiringTables[kind]
	if !ok {
		return "", fmt.Errorf("delete expired: unknown kind %q", kind)
	}
	if limit <= 0 {
		return "", fmt.Errorf("delete expired %s: limit %d must be positive", kind, limit)
	}
	return table, nil
}

// The columns of each table, in the order the Scan functions read them.
const (
	PoolColumns       = `id, name, region, settings, hash_key, created_at`
	ClientColumns     = `id, pool_id, name, secret, access_token_ttl_ns, id_token_ttl_ns, refresh_token_ttl_ns, created_at`
	SigningKeyColumns = `pool_id, kid, algorithm, private_key_pem, created_at, retired_at`
	UserColumns       = `pool_id, sub, username, attributes, status, enabled, created_at, updated_at`
	SessionColumns    = `id, token_hash, kind, pool_id, client_id, username, sub, decoy, flow,
	challenge, history, code_hash, attempts, max_attempts, channel, destination, created_at, expires_at,
	custom_challenge`
	CodeColumns         = `pool_id, username, purpose, hash, attempts, max_attempts, created_at, expires_at`
	RefreshTokenColumns = `id, hash, pool_id, client_id, sub, username, auth_time, created_at, expires_at, revoked_at`
)

// ScanPool reads a pool from a row of PoolColumns.
func ScanPool(sc Scanner) (pool.Pool, error) {
	var (
		p         pool.Pool
		settings  string
		createdAt int64
	)
	if err := sc.Scan(&p.ID, &p.Name, &p.Region, &settings, &p.HashKey, &createdAt); err != nil {
		return pool.Pool{}, err
	}
	if err := json.Unmarshal([]byte(settings), &p.Settings); err != nil {
		return pool.Pool{}, fmt.Errorf("decode settings: %w", err)
	}
	p.HashKey = FromNullBlob(p.HashKey)
	p.CreatedAt = FromMS(createdAt)
	return p, nil
}

// ScanClient reads an app client from a row of ClientColumns.
func ScanClient(sc Scanner) (pool.Client, error) {
	var (
		c                   pool.Client
		access, id, refresh int64
		createdAt           int64
	)
	if err := sc.Scan(&c.ID, &c.PoolID, &c.Name, &c.Secret, &access, &id, &refresh, &createdAt); err != nil {
		return pool.Client{}, err
	}
	c.AccessTokenTTL = time.Duration(access)
	c.IDTokenTTL = time.Duration(id)
	c.RefreshTokenTTL = time.Duration(refresh)
	c.CreatedAt = FromMS(createdAt)
	return c, nil
}

// ScanSigningKey reads a signing key from a row of SigningKeyColumns.
func ScanSigningKey(sc Scanner) (pool.SigningKey, error) {
	var (
		k         pool.SigningKey
		createdAt int64
		retiredAt *int64
	)
	if err := sc.Scan(&k.PoolID, &k.KID, &k.Algorithm, &k.PrivateKeyPEM, &createdAt, &retiredAt); err != nil {
		return pool.SigningKey{}, err
	}
	k.CreatedAt = FromMS(createdAt)
	k.RetiredAt = FromNullMS(retiredAt)
	return k, nil
}

// ScanUser reads a user from a row of UserColumns.
func ScanUser(sc Scanner) (pool.User, error) {
	var (
		u                    pool.User
		attrs, status        string
		createdAt, updatedAt int64
	)
	if err := sc.Scan(&u.PoolID, &u.Sub, &u.Username, &attrs, &status, &u.Enabled, &createdAt, &updatedAt); err != nil {
		return pool.User{}, err
	}
	if err := json.Unmarshal([]byte(attrs), &u.Attributes); err != nil {
		return pool.User{}, fmt.Errorf("decode attributes: %w", err)
	}
	u.Status = pool.UserStatus(status)
	u.CreatedAt = FromMS(createdAt)
	u.UpdatedAt = FromMS(updatedAt)
	return u, nil
}

// EncodeCustom is the custom_challenge column of a session: its Custom as
// JSON, "{}" for a built-in sign-in; ScanSession decodes it. Its errors
// never show the document.
func EncodeCustom(c pool.CustomChallenge) (string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", errors.New("encode custom challenge")
	}
	return string(b), nil
}

// ScanSession reads a sign-in session from a row of SessionColumns. The
// custom_challenge column holds a.Custom as JSON (json.Marshal of it is
// what the backends store); empty sealed parameters read back as nil.
func ScanSession(sc Scanner) (pool.AuthSession, error) {
	var (
		a                     pool.AuthSession
		kind, history, custom string
		codeHash              []byte
		createdAt, expiresAt  int64
	)
	if err := sc.Scan(&a.ID, &a.TokenHash, &kind, &a.PoolID, &a.ClientID, &a.Username, &a.Sub,
		&a.Decoy, &a.Flow, &a.Challenge, &history, &codeHash, &a.Attempts, &a.MaxAttempts,
		&a.Channel, &a.Destination, &createdAt, &expiresAt, &custom); err != nil {
		return pool.AuthSession{}, err
	}
	if err := json.Unmarshal([]byte(history), &a.History); err != nil {
		return pool.AuthSession{}, fmt.Errorf("decode history: %w", err)
	}
	// The error names the column only: the document holds secrets.
	if err := json.Unmarshal([]byte(custom), &a.Custom); err != nil {
		return pool.AuthSession{}, errors.New("decode custom challenge: invalid JSON document")
	}
	if len(a.Custom.SealedPrivate) == 0 {
		a.Custom.SealedPrivate = nil
	}
	a.Kind = pool.SessionKind(kind)
	a.CodeHash = FromNullBlob(codeHash)
	a.CreatedAt = FromMS(createdAt)
	a.ExpiresAt = FromMS(expiresAt)
	return a, nil
}

// ScanCode reads a one-time code from a row of CodeColumns.
func ScanCode(sc Scanner) (pool.Code, error) {
	var (
		c                    pool.Code
		createdAt, expiresAt int64
	)
	if err := sc.Scan(&c.PoolID, &c.Username, &c.Purpose, &c.Hash, &c.Attempts, &c.MaxAttempts,
		&createdAt, &expiresAt); err != nil {
		return pool.Code{}, err
	}
	c.CreatedAt = FromMS(createdAt)
	c.ExpiresAt = FromMS(expiresAt)
	return c, nil
}

// ScanRefreshToken reads a refresh token from a row of RefreshTokenColumns.
func ScanRefreshToken(sc Scanner) (pool.RefreshToken, error) {
	var (
		t                              pool.RefreshToken
		authTime, createdAt, expiresAt int64
		revokedAt                      *int64
	)
	if err := sc.Scan(&t.ID, &t.Hash, &t.PoolID, &t.ClientID, &t.Sub, &t.Username,
		&authTime, &createdAt, &expiresAt, &revokedAt); err != nil {
		return pool.RefreshToken{}, err
	}
	t.AuthTime = FromMS(authTime)
	t.CreatedAt = FromMS(createdAt)
	t.ExpiresAt = FromMS(expiresAt)
	t.RevokedAt = FromNullMS(revokedAt)
	return t, nil
}
