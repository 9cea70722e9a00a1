package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/rowcodec"
)

// errDenied rolls back a TakeTokens transaction that takes nothing, so that
// the rows it inserted to lock missing buckets are not kept.
var errDenied = errors.New("denied")

// TakeTokens runs one READ COMMITTED transaction. Its first statement
// makes sure every bucket has a row and locks them all: INSERT … ON
// CONFLICT DO UPDATE either inserts a full bucket or locks the existing row,
// atomically even against a concurrent insert or delete (ResetLimit, the
// sweeper), and returns the row as locked. Keys go in deduplicated (one
// statement cannot update a row twice) and in byte order, so two calls that
// share keys lock them in the same order and do not deadlock; inTx reruns
// the rare deadlock anyway. With the rows locked, the decision is made here
// and one UPDATE writes the new tats, or the transaction rolls back and
// nothing is kept. A key that appears more than once in limits is taken
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
	var denied int
	var retryAt int64
	err = s.inSharedTx(ctx, func(tx pgx.Tx) error {
		// The no-op SET makes DO UPDATE lock and return existing rows.
		rows, err := tx.Query(ctx,
			`INSERT INTO limits AS l (key, tat, expires_at)
			 SELECT k, $2, $2 FROM unnest($1::text[]) AS k ORDER BY k COLLATE "C"
			 ON CONFLICT (key) DO UPDATE SET tat = l.tat
			 RETURNING key, tat`,
			keys, nowMS)
		if err != nil {
			return err
		}
		tats := make(map[string]int64, len(keys))
		var k string
		var tat int64
		if _, err := pgx.ForEachRow(rows, []any{&k, &tat}, func() error {
			tats[k] = tat
			return nil
		}); err != nil {
			return err
		}
		denied, retryAt = rowcodec.TakeAll(limits, buckets, tats, nowMS)
		if denied >= 0 {
			return errDenied
		}
		next := make([]int64, len(keys))
		for i, k := range keys {
			next[i] = tats[k]
		}
		_, err = tx.Exec(ctx,
			`UPDATE limits SET tat = u.tat, expires_at = u.tat
			 FROM unnest($1::text[], $2::bigint[]) AS u (key, tat)
			 WHERE limits.key = u.key`,
			keys, next)
		return err
	})
	switch {
	case errors.Is(err, errDenied):
		return denied, rowcodec.FromMS(retryAt), nil
	case err != nil:
		return -1, time.Time{}, wrapErr("take tokens", err)
	}
	return -1, time.Time{}, nil
}

// ReturnTokens moves the bucket's tat back by n tokens but not before now,
// which is the full bucket, in one UPDATE: it waits for a TakeTokens that
// holds the row and then works on the row as that one left it. A missing
// bucket is full already and stays missing.
func (s *Store) ReturnTokens(ctx context.Context, l store.Limit, n int, now time.Time) error {
	back, err := rowcodec.ReturnBack(l, n)
	if err != nil {
		return err
	}
	if back == 0 {
		return nil
	}
	// SET expressions all read the row as it was, so both columns get the
	// same value.
	if _, err := s.q().Exec(ctx,
		`UPDATE limits SET tat = GREATEST($1, tat - $2), expires_at = GREATEST($1, tat - $2) WHERE key = $3`,
		rowcodec.MS(now), back, l.Key); err != nil {
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
	err = s.q().QueryRow(ctx, `SELECT tat FROM limits WHERE key = $1`, l.Key).Scan(&tat)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, wrapErr(fmt.Sprintf("count tokens of %q", l.Key), err)
	}
	return b.Tokens(tat, nowMS), nil
}

func (s *Store) ResetLimit(ctx context.Context, key string) error {
	if _, err := s.q().Exec(ctx, `DELETE FROM limits WHERE key = $1`, key); err != nil {
		return wrapErr(fmt.Sprintf("reset limit %q", key), err)
	}
	return nil
}

func (s *Store) RecordFailure(ctx context.Context, f store.Failure) error {
	if _, err := s.q().Exec(ctx,
		`INSERT INTO failures (pool_id, account, session_id, source, at, expires_at)
		 VALUES ($1, $2, $3, $4, $5, $6)`,
		f.PoolID, f.Account, f.SessionID, f.Source, rowcodec.MS(f.At), rowcodec.MS(f.ExpiresAt)); err != nil {
		return wrapErr(fmt.Sprintf("record failure of %q in pool %q", f.Account, f.PoolID), err)
	}
	return nil
}

// ForgiveFailures is one DELETE: a caller that waits for a concurrent
// one's row lock finds the row gone and skips it, so each row is deleted,
// and counted, by exactly one caller.
func (s *Store) ForgiveFailures(ctx context.Context, poolID, account, sessionID, source string, now time.Time) (int, error) {
	tag, err := s.q().Exec(ctx,
		`DELETE FROM failures
		 WHERE pool_id = $1 AND account = $2 AND expires_at > $3
		   AND (($4 <> '' AND session_id = $4) OR ($5 <> '' AND source = $5))`,
		poolID, account, rowcodec.MS(now), sessionID, source)
	if err != nil {
		return 0, wrapErr(fmt.Sprintf("forgive failures of %q in pool %q", account, poolID), err)
	}
	return int(tag.RowsAffected()), nil
}
