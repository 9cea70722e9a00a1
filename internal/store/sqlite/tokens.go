package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store/rowcodec"
)

// Refresh token IDs appear in error context (they are the public origin_jti
// of access tokens); hashes never do.

func (s *Store) CreateRefreshToken(ctx context.Context, t pool.RefreshToken) error {
	_, err := s.writer().ExecContext(ctx,
		`INSERT INTO refresh_tokens (`+rowcodec.RefreshTokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Hash, t.PoolID, t.ClientID, t.Sub, t.Username,
		rowcodec.MS(t.AuthTime), rowcodec.MS(t.CreatedAt), rowcodec.MS(t.ExpiresAt), rowcodec.NullMS(t.RevokedAt))
	if err != nil {
		return wrapErr(fmt.Sprintf("create refresh token %q", t.ID), err)
	}
	return nil
}

func (s *Store) GetRefreshToken(ctx context.Context, hash []byte) (pool.RefreshToken, error) {
	t, err := rowcodec.ScanRefreshToken(s.reader().QueryRowContext(ctx,
		`SELECT `+rowcodec.RefreshTokenColumns+` FROM refresh_tokens WHERE hash = ?`, hash))
	if err != nil {
		return pool.RefreshToken{}, wrapErr("get refresh token by hash", err)
	}
	return t, nil
}

func (s *Store) GetRefreshTokenByID(ctx context.Context, id string) (pool.RefreshToken, error) {
	t, err := rowcodec.ScanRefreshToken(s.reader().QueryRowContext(ctx,
		`SELECT `+rowcodec.RefreshTokenColumns+` FROM refresh_tokens WHERE id = ?`, id))
	if err != nil {
		return pool.RefreshToken{}, wrapErr(fmt.Sprintf("get refresh token %q", id), err)
	}
	return t, nil
}

func (s *Store) RevokeRefreshToken(ctx context.Context, id string, at time.Time) error {
	op := fmt.Sprintf("revoke refresh token %q", id)
	// revoked_at IS NULL keeps the first revocation time.
	res, err := s.writer().ExecContext(ctx,
		`UPDATE refresh_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`,
		rowcodec.MS(at), id)
	if err != nil {
		return wrapErr(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(op, err)
	}
	if n > 0 {
		return nil
	}
	// Nothing changed: already revoked (fine) or no such token.
	var exists bool
	if err := s.reader().QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE id = ?)`, id).Scan(&exists); err != nil {
		return wrapErr(op, err)
	}
	if !exists {
		return fmt.Errorf("%s: %w", op, pool.ErrNotFound)
	}
	return nil
}

func (s *Store) RevokeUserRefreshTokens(ctx context.Context, poolID, sub string, at time.Time) (int, error) {
	// Live means neither revoked nor expired at the revocation time.
	return s.execCount(ctx, fmt.Sprintf("revoke refresh tokens of user with sub %q in pool %q", sub, poolID),
		`UPDATE refresh_tokens SET revoked_at = ?
		 WHERE pool_id = ? AND sub = ? AND revoked_at IS NULL AND expires_at > ?`,
		rowcodec.MS(at), poolID, sub, rowcodec.MS(at))
}
