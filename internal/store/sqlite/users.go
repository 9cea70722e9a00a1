package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store/rowcodec"
)

func (s *Store) CreateUser(ctx context.Context, u pool.User) (replaced bool, err error) {
	op := fmt.Sprintf("create user %q in pool %q", u.Username, u.PoolID)
	attrs, err := json.Marshal(u.Attributes)
	if err != nil {
		return false, fmt.Errorf("%s: encode attributes: %w", op, err)
	}
	// The check and the write share one IMMEDIATE transaction, so of many
	// concurrent sign-ups for one username exactly one sees it free. The
	// users row is checked first: a username held by another user as its
	// username is decided there (replace or conflict); one held as an alias
	// is then a clash in the identifiers table.
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		replaced = false
		var oldSub, status string
		err := s.in(tx).QueryRowContext(ctx,
			`SELECT sub, status FROM users WHERE pool_id = ? AND username = ?`,
			u.PoolID, u.Username).Scan(&oldSub, &status)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case pool.UserStatus(status) == pool.StatusUnconfirmed:
			if err := deleteUser(ctx, s.in(tx), u.PoolID, oldSub, u.Username); err != nil {
				return err
			}
			replaced = true
		default:
			// CONFIRMED, and any status added later, keeps its username.
			return fmt.Errorf("username taken by a %s user: %w", status, pool.ErrConflict)
		}
		if _, err := s.in(tx).ExecContext(ctx,
			`INSERT INTO users (`+rowcodec.UserColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			u.PoolID, u.Sub, u.Username, string(attrs), string(u.Status), u.Enabled,
			rowcodec.MS(u.CreatedAt), rowcodec.MS(u.UpdatedAt)); err != nil {
			return err
		}
		return claimIdentifiers(ctx, s.in(tx), u)
	})
	if err != nil {
		return false, wrapErr(op, err)
	}
	return replaced, nil
}

// claimIdentifiers stores u's identifiers inside the caller's transaction,
// which has removed any rows of u.Sub that u no longer owns. An identifier
// held by another user fails the transaction with pool.ErrConflict.
func claimIdentifiers(ctx context.Context, q querier, u pool.User) error {
	for _, id := range rowcodec.Identifiers(u) {
		res, err := q.ExecContext(ctx,
			`INSERT INTO identifiers (`+rowcodec.IdentifierColumns+`) VALUES (?, ?, ?, ?)
			 ON CONFLICT DO NOTHING`,
			u.PoolID, id.Value, u.Sub, id.Kind)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return rowcodec.IdentifierTaken(id)
		}
	}
	return nil
}

// deleteUser removes a user with everything that hangs off it, inside the
// caller's transaction. Codes are keyed by username; tokens and
// identifiers by sub.
func deleteUser(ctx context.Context, q querier, poolID, sub, username string) error {
	if _, err := q.ExecContext(ctx,
		`DELETE FROM identifiers WHERE pool_id = ? AND sub = ?`, poolID, sub); err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx,
		`DELETE FROM refresh_tokens WHERE pool_id = ? AND sub = ?`, poolID, sub); err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx,
		`DELETE FROM codes WHERE pool_id = ? AND username = ?`, poolID, username); err != nil {
		return err
	}
	_, err := q.ExecContext(ctx,
		`DELETE FROM users WHERE pool_id = ? AND sub = ?`, poolID, sub)
	return err
}

func (s *Store) GetUser(ctx context.Context, poolID, username string) (pool.User, error) {
	u, err := rowcodec.ScanUser(s.reader().QueryRowContext(ctx,
		`SELECT `+rowcodec.UserColumns+` FROM users WHERE pool_id = ? AND username = ?`, poolID, username))
	if err != nil {
		return pool.User{}, wrapErr(fmt.Sprintf("get user %q in pool %q", username, poolID), err)
	}
	return u, nil
}

// userColumnsU is rowcodec.UserColumns qualified by the alias u.
var userColumnsU = rowcodec.Qualify("u", rowcodec.UserColumns)

