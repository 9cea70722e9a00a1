package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/token"
)

// Tokens is Cognito's AuthenticationResultType.
type Tokens struct {
	AccessToken string
	IDToken     string
	// RefreshToken is empty when tokens were refreshed (Cognito does not
	// rotate refresh tokens by default).
	RefreshToken string
	// ExpiresIn is the access token's lifetime in seconds.
	ExpiresIn int
	TokenType string
}

// adminScope is the scope Cognito gives tokens from its user-pool API; the
// self-service operations (GetUser, DeleteUser…) require it.
const adminScope = "aws.cognito.signin.user.admin"

// issueTokens starts a new token family: a refresh token and the ID and
// access tokens minted from it. It runs the pool's PreTokenGeneration hook
// (TokenGeneration_Authentication) without client metadata; see
// issueTokensWith.
func (e *Engine) issueTokens(ctx context.Context, p pool.Pool, c pool.Client, u pool.User, authTime time.Time) (*Tokens, error) {
	return e.issueTokensWith(ctx, p, c, u, authTime, nil)
}

// issueTokensWith is issueTokens with the ClientMetadata of the call that
// completes the sign-in (RespondToAuthChallenge), which Cognito passes to
// PreTokenGeneration. The hook runs before anything is stored: when it
// fails, no token family is started and the caller gets its error.
func (e *Engine) issueTokensWith(ctx context.Context, p pool.Pool, c pool.Client, u pool.User, authTime time.Time, clientMetadata map[string]string) (*Tokens, error) {
	o, err := e.preTokenGeneration(ctx, p, c, u, hook.SourceTokenGenerationAuthentication, clientMetadata)
	if err != nil {
		return nil, err
	}
	rt, secret, err := e.newRefreshToken(ctx, p, c, u, authTime)
	if err != nil {
		return nil, err
	}
	t, err := e.mint(ctx, p, c, u, rt, o)
	if err != nil {
		return nil, err
	}
	t.RefreshToken = secret
	return t, nil
}

// newRefreshToken stores a new refresh token, the start of a token family,
// and returns it with its secret (what the client gets; only its hash is
// stored).
func (e *Engine) newRefreshToken(ctx context.Context, p pool.Pool, c pool.Client, u pool.User, authTime time.Time) (pool.RefreshToken, string, error) {
	secret, err := e.newOpaque(32)
	if err != nil {
		return pool.RefreshToken{}, "", internal("new refresh token", err)
	}
	rid, err := e.newUUID()
	if err != nil {
		return pool.RefreshToken{}, "", internal("new refresh token", err)
	}
	now := e.now().UTC()
	rt := pool.RefreshToken{
		ID:        rid,
		Hash:      hashRefreshToken(secret),
		PoolID:    p.ID,
		ClientID:  c.ID,
		Sub:       u.Sub,
		Username:  u.Username,
		AuthTime:  authTime,
		CreatedAt: now,
		ExpiresAt: now.Add(c.RefreshTokenTTL),
	}
	if err := e.store.CreateRefreshToken(ctx, rt); err != nil {
		return pool.RefreshToken{}, "", internal("store refresh token", err)
	}
	return rt, secret, nil
}

