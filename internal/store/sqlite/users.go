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
	// concurrent sign-ups for one username exactly one sees it free.
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		replaced = false
		var oldSub, status string
		err := tx.QueryRowContext(ctx,
			`SELECT sub, status FROM users WHERE pool_id = ? AND username = ?`,
			u.PoolID, u.Username).Scan(&oldSub, &status)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case pool.UserStatus(status) == pool.StatusUnconfirmed:
			if err := deleteUser(ctx, tx, u.PoolID, oldSub, u.Username); err != nil {
				return err
			}
			replaced = true
		default:
			// CONFIRMED, and any status added later, keeps its username.
			return fmt.Errorf("username taken by a %s user: %w", status, pool.ErrConflict)
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO users (`+rowcodec.UserColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			u.PoolID, u.Sub, u.Username, string(attrs), string(u.Status), u.Enabled,
			rowcodec.MS(u.CreatedAt), rowcodec.MS(u.UpdatedAt))
		return err
	})
	if err != nil {
		return false, wrapErr(op, err)
	}
	return replaced, nil
}

// deleteUser removes a user with everything that hangs off it, inside the
// caller's transaction. Codes are keyed by username, tokens by sub.
func deleteUser(ctx context.Context, tx *sql.Tx, poolID, sub, username string) error {
	if _, err := tx.ExecContext(ctx,
		`DELETE FROM refresh_tokens WHERE pool_id = ? AND sub = ?`, poolID, sub); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx,
		`DELETE FROM codes WHERE pool_id = ? AND username = ?`, poolID, username); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx,
		`DELETE FROM users WHERE pool_id = ? AND sub = ?`, poolID, sub)
	return err
}

func (s *Store) GetUser(ctx context.Context, poolID, username string) (pool.User, error) {
	u, err := rowcodec.ScanUser(s.r.QueryRowContext(ctx,
		`SELECT `+rowcodec.UserColumns+` FROM users WHERE pool_id = ? AND username = ?`, poolID, username))
	if err != nil {
		return pool.User{}, wrapErr(fmt.Sprintf("get user %q in pool %q", username, poolID), err)
	}
	return u, nil
}

func (s *Store) GetUserBySub(ctx context.Context, poolID, sub string) (pool.User, error) {
	u, err := rowcodec.ScanUser(s.r.QueryRowContext(ctx,
		`SELECT `+rowcodec.UserColumns+` FROM users WHERE pool_id = ? AND sub = ?`, poolID, sub))
	if err != nil {
		return pool.User{}, wrapErr(fmt.Sprintf("get user with sub %q in pool %q", sub, poolID), err)
	}
	return u, nil
}

func (s *Store) UpdateUser(ctx context.Context, u pool.User) error {
	op := fmt.Sprintf("update user with sub %q in pool %q", u.Sub, u.PoolID)
	attrs, err := json.Marshal(u.Attributes)
	if err != nil {
		return fmt.Errorf("%s: encode attributes: %w", op, err)
	}
	res, err := s.w.ExecContext(ctx,
		`UPDATE users SET attributes = ?, status = ?, enabled = ?, updated_at = ?
		 WHERE pool_id = ? AND sub = ?`,
		string(attrs), string(u.Status), u.Enabled, rowcodec.MS(u.UpdatedAt), u.PoolID, u.Sub)
	if err == nil {
		err = mustAffect(res)
	}
	if err != nil {
		return wrapErr(op, err)
	}
	return nil
}

func (s *Store) DeleteUser(ctx context.Context, poolID, sub string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var username string
		if err := tx.QueryRowContext(ctx,
			`SELECT username FROM users WHERE pool_id = ? AND sub = ?`, poolID, sub).Scan(&username); err != nil {
			return err
		}
		return deleteUser(ctx, tx, poolID, sub, username)
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
	rows, err := s.r.QueryContext(ctx,
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
