package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store/rowcodec"
)

// Lists are ordered by created_at with seq (insertion order, SQLite's rowid)
// as the tie break, so rows created in the same millisecond still come out
// in a stable, sensible order.

// execer is what an insert needs: the pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func (s *Store) CreatePool(ctx context.Context, p pool.Pool) error {
	return insertPool(ctx, s.db, p)
}

func insertPool(ctx context.Context, ex execer, p pool.Pool) error {
	settings, err := json.Marshal(p.Settings)
	if err != nil {
		return fmt.Errorf("create pool %q: encode settings: %w", p.ID, err)
	}
	_, err = ex.Exec(ctx,
		`INSERT INTO pools (`+rowcodec.PoolColumns+`) VALUES (`+placeholders(6)+`)`,
		p.ID, p.Name, p.Region, string(settings), nonNilBlob(p.HashKey), rowcodec.MS(p.CreatedAt))
	if err != nil {
		return wrapErr(fmt.Sprintf("create pool %q", p.ID), err)
	}
	return nil
}

// CreateFirstPool takes a transaction advisory lock (keyed by
// s.firstPoolLock, fixed per schema) before counting, so
// concurrent callers on every node run the count-and-insert one at a time.
// Under READ COMMITTED the count, a statement after the lock was granted,
// sees the pool committed by whoever held the lock before (a transaction's
// effects are visible before its locks are released).
func (s *Store) CreateFirstPool(ctx context.Context, p pool.Pool, c pool.Client, k pool.SigningKey) (bool, error) {
	created := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		created = false
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, s.firstPoolLock); err != nil {
			return wrapErr("lock pools", err)
		}
		var n int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM pools`).Scan(&n); err != nil {
			return wrapErr("count pools", err)
		}
		if n > 0 {
			return nil
		}
		if err := insertPool(ctx, tx, p); err != nil {
			return err
		}
		if err := insertClient(ctx, tx, c); err != nil {
			return err
		}
		if err := insertSigningKey(ctx, tx, k); err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("create first pool: %w", err)
	}
	return created, nil
}

func (s *Store) GetPool(ctx context.Context, id string) (pool.Pool, error) {
	p, err := rowcodec.ScanPool(s.q().QueryRow(ctx,
		`SELECT `+rowcodec.PoolColumns+` FROM pools WHERE id = $1`, id))
	if err != nil {
		return pool.Pool{}, wrapErr(fmt.Sprintf("get pool %q", id), err)
	}
	return p, nil
}

func (s *Store) ListPools(ctx context.Context) ([]pool.Pool, error) {
	rows, err := s.q().Query(ctx,
		`SELECT `+rowcodec.PoolColumns+` FROM pools ORDER BY created_at, seq`)
	if err != nil {
		return nil, wrapErr("list pools", err)
	}
	pools, err := collect(rows, rowcodec.ScanPool)
	if err != nil {
		return nil, wrapErr("list pools", err)
	}
	return pools, nil
}

func (s *Store) CreateClient(ctx context.Context, c pool.Client) error {
	return insertClient(ctx, s.db, c)
}

func insertClient(ctx context.Context, ex execer, c pool.Client) error {
	_, err := ex.Exec(ctx,
		`INSERT INTO clients (`+rowcodec.ClientColumns+`) VALUES (`+placeholders(8)+`)`,
		c.ID, c.PoolID, c.Name, c.Secret,
		int64(c.AccessTokenTTL), int64(c.IDTokenTTL), int64(c.RefreshTokenTTL),
		rowcodec.MS(c.CreatedAt))
	if err != nil {
		return wrapErr(fmt.Sprintf("create client %q in pool %q", c.ID, c.PoolID), err)
	}
	return nil
}

func (s *Store) GetClient(ctx context.Context, id string) (pool.Client, error) {
	c, err := rowcodec.ScanClient(s.q().QueryRow(ctx,
		`SELECT `+rowcodec.ClientColumns+` FROM clients WHERE id = $1`, id))
	if err != nil {
		return pool.Client{}, wrapErr(fmt.Sprintf("get client %q", id), err)
	}
	return c, nil
}

func (s *Store) ListClients(ctx context.Context, poolID string) ([]pool.Client, error) {
	rows, err := s.q().Query(ctx,
		`SELECT `+rowcodec.ClientColumns+` FROM clients WHERE pool_id = $1 ORDER BY created_at, seq`, poolID)
	if err != nil {
		return nil, wrapErr(fmt.Sprintf("list clients of pool %q", poolID), err)
	}
	clients, err := collect(rows, rowcodec.ScanClient)
	if err != nil {
		return nil, wrapErr(fmt.Sprintf("list clients of pool %q", poolID), err)
	}
	return clients, nil
}

func (s *Store) AddSigningKey(ctx context.Context, k pool.SigningKey) error {
	return insertSigningKey(ctx, s.db, k)
}

func insertSigningKey(ctx context.Context, ex execer, k pool.SigningKey) error {
	_, err := ex.Exec(ctx,
		`INSERT INTO signing_keys (`+rowcodec.SigningKeyColumns+`) VALUES (`+placeholders(6)+`)`,
		k.PoolID, k.KID, k.Algorithm, k.PrivateKeyPEM, rowcodec.MS(k.CreatedAt), rowcodec.NullMS(k.RetiredAt))
	if err != nil {
		return wrapErr(fmt.Sprintf("add signing key %q to pool %q", k.KID, k.PoolID), err)
	}
	return nil
}

func (s *Store) ListSigningKeys(ctx context.Context, poolID string) ([]pool.SigningKey, error) {
	rows, err := s.q().Query(ctx,
		`SELECT `+rowcodec.SigningKeyColumns+` FROM signing_keys WHERE pool_id = $1 ORDER BY created_at DESC, seq DESC`, poolID)
	if err != nil {
		return nil, wrapErr(fmt.Sprintf("list signing keys of pool %q", poolID), err)
	}
	keys, err := collect(rows, rowcodec.ScanSigningKey)
	if err != nil {
		return nil, wrapErr(fmt.Sprintf("list signing keys of pool %q", poolID), err)
	}
	return keys, nil
}

// collect scans every row and closes rows. It returns an empty, non-nil
// slice when there are no rows so callers can encode it as [] not null.
func collect[T any](rows pgx.Rows, scan func(rowcodec.Scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) UpdatePoolSettings(ctx context.Context, id, name string, settings pool.Settings) error {
	enc, err := json.Marshal(settings)
	if err != nil {
		return fmt.Errorf("update pool %q: encode settings: %w", id, err)
	}
	tag, err := s.q().Exec(ctx, `UPDATE pools SET name = $1, settings = $2 WHERE id = $3`, name, string(enc), id)
	if err != nil {
		return wrapErr(fmt.Sprintf("update pool %q", id), err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("update pool %q: %w", id, pool.ErrNotFound)
	}
	return nil
}
