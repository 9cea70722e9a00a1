package postgres

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
	tag, err := s.q().Exec(ctx,
		`INSERT INTO refresh_tokens (`+rowcodec.RefreshTokenColumns+`) VALUES (`+placeholders(10)+`)
		 ON CONFLICT DO NOTHING`,
		t.ID, t.Hash, t.PoolID, t.ClientID, t.Sub, t.Username,
		rowcodec.MS(t.AuthTime), rowcodec.MS(t.CreatedAt), rowcodec.MS(t.ExpiresAt), rowcodec.NullMS(t.RevokedAt))
	if err != nil {
		return wrapErr(fmt.Sprintf("create refresh token %q", t.ID), err)
	}
	return insertedOne(fmt.Sprintf("create refresh token %q", t.ID), tag)
}

func (s *Store) GetRefreshToken(ctx context.Context, hash []byte) (pool.RefreshToken, error) {
	t, err := rowcodec.ScanRefreshToken(s.q().QueryRow(ctx,
		`SELECT `+rowcodec.RefreshTokenColumns+` FROM refresh_tokens WHERE hash = $1`, hash))
	if err != nil {
		return pool.RefreshToken{}, wrapErr("get refresh token by hash", err)
	}
	return t, nil
}

func (s *Store) GetRefreshTokenByID(ctx context.Context, id string) (pool.RefreshToken, error) {
	t, err := rowcodec.ScanRefreshToken(s.q().QueryRow(ctx,
		`SELECT `+rowcodec.RefreshTokenColumns+` FROM refresh_tokens WHERE id = $1`, id))
	if err != nil {
		return pool.RefreshToken{}, wrapErr(fmt.Sprintf("get refresh token %q", id), err)
	}
	return t, nil
}

func (s *Store) RevokeRefreshToken(ctx context.Context, id string, at time.Time) error {
	op := fmt.Sprintf("revoke refresh token %q", id)
	// revoked_at IS NULL keeps the first revocation time: a concurrent
	// revoker that waited for the row lock re-checks it and changes nothing.
	tag, err := s.q().Exec(ctx,
		`UPDATE refresh_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`,
		rowcodec.MS(at), id)
	if err != nil {
		return wrapErr(op, err)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	// Nothing changed: already revoked (fine) or no such token.
	var exists bool
	if err := s.q().QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE id = $1)`, id).Scan(&exists); err != nil {
		return wrapErr(op, err)
	}
	if !exists {
		return fmt.Errorf("%s: %w", op, pool.ErrNotFound)
	}
	return nil
}

func (s *Store) RevokeUserRefreshTokens(ctx context.Context, poolID, sub string, at time.Time) (int, error) {
	op := fmt.Sprintf("revoke refresh tokens of user with sub %q in pool %q", sub, poolID)
	// Live means neither revoked nor expired at the revocation time.
	tag, err := s.q().Exec(ctx,
		`UPDATE refresh_tokens SET revoked_at = $1
		 WHERE pool_id = $2 AND sub = $3 AND revoked_at IS NULL AND expires_at > $1`,
		rowcodec.MS(at), poolID, sub)
	if err != nil {
		return 0, wrapErr(op, err)
	}
	return int(tag.RowsAffected()), nil
}
