package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store/rowcodec"
)

// maxClaimTries bounds how often CreateUser finds the username's holder
// deleted between its INSERT and its SELECT. Each retry means a DeleteUser
// removed that holder meanwhile, so running out means pathological churn.
const maxClaimTries = 10

// CreateUser claims the username with INSERT ... ON CONFLICT DO NOTHING. If
// it is taken, SELECT ... FOR UPDATE locks the holder, waiting for any
// transaction still writing it, and reads it as last committed. An
// UNCONFIRMED holder is then replaced in place: the same row is updated to
// be u, so a concurrent claimant waiting for the lock gets the replacement
// (not a deleted row it would have to retry past) and decides against it.
// A claimant's INSERT waits the same way on the row's index entry. So of
// concurrent callers exactly one finds the name free, and the rest either
// conflict or replace their predecessors one at a time.
//
// The new user's identifiers are claimed last (see claimIdentifiers), after
// any replaced holder's were dropped. A username that is another user's
// alias is free in users but taken in identifiers, so the claim fails and
// the whole transaction, the users row included, rolls back. Every writer
// locks the users row (or its new username's index entry) before it touches
// identifiers, and claims identifiers in sorted order, so claimants do not
// deadlock.
func (s *Store) CreateUser(ctx context.Context, u pool.User) (replaced bool, err error) {
	op := fmt.Sprintf("create user %q in pool %q", u.Username, u.PoolID)
	attrs, err := json.Marshal(u.Attributes)
	if err != nil {
		return false, fmt.Errorf("%s: encode attributes: %w", op, err)
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		replaced = false
		for range maxClaimTries {
			// Only a username clash is "taken"; a sub clash still fails
			// with a unique violation, which is a conflict too.
			tag, err := tx.Exec(ctx,
				`INSERT INTO users (`+rowcodec.UserColumns+`) VALUES (`+placeholders(8)+`)
				 ON CONFLICT (pool_id, username) DO NOTHING`,
				u.PoolID, u.Sub, u.Username, string(attrs), string(u.Status), u.Enabled,
				rowcodec.MS(u.CreatedAt), rowcodec.MS(u.UpdatedAt))
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 1 {
				return claimIdentifiers(ctx, tx, u)
			}
			var oldSub, status string
			err = tx.QueryRow(ctx,
				`SELECT sub, status FROM users WHERE pool_id = $1 AND username = $2 FOR UPDATE`,
				u.PoolID, u.Username).Scan(&oldSub, &status)
			if errors.Is(err, pgx.ErrNoRows) {
				continue // deleted since the INSERT looked: claim it afresh
			}
			if err != nil {
				return err
			}
			if pool.UserStatus(status) != pool.StatusUnconfirmed {
				// CONFIRMED, and any status added later, keeps its username.
				return fmt.Errorf("username taken by a %s user: %w", status, pool.ErrConflict)
			}
			if err := deleteUserData(ctx, tx, u.PoolID, oldSub, u.Username); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx,
				`UPDATE users SET sub = $1, attributes = $2, status = $3, enabled = $4,
				   created_at = $5, updated_at = $6
				 WHERE pool_id = $7 AND sub = $8`,
				u.Sub, string(attrs), string(u.Status), u.Enabled, rowcodec.MS(u.CreatedAt), rowcodec.MS(u.UpdatedAt),
				u.PoolID, oldSub); err != nil {
				return err
			}
			replaced = true
			return claimIdentifiers(ctx, tx, u)
		}
		return fmt.Errorf("username changed hands %d times: %w", maxClaimTries, pool.ErrConflict)
	})
	if isRetryable(err) {
		// Still aborted after inTx's reruns: report the clash, not the
		// driver error.
		return false, fmt.Errorf("%s: %w (SQLSTATE %s)", op, pool.ErrConflict, sqlState(err))
	}
	if err != nil {
		return false, wrapErr(op, err)
	}
	return replaced, nil
}

// claimIdentifiers stores u's identifiers inside the caller's transaction,
// which holds u's users row and has removed any rows of u.Sub that u no
// longer owns. INSERT ... ON CONFLICT DO NOTHING waits for a transaction
// still writing the same identifier and then sees its outcome, so of
// concurrent claimants exactly one gets it; the rest fail with
// pool.ErrConflict, which rolls their transaction back.
func claimIdentifiers(ctx context.Context, tx pgx.Tx, u pool.User) error {
	for _, id := range rowcodec.Identifiers(u) {
		tag, err := tx.Exec(ctx,
			`INSERT INTO identifiers (`+rowcodec.IdentifierColumns+`) VALUES ($1, $2, $3, $4)
			 ON CONFLICT DO NOTHING`,
			u.PoolID, id.Value, u.Sub, id.Kind)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return rowcodec.IdentifierTaken(id)
		}
	}
	return nil
}

