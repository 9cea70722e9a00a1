package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store/rowcodec"
)

func (s *Store) PutCode(ctx context.Context, c pool.Code) error {
	// An upsert on the primary key: the new code replaces the old one in a
	// single statement, so there is never a moment with two or none.
	_, err := s.q().Exec(ctx,
		`INSERT INTO codes (`+rowcodec.CodeColumns+`) VALUES (`+placeholders(8)+`)
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
	tag, err := s.q().Exec(ctx,
		`INSERT INTO codes (`+rowcodec.CodeColumns+`) VALUES (`+placeholders(8)+`)
		 ON CONFLICT (pool_id, username, purpose) DO NOTHING`,
		c.PoolID, c.Username, c.Purpose, c.Hash, c.Attempts, c.MaxAttempts,
		rowcodec.MS(c.CreatedAt), rowcodec.MS(c.ExpiresAt))
	if err != nil {
		return false, wrapErr(codeOp("put if absent", c.PoolID, c.Username, c.Purpose), err)
	}
	return tag.RowsAffected() == 1, nil
}

// ConsumeCodeAttempt works as ConsumeAttempt: see consumeAttempt.
func (s *Store) ConsumeCodeAttempt(ctx context.Context, poolID, username, purpose string, now time.Time) (pool.Code, error) {
	c, err := consumeAttempt(ctx, s.q(), now, rowcodec.ScanCode,
		`UPDATE codes SET attempts = attempts + 1
		 WHERE pool_id = $1 AND username = $2 AND purpose = $3
		   AND attempts < max_attempts AND expires_at > $4
		 RETURNING `+rowcodec.CodeColumns,
		`SELECT attempts, max_attempts, expires_at FROM codes
		 WHERE pool_id = $1 AND username = $2 AND purpose = $3`,
		poolID, username, purpose)
	if err != nil {
		return pool.Code{}, wrapErr(codeOp("consume attempt on", poolID, username, purpose), err)
	}
	return c, nil
}

// DeleteCode is one DELETE: of concurrent callers, those that waited for
// the first one's row lock find the row gone.
func (s *Store) DeleteCode(ctx context.Context, poolID, username, purpose string) error {
	tag, err := s.q().Exec(ctx,
		`DELETE FROM codes WHERE pool_id = $1 AND username = $2 AND purpose = $3`,
		poolID, username, purpose)
	if err == nil {
		err = mustAffect(tag)
	}
	if err != nil {
		return wrapErr(codeOp("delete", poolID, username, purpose), err)
	}
	return nil
}

func codeOp(verb, poolID, username, purpose string) string {
	return fmt.Sprintf("%s %s code of user %q in pool %q", verb, purpose, username, poolID)
}
