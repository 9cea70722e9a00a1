package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store/rowcodec"
)

// Lists are ordered by created_at with rowid (insertion order) as the tie
// break, so rows created in the same millisecond still come out in a stable,
// sensible order.

func (s *Store) CreatePool(ctx context.Context, p pool.Pool) error {
	return insertPool(ctx, s.w, p)
}

// execer is what an insert needs: the writer pool or a transaction on it.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func insertPool(ctx context.Context, ex execer, p pool.Pool) error {
	settings, err := json.Marshal(p.Settings)
	if err != nil {
		return fmt.Errorf("create pool %q: encode settings: %w", p.ID, err)
	}
	_, err = ex.ExecContext(ctx,
		`INSERT INTO pools (`+rowcodec.PoolColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		p.ID, p.Name, p.Region, string(settings), nonNilBlob(p.HashKey), rowcodec.MS(p.CreatedAt))
	if err != nil {
		return wrapErr(fmt.Sprintf("create pool %q", p.ID), err)
	}
	return nil
}

// CreateFirstPool relies on BEGIN IMMEDIATE: the count and the inserts run
// under the write lock, which other processes on the file wait for.
func (s *Store) CreateFirstPool(ctx context.Context, p pool.Pool, c pool.Client, k pool.SigningKey) (bool, error) {
	created := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pools`).Scan(&n); err != nil {
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
	p, err := rowcodec.ScanPool(s.reader().QueryRowContext(ctx,
		`SELECT `+rowcodec.PoolColumns+` FROM pools WHERE id = ?`, id))
	if err != nil {
		return pool.Pool{}, wrapErr(fmt.Sprintf("get pool %q", id), err)
	}
	return p, nil
}

func (s *Store) ListPools(ctx context.Context) ([]pool.Pool, error) {
	rows, err := s.reader().QueryContext(ctx,
		`SELECT `+rowcodec.PoolColumns+` FROM pools ORDER BY created_at, rowid`)
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
	return insertClient(ctx, s.w, c)
}

func insertClient(ctx context.Context, ex execer, c pool.Client) error {
	_, err := ex.ExecContext(ctx,
		`INSERT INTO clients (`+rowcodec.ClientColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.PoolID, c.Name, c.Secret,
		int64(c.AccessTokenTTL), int64(c.IDTokenTTL), int64(c.RefreshTokenTTL),
		rowcodec.MS(c.CreatedAt))
	if err != nil {
		return wrapErr(fmt.Sprintf("create client %q in pool %q", c.ID, c.PoolID), err)
	}
	return nil
}

func (s *Store) GetClient(ctx context.Context, id string) (pool.Client, error) {
	c, err := rowcodec.ScanClient(s.reader().QueryRowContext(ctx,
		`SELECT `+rowcodec.ClientColumns+` FROM clients WHERE id = ?`, id))
	if err != nil {
		return pool.Client{}, wrapErr(fmt.Sprintf("get client %q", id), err)
	}
	return c, nil
}

func (s *Store) ListClients(ctx context.Context, poolID string) ([]pool.Client, error) {
	rows, err := s.reader().QueryContext(ctx,
		`SELECT `+rowcodec.ClientColumns+` FROM clients WHERE pool_id = ? ORDER BY created_at, rowid`, poolID)
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
	return insertSigningKey(ctx, s.w, k)
}

func insertSigningKey(ctx context.Context, ex execer, k pool.SigningKey) error {
	_, err := ex.ExecContext(ctx,
		`INSERT INTO signing_keys (`+rowcodec.SigningKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		k.PoolID, k.KID, k.Algorithm, k.PrivateKeyPEM, rowcodec.MS(k.CreatedAt), rowcodec.NullMS(k.RetiredAt))
	if err != nil {
		return wrapErr(fmt.Sprintf("add signing key %q to pool %q", k.KID, k.PoolID), err)
	}
	return nil
}

func (s *Store) ListSigningKeys(ctx context.Context, poolID string) ([]pool.SigningKey, error) {
	rows, err := s.reader().QueryContext(ctx,
		`SELECT `+rowcodec.SigningKeyColumns+` FROM signing_keys WHERE pool_id = ? ORDER BY created_at DESC, rowid DESC`, poolID)
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
func collect[T any](rows *sql.Rows, scan func(rowcodec.Scanner) (T, error)) ([]T, error) {
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
	res, err := s.writer().ExecContext(ctx, `UPDATE pools SET name = ?, settings = ? WHERE id = ?`, name, string(enc), id)
	if err != nil {
		return wrapErr(fmt.Sprintf("update pool %q", id), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(fmt.Sprintf("update pool %q", id), err)
	}
	if n == 0 {
		return fmt.Errorf("update pool %q: %w", id, pool.ErrNotFound)
	}
	return nil
}
