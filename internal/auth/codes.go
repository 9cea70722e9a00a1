package auth

import (
	"context"
	"errors"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/otp"
	"github.com/latchkey/latchkey/internal/pool"
)

// standaloneCode is a one-time code that lives outside a sign-in session:
// a sign-up confirmation code, or the code that verifies a changed email
// or phone number. Only the newest code per (user, purpose) is live.
type standaloneCode struct {
	purpose  string
	username string
	// dest is the value the code proves the user holds; the hash is bound
	// to it, so a code stops working if the value changes.
	dest    string
	channel deliver.Channel
}

func (c standaloneCode) context(poolID string) string {
	return c.purpose + "|" + poolID + "|" + c.username + "|" + c.dest
}

// issueCode makes, stores and sends a new code; the previous one for the
// same purpose stops working.
func (e *Engine) issueCode(ctx context.Context, p pool.Pool, c standaloneCode) (CodeDelivery, error) {
	h, err := hasher(p)
	if err != nil {
		return CodeDelivery{}, internal("issue code", err)
	}
	code, err := otp.Generate(e.rand, p.Settings.CodeLength)
	if err != nil {
		return CodeDelivery{}, internal("issue code", err)
	}
	now := e.now().UTC()
	err = e.store.PutCode(ctx, pool.Code{
		PoolID:      p.ID,
		Username:    c.username,
		Purpose:     c.purpose,
		Hash:        h.Hash(c.context(p.ID), code),
		MaxAttempts: p.Settings.MaxAttempts,
		CreatedAt:   now,
		ExpiresAt:   now.Add(p.Settings.SignUpCodeTTL),
	})
	if err != nil {
		return CodeDelivery{}, internal("store code", err)
	}
	if err := e.sendCode(ctx, p, c.channel, c.dest, code, c.purpose, p.Settings.SignUpCodeTTL); err != nil {
		return CodeDelivery{}, err
	}
	return codeDelivery(c.channel, mask(c.channel, c.dest)), nil
}

// checkCode counts an answer against the live code, in the store and
// before judging it, and uses the code up when the answer is right. After
// the last allowed wrong answer the code is gone and a new one is needed.
func (e *Engine) checkCode(ctx context.Context, p pool.Pool, c standaloneCode, answer string) error {
	expired := pool.Errorf(pool.KindExpiredCode, "Invalid code provided, please request a code again.")
	live, err := e.store.ConsumeCodeAttempt(ctx, p.ID, c.username, c.purpose, e.now().UTC())
	switch {
	case errors.Is(err, pool.ErrNotFound), errors.Is(err, pool.ErrExpired), errors.Is(err, pool.ErrNoAttemptsLeft):
		return expired
	case err != nil:
		return internal("count code attempt", err)
	}
	h, err := hasher(p)
	if err != nil {
		return internal("check code", err)
	}
	if !h.Check(c.context(p.ID), answer, live.Hash) {
		if live.Attempts >= live.MaxAttempts {
			if err := e.store.DeleteCode(ctx, p.ID, c.username, c.purpose); err != nil && !errors.Is(err, pool.ErrNotFound) {
				return internal("burn code", err)
			}
		}
		return codeMismatch()
	}
	// Exactly one of concurrent right answers gets past the delete.
	if err := e.store.DeleteCode(ctx, p.ID, c.username, c.purpose); err != nil {
		if errors.Is(err, pool.ErrNotFound) {
			return expired
		}
		return internal("use code", err)
	}
	return nil
}

func codeMismatch() error {
	return pool.Errorf(pool.KindCodeMismatch, "Invalid verification code provided, please try again.")
}
