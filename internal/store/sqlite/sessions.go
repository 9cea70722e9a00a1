package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store/rowcodec"
)

// Error context for sessions names the operation only: the token hash is a
// secret and the session ID is useless to a reader of the log.

func (s *Store) CreateSession(ctx context.Context, a pool.AuthSession) error {
	history, err := json.Marshal(a.History)
	if err != nil {
		return fmt.Errorf("create session: encode history: %w", err)
	}
	custom, err := rowcodec.EncodeCustom(a.Custom)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	_, err = s.writer().ExecContext(ctx,
		`INSERT INTO sessions (`+rowcodec.SessionColumns+`)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.TokenHash, string(a.Kind), a.PoolID, a.ClientID, a.Username, a.Sub, a.Decoy, a.Flow,
		a.Challenge, string(history), toNullBlob(a.CodeHash), a.Attempts, a.MaxAttempts,
		a.Channel, a.Destination, rowcodec.MS(a.CreatedAt), rowcodec.MS(a.ExpiresAt), custom)
	if err != nil {
		return wrapErr("create session", err)
	}
	return nil
}

func (s *Store) GetSession(ctx context.Context, tokenHash []byte) (pool.AuthSession, error) {
	a, err := rowcodec.ScanSession(s.reader().QueryRowContext(ctx,
		`SELECT `+rowcodec.SessionColumns+` FROM sessions WHERE token_hash = ?`, tokenHash))
	if err != nil {
		return pool.AuthSession{}, wrapErr("get session", err)
	}
	return a, nil
}

func (s *Store) ConsumeAttempt(ctx context.Context, tokenHash []byte, now time.Time) (pool.AuthSession, error) {
	var out pool.AuthSession
	err := s.inSharedTx(ctx, func(tx *sql.Tx) error {
		// The guarded UPDATE is the atomic step: SQLite runs it under the
		// write lock, so no two callers can both pass attempts < max.
		a, err := rowcodec.ScanSession(s.in(tx).QueryRowContext(ctx,
			`UPDATE sessions SET attempts = attempts + 1
			 WHERE token_hash = ? AND attempts < max_attempts AND expires_at > ?
			 RETURNING `+rowcodec.SessionColumns,
			tokenHash, rowcodec.MS(now)))
		if err == nil {
			out = a
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// Nothing was counted. Reading in the same transaction sees the
		// row exactly as the UPDATE did, so the reason is certain.
		var attempts, maxAttempts int
		var expiresAt int64
		if err := s.in(tx).QueryRowContext(ctx,
			`SELECT attempts, max_attempts, expires_at FROM sessions WHERE token_hash = ?`,
			tokenHash).Scan(&attempts, &maxAttempts, &expiresAt); err != nil {
			return err
		}
		return refusal(attempts, maxAttempts, expiresAt, now)
	})
	if err != nil {
		return pool.AuthSession{}, wrapErr("consume session attempt", err)
	}
	return out, nil
}

// refusal explains why a guarded attempt UPDATE matched nothing. Expiry is
// reported first: an expired code is dead whatever its attempt count.
func refusal(attempts, maxAttempts int, expiresAt int64, now time.Time) error {
	switch {
	case expiresAt <= rowcodec.MS(now):
		return pool.ErrExpired
	case attempts >= maxAttempts:
		return pool.ErrNoAttemptsLeft
	default:
		// Unreachable while the check and the read share a transaction.
		return errors.New("attempt not counted for no known reason")
	}
}

func (s *Store) ReplaceSession(ctx context.Context, oldTokenHash []byte, next pool.AuthSession) error {
	history, err := json.Marshal(next.History)
	if err != nil {
		return fmt.Errorf("replace session: encode history: %w", err)
	}
	custom, err := rowcodec.EncodeCustom(next.Custom)
	if err != nil {
		return fmt.Errorf("replace session: %w", err)
	}
	// Matching on the old hash makes this a compare-and-swap: of concurrent
	// callers holding the same session string, only the first finds it.
	// ID, pool, client and creation time are the session's identity and
	// never change; matching on id too stops next from overwriting a
	// different session by mistake. Attempts are left alone: only
	// ConsumeAttempt moves the counter, so a rotation racing a concurrent
	// answer cannot undo its increment.
	res, err := s.writer().ExecContext(ctx,
		`UPDATE sessions SET token_hash = ?, kind = ?, username = ?, sub = ?, decoy = ?, flow = ?,
		 challenge = ?, history = ?, code_hash = ?,
		 channel = ?, destination = ?, expires_at = ?, custom_challenge = ?
		 WHERE token_hash = ? AND id = ?`,
		next.TokenHash, string(next.Kind), next.Username, next.Sub, next.Decoy, next.Flow,
		next.Challenge, string(history), toNullBlob(next.CodeHash),
		next.Channel, next.Destination, rowcodec.MS(next.ExpiresAt), custom,
		oldTokenHash, next.ID)
	if err == nil {
		err = mustAffect(res)
	}
	if err != nil {
		return wrapErr("replace session", err)
	}
	return nil
}

func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	res, err := s.writer().ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
	if err == nil {
		err = mustAffect(res)
	}
	if err != nil {
		return wrapErr("delete session", err)
	}
	return nil
}
