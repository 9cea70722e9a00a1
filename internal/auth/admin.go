package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/otp"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// Admin creates pools and app clients. The engine uses one to bootstrap;
// the CLI uses one on its own, without a server.
type Admin struct {
	entropy
	store store.Store
	now   func() time.Time
}

// NewAdmin returns an Admin over st; rand and now as in Config.
func NewAdmin(st store.Store, rand io.Reader, now func() time.Time) *Admin {
	return &Admin{entropy: entropy{rand: rand}, store: st, now: now}
}

// regionPattern is what may stand before the underscore of a pool ID.
var regionPattern = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// CreatePool makes a pool with a fresh hashing secret and signing key.
func (a *Admin) CreatePool(ctx context.Context, name, region string, settings pool.Settings) (pool.Pool, error) {
	p, key, err := a.newPool(name, region, settings)
	if err != nil {
		return pool.Pool{}, err
	}
	if err := a.store.CreatePool(ctx, p); err != nil {
		return pool.Pool{}, fmt.Errorf("create pool: %w", err)
	}
	if err := a.store.AddSigningKey(ctx, key); err != nil {
		return pool.Pool{}, fmt.Errorf("store signing key: %w", err)
	}
	return p, nil
}

// newPool prepares a pool and its first signing key without storing them.
func (a *Admin) newPool(name, region string, settings pool.Settings) (pool.Pool, pool.SigningKey, error) {
	if !regionPattern.MatchString(region) {
		return pool.Pool{}, pool.SigningKey{}, fmt.Errorf("region %q must be 1-32 lowercase letters, digits or dashes", region)
	}
	if settings.Limits == nil {
		// Store the limits the pool starts with, so that later changes to
		// the defaults never loosen an existing pool silently.
		l := pool.DefaultLimits()
		settings.Limits = &l
	}
	if len(settings.Limits.SMSCountries) == 0 {
		// SMS goes only where the pool was set up for, never the world.
		country := "US"
		if settings.DefaultPhoneRegion != "" {
			country = strings.ToUpper(settings.DefaultPhoneRegion)
		}
		l := *settings.Limits
		l.SMSCountries = []string{country}
		settings.Limits = &l
	}
	if err := validateSettings(settings); err != nil {
		return pool.Pool{}, pool.SigningKey{}, err
	}
	suffix, err := a.randomText(9, alphanumeric)
	if err != nil {
		return pool.Pool{}, pool.SigningKey{}, err
	}
	hashKey, err := a.randomBytes(32)
	if err != nil {
		return pool.Pool{}, pool.SigningKey{}, err
	}
	now := a.now().UTC()
	p := pool.Pool{
		ID:        region + "_" + suffix,
		Name:      name,
		Region:    region,
		CreatedAt: now,
		Settings:  settings,
		HashKey:   hashKey,
	}
	key, err := token.NewSigningKey(a.rand, p.ID, settings.EffectiveSigningAlgorithm(), now)
	if err != nil {
		return pool.Pool{}, pool.SigningKey{}, fmt.Errorf("create signing key: %w", err)
	}
	return p, key, nil
}

// ensureSigningKey adds a key of the pool's signing algorithm when the
// pool's newest unretired key has another one, and returns it (nil when
// the keys already fit). Older keys stay as they are, unretired, so the
// tokens they signed keep verifying until they expire; the new key, as the
// newest, signs once it has been published for KeyActivationDelay. Being
// decided by the keys, not by a change of setting, it also repairs a pool
// whose earlier update stored the setting but not the key.
func (a *Admin) ensureSigningKey(ctx context.Context, p pool.Pool) (*pool.SigningKey, error) {
	keys, err := a.store.ListSigningKeys(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("load signing keys of pool %s: %w", p.ID, err)
	}
	alg := p.Settings.EffectiveSigningAlgorithm()
	var newest *pool.SigningKey
	for i, k := range keys {
		if k.RetiredAt == nil && (newest == nil || k.CreatedAt.After(newest.CreatedAt)) {
			newest = &keys[i]
		}
	}
	if newest != nil && newest.Algorithm == alg {
		return nil, nil
	}
	// Strictly the newest key: stores keep milliseconds, and a clock that
	// stands still (or is behind the node that made the last key) must not
	// make the new key tie with an old one.
	now := a.now().UTC().Truncate(time.Millisecond)
	for _, k := range keys {
		if !now.After(k.CreatedAt) {
			now = k.CreatedAt.Truncate(time.Millisecond).Add(time.Millisecond)
		}
	}
	key, err := token.NewSigningKey(a.rand, p.ID, alg, now)
	if err != nil {
		return nil, fmt.Errorf("create signing key: %w", err)
	}
	if err := a.store.AddSigningKey(ctx, key); err != nil {
		return nil, fmt.Errorf("store signing key: %w", err)
	}
	return &key, nil
}