// deleteUserData removes a user's identifiers, refresh tokens and codes
// inside the caller's transaction, which holds the user row's lock. Codes
// are keyed by username; tokens and identifiers by sub.
func deleteUserData(ctx context.Context, tx pgx.Tx, poolID, sub, username string) error {
	if _, err := tx.Exec(ctx,
		`DELETE FROM identifiers WHERE pool_id = $1 AND sub = $2`, poolID, sub); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx,
		`DELETE FROM refresh_tokens WHERE pool_id = $1 AND sub = $2`, poolID, sub); err != nil {
		return err
	}
	_, err := tx.Exec(ctx,
		`DELETE FROM codes WHERE pool_id = $1 AND username = $2`, poolID, username)
	return err
}

func (s *Store) GetUser(ctx context.Context, poolID, username string) (pool.User, error) {
	u, err := rowcodec.ScanUser(s.q().QueryRow(ctx,
		`SELECT `+rowcodec.UserColumns+` FROM users WHERE pool_id = $1 AND username = $2`, poolID, username))
	if err != nil {
		return pool.User{}, wrapErr(fmt.Sprintf("get user %q in pool %q", username, poolID), err)
	}
	return u, nil
}

// userColumnsU is rowcodec.UserColumns qualified by the alias u.
var userColumnsU = rowcodec.Qualify("u", rowcodec.UserColumns)

// GetUserByIdentifier is one statement, so it reads the identifier and
// the user from one snapshot.
func (s *Store) GetUserByIdentifier(ctx context.Context, poolID, identifier string) (pool.User, error) {
	u, err := rowcodec.ScanUser(s.q().QueryRow(ctx,
		`SELECT `+userColumnsU+` FROM identifiers i
		 JOIN users u ON u.pool_id = i.pool_id AND u.sub = i.sub
		 WHERE i.pool_id = $1 AND i.identifier = $2`, poolID, identifier))
	if err != nil {
		return pool.User{}, wrapErr(fmt.Sprintf("get user by identifier %q in pool %q", identifier, poolID), err)
	}
	return u, nil
}

func (s *Store) GetUserBySub(ctx context.Context, poolID, sub string) (pool.User, error) {
	u, err := rowcodec.ScanUser(s.q().QueryRow(ctx,
		`SELECT `+rowcodec.UserColumns+` FROM users WHERE pool_id = $1 AND sub = $2`, poolID, sub))
	if err != nil {
		return pool.User{}, wrapErr(fmt.Sprintf("get user with sub %q in pool %q", sub, poolID), err)
	}
	return u, nil
}

// UpdateUser updates the users row first, which locks it (as CreateUser
// and DeleteUser lock it first) and, for a new username, claims that
// username's index entry, so a concurrent CreateUser of the same name
// waits for this transaction or this one for it, and the loser gets a
// unique violation: pool.ErrConflict. It then drops the user's identifier
// rows and claims the identifiers u owns afresh, so an identifier may move
// between the user's own kinds (a new username that was its alias). Any
// identifier held by another user fails the claim and rolls the whole
// transaction back.
func (s *Store) UpdateUser(ctx context.Context, u pool.User) error {
	op := fmt.Sprintf("update user with sub %q in pool %q", u.Sub, u.PoolID)
	attrs, err := json.Marshal(u.Attributes)
	if err != nil {
		return fmt.Errorf("%s: encode attributes: %w", op, err)
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx,
			`UPDATE users SET username = $1, attributes = $2, status = $3, enabled = $4, updated_at = $5
			 WHERE pool_id = $6 AND sub = $7`,
			u.Username, string(attrs), string(u.Status), u.Enabled, rowcodec.MS(u.UpdatedAt), u.PoolID, u.Sub)
		if err != nil {
			return err
		}
		if err := mustAffect(tag); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx,
			`DELETE FROM identifiers WHERE pool_id = $1 AND sub = $2`, u.PoolID, u.Sub); err != nil {
			return err
		}
		return claimIdentifiers(ctx, tx, u)
	})
	if isRetryable(err) {
		// Still aborted after inTx's reruns: only contention over the
		// user's identifiers gets here.
		return fmt.Errorf("%s: %w (SQLSTATE %s)", op, pool.ErrConflict, sqlState(err))
	}
	if err != nil {
		return wrapErr(op, err)
	}
	return nil
}

// DeleteUser deletes the user row first, which locks it as CreateUser and
// UpdateUser do before touching identifiers, tokens and codes, so they all
// take locks in the same order.
func (s *Store) DeleteUser(ctx context.Context, poolID, sub string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var username string
		if err := tx.QueryRow(ctx,
			`DELETE FROM users WHERE pool_id = $1 AND sub = $2 RETURNING username`,
			poolID, sub).Scan(&username); err != nil {
			return err
		}
		return deleteUserData(ctx, tx, poolID, sub, username)
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
	// Keyset pagination on the (pool_id, username) index, whose COLLATE "C"
	// makes > and ORDER BY compare bytes. Asking for one row more than the
	// page tells whether another page exists, so next is "" on the last
	// page even when it is exactly full.
	rows, err := s.q().Query(ctx,
		`SELECT `+rowcodec.UserColumns+` FROM users WHERE pool_id = $1 AND username > $2
		 ORDER BY username LIMIT $3`, poolID, after, int64(limit)+1)
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