// mint signs an ID and an access token with Cognito's claims, changed as
// a PreTokenGeneration hook answered (o; nil for none).
func (e *Engine) mint(ctx context.Context, p pool.Pool, c pool.Client, u pool.User, rt pool.RefreshToken, o *tokenOverrides) (*Tokens, error) {
	if err := e.outside("mint tokens"); err != nil {
		return nil, err
	}
	iss, err := e.Issuer(ctx, p.ID)
	if err != nil {
		return nil, internal("load issuer", err)
	}
	now := e.now().UTC()
	eventID, err := e.newUUID()
	if err != nil {
		return nil, internal("mint", err)
	}
	idJTI, err := e.newUUID()
	if err != nil {
		return nil, internal("mint", err)
	}
	accessJTI, err := e.newUUID()
	if err != nil {
		return nil, internal("mint", err)
	}
	common := func(ttl time.Duration, use, jti string) token.Claims {
		return token.Claims{
			"sub":        u.Sub,
			"iss":        iss.Issuer(),
			"token_use":  use,
			"auth_time":  rt.AuthTime.Unix(),
			"iat":        now.Unix(),
			"exp":        now.Add(ttl).Unix(),
			"jti":        jti,
			"origin_jti": rt.ID,
			"event_id":   eventID,
		}
	}
	idc := common(c.IDTokenTTL, "id", idJTI)
	idc["aud"] = c.ID
	idc["cognito:username"] = u.Username
	for name, value := range u.Attributes {
		switch name {
		case pool.AttrSub:
		case pool.AttrEmailVerified, pool.AttrPhoneNumberVerified:
			idc[name] = value == "true"
		default:
			idc[name] = value
		}
	}
	ac := common(c.AccessTokenTTL, "access", accessJTI)
	ac["client_id"] = c.ID
	ac["scope"] = adminScope
	ac["username"] = u.Username
	e.applyTokenOverrides(ctx, p, o, idc, ac)

	idToken, err := iss.Sign(idc)
	if err != nil {
		return nil, internal("sign id token", err)
	}
	accessToken, err := iss.Sign(ac)
	if err != nil {
		return nil, internal("sign access token", err)
	}
	return &Tokens{
		AccessToken: accessToken,
		IDToken:     idToken,
		ExpiresIn:   int(c.AccessTokenTTL / time.Second),
		TokenType:   "Bearer",
	}, nil
}

