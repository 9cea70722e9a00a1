package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store/rowcodec"
)

func (s *Store) PutCode(ctx context.Context, c pool.Code) error {
	// An upsert on the primary key: the new code replaces the old one in a
	// single statement, so there is never a moment with two or none.
	_, err := s.writer().ExecContext(ctx,
		`INSERT INTO codes (`+rowcodec.CodeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (pool_id, username, purpose) DO UPDATE SET
		   hash = excluded.hash, attempts = excluded.attempts,
		   max_attempts = excluded.max_attempts, created_at = excluded.created_at,
		   expires_at = excluded.expires_at`,
		c.PoolID, c.Username, c.Purpose, c.Hash, c.Attempts, c.MaxAttempts,
		rowcodec.MS(c.CreatedAt), rowcodec.MS(c.ExpiresAt))
	if err != nil {
		return wrapErr(codeOp("put", c.PoolID, c.Username, c.Purpose), err)
	}
	return nil
}

func (s *Store) PutCodeIfAbsent(ctx context.Context, c pool.Code) (bool, error) {
	res, err := s.writer().ExecContext(ctx,
		`INSERT INTO codes (`+rowcodec.CodeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (pool_id, username, purpose) DO NOTHING`,
		c.PoolID, c.Username, c.Purpose, c.Hash, c.Attempts, c.MaxAttempts,
		rowcodec.MS(c.CreatedAt), rowcodec.MS(c.ExpiresAt))
	var n int64
	if err == nil {
		n, err = res.RowsAffected()
	}
	if err != nil {
		return false, wrapErr(codeOp("put if absent", c.PoolID, c.Username, c.Purpose), err)
	}
	return n == 1, nil
}

func (s *Store) ConsumeCodeAttempt(ctx context.Context, poolID, username, purpose string, now time.Time) (pool.Code, error) {
	var out pool.Code
	err := s.inSharedTx(ctx, func(tx *sql.Tx) error {
		// See ConsumeAttempt: the guarded UPDATE is the atomic step and the
		// read in the same transaction only explains a refusal.
		c, err := rowcodec.ScanCode(s.in(tx).QueryRowContext(ctx,
			`UPDATE codes SET attempts = attempts + 1
			 WHERE pool_id = ? AND username = ? AND purpose = ?
			   AND attempts < max_attempts AND expires_at > ?
			 RETURNING `+rowcodec.CodeColumns,
			poolID, username, purpose, rowcodec.MS(now)))
		if err == nil {
			out = c
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var attempts, maxAttempts int
		var expiresAt int64
		if err := s.in(tx).QueryRowContext(ctx,
			`SELECT attempts, max_attempts, expires_at FROM codes
			 WHERE pool_id = ? AND username = ? AND purpose = ?`,
			poolID, username, purpose).Scan(&attempts, &maxAttempts, &expiresAt); err != nil {
			return err
		}
		return refusal(attempts, maxAttempts, expiresAt, now)
	})
	if err != nil {
		return pool.Code{}, wrapErr(codeOp("consume attempt on", poolID, username, purpose), err)
	}
	return out, nil
}

func (s *Store) DeleteCode(ctx context.Context, poolID, username, purpose string) error {
	res, err := s.writer().ExecContext(ctx,
		`DELETE FROM codes WHERE pool_id = ? AND username = ? AND purpose = ?`,
		poolID, username, purpose)
	if err == nil {
		err = mustAffect(res)
	}
	if err != nil {
		return wrapErr(codeOp("delete", poolID, username, purpose), err)
	}
	return nil
}

func codeOp(verb, poolID, username, purpose string) string {
	return fmt.Sprintf("%s %s code of user %q in pool %q", verb, purpose, username, poolID)
}