func (s *Store) GetUserByIdentifier(ctx context.Context, poolID, identifier string) (pool.User, error) {
	u, err := rowcodec.ScanUser(s.reader().QueryRowContext(ctx,
		`SELECT `+userColumnsU+` FROM identifiers i
		 JOIN users u ON u.pool_id = i.pool_id AND u.sub = i.sub
		 WHERE i.pool_id = ? AND i.identifier = ?`, poolID, identifier))
	if err != nil {
		return pool.User{}, wrapErr(fmt.Sprintf("get user by identifier %q in pool %q", identifier, poolID), err)
	}
	return u, nil
}

func (s *Store) GetUserBySub(ctx context.Context, poolID, sub string) (pool.User, error) {
	u, err := rowcodec.ScanUser(s.reader().QueryRowContext(ctx,
		`SELECT `+rowcodec.UserColumns+` FROM users WHERE pool_id = ? AND sub = ?`, poolID, sub))
	if err != nil {
		return pool.User{}, wrapErr(fmt.Sprintf("get user with sub %q in pool %q", sub, poolID), err)
	}
	return u, nil
}

// UpdateUser rewrites the user row and then its identifiers, in one
// IMMEDIATE transaction: the user's own rows are dropped first, so an
// identifier may move between its kinds (a new username that was its
// alias), and each identifier is then claimed afresh. A new username held
// by another user fails on the users table's UNIQUE key, an alias on the
// identifiers table's; either rolls everything back.
func (s *Store) UpdateUser(ctx context.Context, u pool.User) error {
	op := fmt.Sprintf("update user with sub %q in pool %q", u.Sub, u.PoolID)
	attrs, err := json.Marshal(u.Attributes)
	if err != nil {
		return fmt.Errorf("%s: encode attributes: %w", op, err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.in(tx).ExecContext(ctx,
			`UPDATE users SET username = ?, attributes = ?, status = ?, enabled = ?, updated_at = ?
			 WHERE pool_id = ? AND sub = ?`,
			u.Username, string(attrs), string(u.Status), u.Enabled, rowcodec.MS(u.UpdatedAt), u.PoolID, u.Sub)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		if _, err := s.in(tx).ExecContext(ctx,
			`DELETE FROM identifiers WHERE pool_id = ? AND sub = ?`, u.PoolID, u.Sub); err != nil {
			return err
		}
		return claimIdentifiers(ctx, s.in(tx), u)
	})
	if err != nil {
		return wrapErr(op, err)
	}
	return nil
}

func (s *Store) DeleteUser(ctx context.Context, poolID, sub string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var username string
		if err := s.in(tx).QueryRowContext(ctx,
			`SELECT username FROM users WHERE pool_id = ? AND sub = ?`, poolID, sub).Scan(&username); err != nil {
			return err
		}
		return deleteUser(ctx, s.in(tx), poolID, sub, username)
	})
	if err != nil {
		return wrapErr(fmt.Sprintf("delete user with sub %q in pool %q", sub, poolID), err)
	}
	return nil
}

func (s *Store) ListUsers(ctx context.Context, poolID string, limit int, after string) ([]pool.User, string, error) {
	op := fmt.Sprintf("list users of pool %q", poolID)
	if limit <= 0 {
		return nil, "", fmt.Errorf("%s: limit %d is not positive", op, limit)
	}
	// Keyset pagination on the (pool_id, username) index. Asking for one
	// row more than the page tells whether another page exists, so next is
	// "" on the last page even when it is exactly full.
	rows, err := s.reader().QueryContext(ctx,
		`SELECT `+rowcodec.UserColumns+` FROM users WHERE pool_id = ? AND username > ?
		 ORDER BY username LIMIT ?`, poolID, after, int64(limit)+1)
	if err != nil {
		return nil, "", wrapErr(op, err)
	}
	users, err := collect(rows, rowcodec.ScanUser)
	if err != nil {
		return nil, "", wrapErr(op, err)
	}
	if len(users) <= limit {
		return users, "", nil
	}
	users = users[:limit]
	return users, users[limit-1].Username, nil
}
