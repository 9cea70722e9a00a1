package auth

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/internal/pool"
)

// GetUser returns the user an access token speaks for.
func (e *Engine) GetUser(ctx context.Context, accessToken string) (pool.User, error) {
	h, err := e.authenticate(ctx, accessToken)
	if err != nil {
		return pool.User{}, err
	}
	return h.user, nil
}

// GlobalSignOut revokes every refresh token of the user, and with them every
// access token minted from those (for this API; signatures stay valid until
// they expire, as with Cognito).
func (e *Engine) GlobalSignOut(ctx context.Context, accessToken string) error {
	h, err := e.authenticate(ctx, accessToken)
	if err != nil {
		return err
	}
	n, err := e.store.RevokeUserRefreshTokens(ctx, h.pool.ID, h.user.Sub, e.now().UTC())
	if err != nil {
		return internal("revoke tokens", err)
	}
	e.audit(ctx, auditEntry{pool: h.pool, typ: EventSignOut, username: h.user.Username, sub: h.user.Sub,
		clientID: h.origin.ClientID, detail: map[string]string{"global": "true", "revoked": strconv.Itoa(n)}})
	return nil
}

// DeleteUser deletes the user an access token speaks for, with all its
// tokens.
func (e *Engine) DeleteUser(ctx context.Context, accessToken string) error {
	h, err := e.authenticate(ctx, accessToken)
	if err != nil {
		return err
	}
	if err := e.store.DeleteUser(ctx, h.pool.ID, h.user.Sub); err != nil && !errors.Is(err, pool.ErrNotFound) {
		return internal("delete user", err)
	}
	e.audit(ctx, auditEntry{pool: h.pool, typ: EventUserDeleted, username: h.user.Username, sub: h.user.Sub, clientID: h.origin.ClientID})
	return nil
}

// RevokeTokenInput is Cognito's RevokeTokenRequest.
type RevokeTokenInput struct {
	ClientID     string
	Token        string
	ClientSecret string
}

// RevokeToken revokes a refresh token and the access tokens minted from it.
// As RFC 7009 asks, a token that is unknown or already revoked is not an
// error, so the answer reveals nothing about it.
func (e *Engine) RevokeToken(ctx context.Context, in RevokeTokenInput) error {
	c, p, err := e.clientAndPool(ctx, in.ClientID)
	if err != nil {
		return err
	}
	if err := checkClientSecret(c, in.ClientSecret); err != nil {
		return pool.Errorf(pool.KindUnauthorized, "Unable to verify client secret for client %s", c.ID)
	}
	if strings.Count(in.Token, ".") == 2 {
		return pool.Errorf(pool.KindUnsupportedTokenType, "Only refresh tokens can be revoked; this looks like an ID or access token.")
	}
	rt, err := e.store.GetRefreshToken(ctx, hashRefreshToken(in.Token))
	if errors.Is(err, pool.ErrNotFound) || (err == nil && rt.ClientID != c.ID) {
		return nil
	}
	if err != nil {
		return internal("load refresh token", err)
	}
	if err := e.store.RevokeRefreshToken(ctx, rt.ID, e.now().UTC()); err != nil {
		return internal("revoke refresh token", err)
	}
	e.audit(ctx, auditEntry{pool: p, typ: EventTokenRevoked, username: rt.Username, sub: rt.Sub, clientID: c.ID,
		detail: map[string]string{"token_id": rt.ID}})
	return nil
}
