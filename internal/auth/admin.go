package auth

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/latchkey/latchkey/internal/otp"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/token"
)

// regionPattern is what may stand before the underscore of a pool ID.
var regionPattern = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// CreatePool makes a pool with a fresh hashing secret and signing key.
func (e *Engine) CreatePool(ctx context.Context, name, region string, settings pool.Settings) (pool.Pool, error) {
	p, key, err := e.newPool(name, region, settings)
	if err != nil {
		return pool.Pool{}, err
	}
	if err := e.store.CreatePool(ctx, p); err != nil {
		return pool.Pool{}, fmt.Errorf("create pool: %w", err)
	}
	if err := e.store.AddSigningKey(ctx, key); err != nil {
		return pool.Pool{}, fmt.Errorf("store signing key: %w", err)
	}
	return p, nil
}

// newPool prepares a pool and its first signing key without storing them.
func (e *Engine) newPool(name, region string, settings pool.Settings) (pool.Pool, pool.SigningKey, error) {
	if !regionPattern.MatchString(region) {
		return pool.Pool{}, pool.SigningKey{}, fmt.Errorf("region %q must be 1-32 lowercase letters, digits or dashes", region)
	}
	if err := validateSettings(settings); err != nil {
		return pool.Pool{}, pool.SigningKey{}, err
	}
	suffix, err := e.randomText(9, alphanumeric)
	if err != nil {
		return pool.Pool{}, pool.SigningKey{}, err
	}
	hashKey, err := e.randomBytes(32)
	if err != nil {
		return pool.Pool{}, pool.SigningKey{}, err
	}
	now := e.now().UTC()
	p := pool.Pool{
		ID:        region + "_" + suffix,
		Name:      name,
		Region:    region,
		CreatedAt: now,
		Settings:  settings,
		HashKey:   hashKey,
	}
	key, err := token.NewSigningKey(e.rand, p.ID, now)
	if err != nil {
		return pool.Pool{}, pool.SigningKey{}, fmt.Errorf("create signing key: %w", err)
	}
	return p, key, nil
}

// Bootstrap creates the first pool and app client when the store has none
// and reports whether it did. Nodes starting at once on an empty store
// agree: exactly one creates, and the others see its pool.
func (e *Engine) Bootstrap(ctx context.Context, name, region string, settings pool.Settings) (pool.Pool, pool.Client, bool, error) {
	existing, err := e.store.ListPools(ctx)
	if err != nil {
		return pool.Pool{}, pool.Client{}, false, fmt.Errorf("list pools: %w", err)
	}
	if len(existing) > 0 {
		return pool.Pool{}, pool.Client{}, false, nil
	}
	p, key, err := e.newPool(name, region, settings)
	if err != nil {
		return pool.Pool{}, pool.Client{}, false, err
	}
	c, err := e.newClient(p.ID, "app", false)
	if err != nil {
		return pool.Pool{}, pool.Client{}, false, err
	}
	created, err := e.store.CreateFirstPool(ctx, p, c, key)
	if err != nil || !created {
		return pool.Pool{}, pool.Client{}, false, err
	}
	return p, c, true, nil
}

func validateSettings(s pool.Settings) error {
	var errs []error
	if len(s.UsernameAttributes) == 0 {
		errs = append(errs, errors.New("a pool needs at least one username attribute (phone_number, email)"))
	}
	for _, a := range s.UsernameAttributes {
		if a != pool.AttrPhoneNumber && a != pool.AttrEmail {
			errs = append(errs, fmt.Errorf("username attribute %q is not phone_number or email", a))
		}
	}
	if s.CodeLength < otp.MinDigits || s.CodeLength > otp.MaxDigits {
		errs = append(errs, fmt.Errorf("code length %d is outside %d..%d", s.CodeLength, otp.MinDigits, otp.MaxDigits))
	}
	if s.MaxAttempts < 1 || s.MaxAttempts > 10 {
		errs = append(errs, fmt.Errorf("attempts per code %d is outside 1..10", s.MaxAttempts))
	}
	// Cognito's AuthSessionValidity range: 3 to 15 minutes.
	if s.SessionTTL < 3*time.Minute || s.SessionTTL > 15*time.Minute {
		errs = append(errs, fmt.Errorf("session lifetime %s is outside 3m..15m", s.SessionTTL))
	}
	if s.SignUpCodeTTL <= 0 || s.SignUpCodeTTL > 24*time.Hour {
		errs = append(errs, fmt.Errorf("sign-up code lifetime %s is outside 0..24h", s.SignUpCodeTTL))
	}
	return errors.Join(errs...)
}

// CreateClient makes an app client in a pool, with a secret if asked.
func (e *Engine) CreateClient(ctx context.Context, poolID, name string, withSecret bool) (pool.Client, error) {
	c, err := e.newClient(poolID, name, withSecret)
	if err != nil {
		return pool.Client{}, err
	}
	if err := e.store.CreateClient(ctx, c); err != nil {
		return pool.Client{}, fmt.Errorf("create client: %w", err)
	}
	return c, nil
}

// newClient prepares an app client with Cognito's default token lifetimes.
func (e *Engine) newClient(poolID, name string, withSecret bool) (pool.Client, error) {
	id, err := e.randomText(26, lowerAlphanumeric)
	if err != nil {
		return pool.Client{}, err
	}
	c := pool.Client{
		ID:              id,
		PoolID:          poolID,
		Name:            name,
		AccessTokenTTL:  pool.DefaultAccessTokenTTL,
		IDTokenTTL:      pool.DefaultIDTokenTTL,
		RefreshTokenTTL: pool.DefaultRefreshTokenTTL,
		CreatedAt:       e.now().UTC(),
	}
	if withSecret {
		if c.Secret, err = e.randomText(51, lowerAlphanumeric); err != nil {
			return pool.Client{}, err
		}
	}
	return c, nil
}