func hashRefreshToken(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// RefreshInput is Cognito's GetTokensFromRefreshTokenRequest.
type RefreshInput struct {
	ClientID     string
	RefreshToken string
	ClientSecret string
	// ClientMetadata is passed to the pool's PreTokenGeneration hook.
	ClientMetadata map[string]string
}

// GetTokensFromRefreshToken mints new ID and access tokens from a refresh
// token (the only way current Amplify refreshes).
func (e *Engine) GetTokensFromRefreshToken(ctx context.Context, in RefreshInput) (*Tokens, error) {
	return e.refreshWith(ctx, in.ClientID, in.RefreshToken, in.ClientMetadata, func(c pool.Client, _ string) error {
		return checkClientSecret(c, in.ClientSecret)
	})
}

// refresh checks a refresh token and mints from it. checkSecret enforces
// the client's secret in the form the calling operation takes.
func (e *Engine) refresh(ctx context.Context, clientID, secret string, checkSecret func(pool.Client, string) error) (*Tokens, error) {
	return e.refreshWith(ctx, clientID, secret, nil, checkSecret)
}

// refreshWith is refresh with the caller's ClientMetadata, which the
// pool's PreTokenGeneration hook receives (TokenGeneration_RefreshTokens).
func (e *Engine) refreshWith(ctx context.Context, clientID, secret string, clientMetadata map[string]string, checkSecret func(pool.Client, string) error) (*Tokens, error) {
	c, p, err := e.clientAndPool(ctx, clientID)
	if err != nil {
		return nil, err
	}
	rt, err := e.store.GetRefreshToken(ctx, hashRefreshToken(secret))
	if errors.Is(err, pool.ErrNotFound) || (err == nil && rt.ClientID != c.ID) {
		return nil, pool.Errorf(pool.KindNotAuthorized, "Invalid Refresh Token.")
	}
	if err != nil {
		return nil, internal("load refresh token", err)
	}
	if err := checkSecret(c, rt.Username); err != nil {
		return nil, err
	}
	if rt.Revoked() {
		return nil, pool.Errorf(pool.KindNotAuthorized, "Refresh Token has been revoked")
	}
	if !e.now().Before(rt.ExpiresAt) {
		return nil, pool.Errorf(pool.KindNotAuthorized, "Refresh Token has expired")
	}
	u, err := e.store.GetUserBySub(ctx, p.ID, rt.Sub)
	if errors.Is(err, pool.ErrNotFound) {
		return nil, pool.Errorf(pool.KindNotAuthorized, "Refresh Token has been revoked")
	}
	if err != nil {
		return nil, internal("load user", err)
	}
	if !u.Enabled {
		return nil, pool.Errorf(pool.KindNotAuthorized, "User is disabled.")
	}
	o, err := e.preTokenGeneration(ctx, p, c, u, hook.SourceTokenGenerationRefreshTokens, clientMetadata)
	if err != nil {
		return nil, err
	}
	return e.mint(ctx, p, c, u, rt, o)
}

// accessTokenHolder is the user an access token speaks for, and the token
// family it belongs to.
type accessTokenHolder struct {
	pool   pool.Pool
	user   pool.User
	origin pool.RefreshToken
}

// authenticate checks an access token for the self-service operations:
// signature, issuer, expiry, token_use and scope, then that its family has
// not been revoked (GlobalSignOut, RevokeToken, DeleteUser).
func (e *Engine) authenticate(ctx context.Context, accessToken string) (accessTokenHolder, error) {
	invalid := pool.Errorf(pool.KindNotAuthorized, "Invalid Access Token")
	poolID, ok := e.poolOfToken(accessToken)
	if !ok {
		return accessTokenHolder{}, invalid
	}
	iss, err := e.Issuer(ctx, poolID)
	if errors.Is(err, pool.ErrNotFound) {
		return accessTokenHolder{}, invalid
	}
	if err != nil {
		return accessTokenHolder{}, internal("load issuer", err)
	}
	claims, err := iss.Verify(accessToken, e.now(), "access")
	if errors.Is(err, token.ErrExpired) {
		return accessTokenHolder{}, pool.Errorf(pool.KindNotAuthorized, "Access Token has expired")
	}
	if err != nil {
		return accessTokenHolder{}, invalid
	}
	if !strings.Contains(" "+claims.String("scope")+" ", " "+adminScope+" ") {
		return accessTokenHolder{}, pool.Errorf(pool.KindNotAuthorized, "Access Token does not have required scopes")
	}
	revoked := pool.Errorf(pool.KindNotAuthorized, "Access Token has been revoked")
	rt, err := e.store.GetRefreshTokenByID(ctx, claims.String("origin_jti"))
	if errors.Is(err, pool.ErrNotFound) {
		return accessTokenHolder{}, revoked
	}
	if err != nil {
		return accessTokenHolder{}, internal("load token family", err)
	}
	if rt.Revoked() || rt.PoolID != poolID || rt.Sub != claims.String("sub") {
		return accessTokenHolder{}, revoked
	}
	p, err := e.store.GetPool(ctx, poolID)
	if err != nil {
		return accessTokenHolder{}, internal("load pool", err)
	}
	u, err := e.store.GetUserBySub(ctx, poolID, rt.Sub)
	if errors.Is(err, pool.ErrNotFound) {
		return accessTokenHolder{}, pool.Errorf(pool.KindUserNotFound, "User does not exist.")
	}
	if err != nil {
		return accessTokenHolder{}, internal("load user", err)
	}
	if !u.Enabled {
		return accessTokenHolder{}, pool.Errorf(pool.KindNotAuthorized, "User is disabled.")
	}
	return accessTokenHolder{pool: p, user: u, origin: rt}, nil
}

// poolOfToken reads the pool ID from an unverified token's "iss", only to
// choose which keys verify it. Nothing else is trusted before Verify.
func (e *Engine) poolOfToken(tok string) (string, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var claims struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", false
	}
	poolID, ok := strings.CutPrefix(claims.Iss, e.publicURL+"/")
	if !ok || poolID == "" || strings.Contains(poolID, "/") {
		return "", false
	}
	return poolID, true
}