// Bootstrap creates the first pool and app client when the store has none
// and reports whether it did. Nodes starting at once on an empty store
// agree: exactly one creates, and the others see its pool.
func (a *Admin) Bootstrap(ctx context.Context, name, region string, settings pool.Settings) (pool.Pool, pool.Client, bool, error) {
	existing, err := a.store.ListPools(ctx)
	if err != nil {
		return pool.Pool{}, pool.Client{}, false, fmt.Errorf("list pools: %w", err)
	}
	if len(existing) > 0 {
		return pool.Pool{}, pool.Client{}, false, nil
	}
	p, key, err := a.newPool(name, region, settings)
	if err != nil {
		return pool.Pool{}, pool.Client{}, false, err
	}
	c, err := a.newClient(p.ID, ClientOptions{Name: "app"})
	if err != nil {
		return pool.Pool{}, pool.Client{}, false, err
	}
	created, err := a.store.CreateFirstPool(ctx, p, c, key)
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
	if s.Limits != nil {
		if err := s.Limits.Validate(); err != nil {
			errs = append(errs, err)
		}
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
	if err := pool.ValidateSigningAlgorithm(s.SigningAlgorithm); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ClientOptions describe a new app client; zero lifetimes take Cognito's
// defaults (1 hour for ID and access tokens, 30 days for refresh tokens).
type ClientOptions struct {
	Name           string
	GenerateSecret bool
	// AccessTokenTTL and IDTokenTTL may be 5s to 24h. Cognito's minimum is
	// 5 minutes; shorter lifetimes are allowed so tests can watch tokens
	// expire.
	AccessTokenTTL  time.Duration
	IDTokenTTL      time.Duration
	RefreshTokenTTL time.Duration
}

// Limits on client token lifetimes.
const (
	minTokenTTL        = 5 * time.Second
	maxTokenTTL        = 24 * time.Hour
	maxRefreshTokenTTL = 10 * 365 * 24 * time.Hour
)

// Validate fills default lifetimes and checks the options.
func (o *ClientOptions) Validate() error {
	if o.AccessTokenTTL == 0 {
		o.AccessTokenTTL = pool.DefaultAccessTokenTTL
	}
	if o.IDTokenTTL == 0 {
		o.IDTokenTTL = pool.DefaultIDTokenTTL
	}
	if o.RefreshTokenTTL == 0 {
		o.RefreshTokenTTL = pool.DefaultRefreshTokenTTL
	}
	var errs []error
	for _, ttl := range []struct {
		name string
		d    time.Duration
	}{{"access token", o.AccessTokenTTL}, {"ID token", o.IDTokenTTL}} {
		if ttl.d < minTokenTTL || ttl.d > maxTokenTTL {
			errs = append(errs, fmt.Errorf("%s lifetime %s is outside %s..%s", ttl.name, ttl.d, minTokenTTL, maxTokenTTL))
		}
	}
	if o.RefreshTokenTTL <= o.AccessTokenTTL || o.RefreshTokenTTL > maxRefreshTokenTTL {
		errs = append(errs, fmt.Errorf("refresh token lifetime %s must be longer than the access token's (%s) and at most 10 years", o.RefreshTokenTTL, o.AccessTokenTTL))
	}
	return errors.Join(errs...)
}

// CreateClient makes an app client in a pool.
func (a *Admin) CreateClient(ctx context.Context, poolID string, opts ClientOptions) (pool.Client, error) {
	c, err := a.newClient(poolID, opts)
	if err != nil {
		return pool.Client{}, err
	}
	if err := a.store.CreateClient(ctx, c); err != nil {
		return pool.Client{}, fmt.Errorf("create client: %w", err)
	}
	return c, nil
}

// newClient prepares an app client without storing it.
func (a *Admin) newClient(poolID string, opts ClientOptions) (pool.Client, error) {
	if err := opts.Validate(); err != nil {
		return pool.Client{}, err
	}
	id, err := a.randomText(26, lowerAlphanumeric)
	if err != nil {
		return pool.Client{}, err
	}
	c := pool.Client{
		ID:              id,
		PoolID:          poolID,
		Name:            opts.Name,
		AccessTokenTTL:  opts.AccessTokenTTL,
		IDTokenTTL:      opts.IDTokenTTL,
		RefreshTokenTTL: opts.RefreshTokenTTL,
		CreatedAt:       a.now().UTC(),
	}
	if opts.GenerateSecret {
		if c.Secret, err = a.randomText(51, lowerAlphanumeric); err != nil {
			return pool.Client{}, err
		}
	}
	return c, nil
}

// CreatePool makes a pool; see Admin.CreatePool.
func (e *Engine) CreatePool(ctx context.Context, name, region string, settings pool.Settings) (pool.Pool, error) {
	return e.admin.CreatePool(ctx, name, region, settings)
}

// CreateClient makes an app client; see Admin.CreateClient.
func (e *Engine) CreateClient(ctx context.Context, poolID string, opts ClientOptions) (pool.Client, error) {
	return e.admin.CreateClient(ctx, poolID, opts)
}

// Bootstrap creates the first pool and client; see Admin.Bootstrap.
func (e *Engine) Bootstrap(ctx context.Context, name, region string, settings pool.Settings) (pool.Pool, pool.Client, bool, error) {
	return e.admin.Bootstrap(ctx, name, region, settings)
}
