package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store/rowcodec"
)

// Error context for sessions names the operation only: the token hash is a
// secret and the session ID is useless to a reader of the log.

// maxAttemptTries bounds the guarded-UPDATE-then-explain loop of
// ConsumeAttempt and ConsumeCodeAttempt; see consumeAttempt.
const maxAttemptTries = 5

func (s *Store) CreateSession(ctx context.Context, a pool.AuthSession) error {
	history, err := json.Marshal(a.History)
	if err != nil {
		return fmt.Errorf("create session: encode history: %w", err)
	}
	custom, err := rowcodec.EncodeCustom(a.Custom)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	tag, err := s.q().Exec(ctx,
		`INSERT INTO sessions (`+rowcodec.SessionColumns+`) VALUES (`+placeholders(19)+`)
		 ON CONFLICT DO NOTHING`,
		a.ID, a.TokenHash, string(a.Kind), a.PoolID, a.ClientID, a.Username, a.Sub, a.Decoy, a.Flow,
		a.Challenge, string(history), toNullBlob(a.CodeHash), a.Attempts, a.MaxAttempts,
		a.Channel, a.Destination, rowcodec.MS(a.CreatedAt), rowcodec.MS(a.ExpiresAt), custom)
	if err != nil {
		return wrapErr("create session", err)
	}
	return insertedOne("create session", tag)
}

func (s *Store) GetSession(ctx context.Context, tokenHash []byte) (pool.AuthSession, error) {
	a, err := rowcodec.ScanSession(s.q().QueryRow(ctx,
		`SELECT `+rowcodec.SessionColumns+` FROM sessions WHERE token_hash = $1`, tokenHash))
	if err != nil {
		return pool.AuthSession{}, wrapErr("get session", err)
	}
	return a, nil
}

func (s *Store) ConsumeAttempt(ctx context.Context, tokenHash []byte, now time.Time) (pool.AuthSession, error) {
	a, err := consumeAttempt(ctx, s.q(), now, rowcodec.ScanSession,
		`UPDATE sessions SET attempts = attempts + 1
		 WHERE token_hash = $1 AND attempts < max_attempts AND expires_at > $2
		 RETURNING `+rowcodec.SessionColumns,
		`SELECT attempts, max_attempts, expires_at FROM sessions WHERE token_hash = $1`,
		tokenHash)
	if err != nil {
		return pool.AuthSession{}, wrapErr("consume session attempt", err)
	}
	return a, nil
}

// consumeAttempt counts one attempt on the row that key identifies. update
// takes the key's columns as its first parameters and now after them;
// explain takes the key alone.
//
// The guarded UPDATE is the atomic step. An UPDATE that waits for a
// concurrent one's row lock re-evaluates its WHERE clause on the row as
// that one left it, so no two callers can both pass attempts <
// max_attempts, on any number of nodes. It autocommits, holding the row
// lock for that one statement.
//
// When nothing was counted, explain reads the row as last committed, and
// its answer is true at that moment: missing is ErrNotFound, expired
// ErrExpired, used up ErrNoAttemptsLeft. Only if the row changed in between
// into a live one (PutCode's new code) is there nothing to refuse; then the
// attempt is counted against the live row, as if the caller had come a
// moment later. Neither statement can leave a count wrong, so no
// transaction is needed.
func consumeAttempt[T any](ctx context.Context, q querier, now time.Time,
	scan func(rowcodec.Scanner) (T, error), update, explain string, key ...any,
) (T, error) {
	var zero T
	args := append(append([]any{}, key...), rowcodec.MS(now))
	for range maxAttemptTries {
		v, err := scan(q.QueryRow(ctx, update, args...))
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return zero, err
		}
		var attempts, maxAttempts int
		var expiresAt int64
		if err := q.QueryRow(ctx, explain, key...).Scan(&attempts, &maxAttempts, &expiresAt); err != nil {
			return zero, err
		}
		if err := refusal(attempts, maxAttempts, expiresAt, now); err != nil {
			return zero, err
		}
	}
	return zero, fmt.Errorf("record replaced %d times while counting an attempt", maxAttemptTries)
}

// refusal explains why a guarded attempt UPDATE matched nothing, or returns
// nil if the row as read now would not be refused. Expiry is reported
// first: an expired code is dead whatever its attempt count.
func refusal(attempts, maxAttempts int, expiresAt int64, now time.Time) error {
	switch {
	case expiresAt <= rowcodec.MS(now):
		return pool.ErrExpired
	case attempts >= maxAttempts:
		return pool.ErrNoAttemptsLeft
	default:
		return nil
	}
}

// ReplaceSession is a compare-and-swap on the old token hash: the UPDATE
// matches it and, if it waits for a concurrent replacement's row lock,
// re-checks it against the row as that one left it, so of concurrent
// callers holding the same session string only the first finds it.
func (s *Store) ReplaceSession(ctx context.Context, oldTokenHash []byte, next pool.AuthSession) error {
	history, err := json.Marshal(next.History)
	if err != nil {
		return fmt.Errorf("replace session: encode history: %w", err)
	}
	custom, err := rowcodec.EncodeCustom(next.Custom)
	if err != nil {
		return fmt.Errorf("replace session: %w", err)
	}
	// ID, pool, client and creation time are the session's identity and
	// never change; matching on id too stops next from overwriting a
	// different session by mistake. Attempts and max_attempts are left
	// alone: only ConsumeAttempt moves the counter, so a rotation racing a
	// concurrent answer cannot undo its increment.
	tag, err := s.q().Exec(ctx,
		`UPDATE sessions SET token_hash = $1, kind = $2, username = $3, sub = $4, decoy = $5, flow = $6,
		 challenge = $7, history = $8, code_hash = $9,
		 channel = $10, destination = $11, expires_at = $12, custom_challenge = $13
		 WHERE token_hash = $14 AND id = $15`,
		next.TokenHash, string(next.Kind), next.Username, next.Sub, next.Decoy, next.Flow,
		next.Challenge, string(history), toNullBlob(next.CodeHash),
		next.Channel, next.Destination, rowcodec.MS(next.ExpiresAt), custom,
		oldTokenHash, next.ID)
	if err == nil {
		err = mustAffect(tag)
	}
	if err != nil {
		return wrapErr("replace session", err)
	}
	return nil
}

// DeleteSession is one DELETE: a caller that waited for a concurrent
// delete's row lock finds the row gone and affects nothing.
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	tag, err := s.q().Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash)
	if err == nil {
		err = mustAffect(tag)
	}
	if err != nil {
		return wrapErr("delete session", err)
	}
	return nil
}
