package auth

import (
	"context"
	"fmt"

	"github.com/latchkey/latchkey/internal/limit"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
)

// UpdatePool changes a pool's name and settings with change, validates the
// result and stores it. Running nodes see the new settings on their next
// request. When the pool's newest signing key is not of the pool's signing
// algorithm, a key of that algorithm is added (see ensureSigningKey).
func (a *Admin) UpdatePool(ctx context.Context, poolID string, change func(name *string, s *pool.Settings) error) (pool.Pool, error) {
	p, err := a.store.GetPool(ctx, poolID)
	if err != nil {
		return pool.Pool{}, fmt.Errorf("load pool %s: %w", poolID, err)
	}
	if p.Settings.Limits == nil {
		l := p.Settings.EffectiveLimits()
		p.Settings.Limits = &l
	}
	if err := change(&p.Name, &p.Settings); err != nil {
		return pool.Pool{}, err
	}
	if err := validateSettings(p.Settings); err != nil {
		return pool.Pool{}, err
	}
	if err := a.store.UpdatePoolSettings(ctx, p.ID, p.Name, p.Settings); err != nil {
		return pool.Pool{}, fmt.Errorf("update pool %s: %w", poolID, err)
	}
	if _, err := a.ensureSigningKey(ctx, p); err != nil {
		return pool.Pool{}, err
	}
	return p, nil
}

// AccountStatus reports the guessing budget of the account a username (as
// a client would type it) names; the account need not exist.
func (a *Admin) AccountStatus(ctx context.Context, poolID, username string) (string, limit.Status, error) {
	p, account, err := a.account(ctx, poolID, username)
	if err != nil {
		return "", limit.Status{}, err
	}
	st, err := limit.New(a.store, a.now).AccountStatus(ctx, p, account)
	return account, st, err
}

// Unlock resets an account's guessing budget and consecutive failures,
// and records who was unlocked in the audit trail.
func (a *Admin) Unlock(ctx context.Context, poolID, username string) (string, error) {
	p, account, err := a.account(ctx, poolID, username)
	if err != nil {
		return "", err
	}
	if err := limit.New(a.store, a.now).Unlock(ctx, p, account); err != nil {
		return "", err
	}
	now := a.now().UTC()
	_, err = a.store.AppendAudit(ctx, store.AuditEvent{
		PoolID: p.ID, At: now, Type: EventUnlocked, Username: account,
		Detail: map[string]string{"by": "admin"}, ExpiresAt: now.Add(auditRetention(p)),
	})
	if err != nil {
		return account, fmt.Errorf("audit unlock: %w", err)
	}
	return account, nil
}

func (a *Admin) account(ctx context.Context, poolID, username string) (pool.Pool, string, error) {
	p, err := a.store.GetPool(ctx, poolID)
	if err != nil {
		return pool.Pool{}, "", fmt.Errorf("load pool %s: %w", poolID, err)
	}
	id, err := parseUsername(p, username)
	if err != nil {
		return pool.Pool{}, "", err
	}
	return p, id.value, nil
}
