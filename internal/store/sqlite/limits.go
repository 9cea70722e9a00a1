package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/rowcodec"
)

// TakeTokens reads every bucket, decides, and writes them all back inside
// one BEGIN IMMEDIATE transaction: it holds SQLite's write lock from the
// first read, so no other writer, in this process or another, can take a
// token in between. A key that appears more than once in limits is taken
// from once per appearance.
func (s *Store) TakeTokens(ctx context.Context, limits []store.Limit, now time.Time) (int, time.Time, error) {
	if len(limits) == 0 {
		return -1, time.Time{}, nil
	}
	buckets, keys, err := rowcodec.NewBuckets(limits)
	if err != nil {
		return -1, time.Time{}, fmt.Errorf("take tokens: %w", err)
	}

	nowMS := rowcodec.MS(now)
	denied, retryAt := -1, int64(0)
	err = s.inSharedTx(ctx, func(tx *sql.Tx) error {
		tats := make(map[string]int64, len(keys))
		for _, k := range keys {
			var tat int64
			err := s.in(tx).QueryRowContext(ctx, `SELECT tat FROM limits WHERE key = ?`, k).Scan(&tat)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				// A missing bucket is full.
			case err != nil:
				return err
			default:
				tats[k] = tat
			}
		}
		denied, retryAt = rowcodec.TakeAll(limits, buckets, tats, nowMS)
		if denied >= 0 {
			return nil // nothing written: the commit is empty
		}
		for _, k := range keys {
			if _, err := s.in(tx).ExecContext(ctx,
				`INSERT INTO limits (key, tat, expires_at) VALUES (?, ?, ?)
				 ON CONFLICT (key) DO UPDATE SET tat = excluded.tat, expires_at = excluded.expires_at`,
				k, tats[k], tats[k]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return -1, time.Time{}, wrapErr("take tokens", err)
	}
	if denied >= 0 {
		return denied, rowcodec.FromMS(retryAt), nil
	}
	return -1, time.Time{}, nil
}

// ReturnTokens moves the bucket's tat back by n tokens but not before now,
// which is the full bucket. A missing bucket is full already and stays
// missing.
func (s *Store) ReturnTokens(ctx context.Context, l store.Limit, n int, now time.Time) error {
	back, err := rowcodec.ReturnBack(l, n)
	if err != nil {
		return err
	}
	if back == 0 {
		return nil
	}
	nowMS := rowcodec.MS(now)
	// SET expressions all read the row as it was, so both columns get the
	// same value.
	if _, err := s.writer().ExecContext(ctx,
		`UPDATE limits SET tat = max(?, tat - ?), expires_at = max(?, tat - ?) WHERE key = ?`,
		nowMS, back, nowMS, back, l.Key); err != nil {
		return wrapErr(fmt.Sprintf("return tokens to %q", l.Key), err)
	}
	return nil
}

func (s *Store) LimitTokens(ctx context.Context, l store.Limit, now time.Time) (int, error) {
	b, err := rowcodec.NewBucket(l)
	if err != nil {
		return 0, fmt.Errorf("count tokens: %w", err)
	}
	nowMS := rowcodec.MS(now)
	tat := nowMS // a missing bucket is full
	err = s.reader().QueryRowContext(ctx, `SELECT tat FROM limits WHERE key = ?`, l.Key).Scan(&tat)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, wrapErr(fmt.Sprintf("count tokens of %q", l.Key), err)
	}
	return b.Tokens(tat, nowMS), nil
}

func (s *Store) ResetLimit(ctx context.Context, key string) error {
	if _, err := s.writer().ExecContext(ctx, `DELETE FROM limits WHERE key = ?`, key); err != nil {
		return wrapErr(fmt.Sprintf("reset limit %q", key), err)
	}
	return nil
}

func (s *Store) RecordFailure(ctx context.Context, f store.Failure) error {
	if _, err := s.writer().ExecContext(ctx,
		`INSERT INTO failures (pool_id, account, session_id, source, at, expires_at)
		 VALUES (?, ?, ?, ?, ?, ?)`,
		f.PoolID, f.Account, f.SessionID, f.Source, rowcodec.MS(f.At), rowcodec.MS(f.ExpiresAt)); err != nil {
		return wrapErr(fmt.Sprintf("record failure of %q in pool %q", f.Account, f.PoolID), err)
	}
	return nil
}

// ForgiveFailures is one DELETE on the only writer connection, so of
// concurrent callers each row is deleted, and counted, by exactly one.
func (s *Store) ForgiveFailures(ctx context.Context, poolID, account, sessionID, source string, now time.Time) (int, error) {
	return s.execCount(ctx, fmt.Sprintf("forgive failures of %q in pool %q", account, poolID),
		`DELETE FROM failures
		 WHERE pool_id = ? AND account = ? AND expires_at > ?
		   AND ((? <> '' AND session_id = ?) OR (? <> '' AND source = ?))`,
		poolID, account, rowcodec.MS(now), sessionID, sessionID, source, source)
}
