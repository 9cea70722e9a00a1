package auth

import (
	"context"
	"errors"
	"strconv"

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
	// For limits and the audit trail: the app client asking, and the
	// user's sub ("" for an unknown user) and locale.
	clientID string
	sub      string
	locale   string
}

func (c standaloneCode) context(poolID string) string {
	return c.purpose + "|" + poolID + "|" + c.username + "|" + c.dest
}

// issueCode makes, stores and sends a new code; the previous one for the
// same purpose stops working.
func (e *Engine) issueCode(ctx context.Context, p pool.Pool, c standaloneCode) (CodeDelivery, error) {
	o := outgoing{
		pool: p, clientID: c.clientID, channel: c.channel, dest: c.dest, typed: c.username, sub: c.sub,
		purpose: c.purpose, ttl: p.Settings.SignUpCodeTTL, locale: c.locale,
	}
	if err := e.admitSend(ctx, &o); err != nil {
		return CodeDelivery{}, err
	}
	h, err := hasher(p)
	if err != nil {
		return CodeDelivery{}, internal("issue code", err)
	}
	code, err := e.newCode(p, o.dest)
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
	o.code = code
	if err := e.dispatch(ctx, o); err != nil {
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
	guess, err := e.takeGuess(ctx, p, pool.Client{ID: c.clientID}, c.username, c.sub)
	if err != nil {
		return err
	}
	h, err := hasher(p)
	if err != nil {
		return internal("check code", err)
	}
	// The code's own identity, so a right answer forgives the wrong
	// answers given to this same code.
	codeID := c.purpose + "@" + strconv.FormatInt(live.CreatedAt.UnixMilli(), 10)
	if !h.Check(c.context(p.ID), answer, live.Hash) {
		e.settleWrong(ctx, guess, auditEntry{pool: p, typ: EventCodeWrong, username: c.username, sub: c.sub, clientID: c.clientID},
			codeID, live.Attempts, live.MaxAttempts)
		if live.Attempts >= live.MaxAttempts {
			if err := e.store.DeleteCode(ctx, p.ID, c.username, c.purpose); err != nil && !errors.Is(err, pool.ErrNotFound) {
				return internal("burn code", err)
			}
		}
		return codeMismatch()
	}
	// Exactly one of concurrent right answers gets past the delete.
	if err := e.store.DeleteCode(ctx, p.ID, c.username, c.purpose); err != nil {
		e.unjudged(ctx, guess)
		if errors.Is(err, pool.ErrNotFound) {
			return expired
		}
		return internal("use code", err)
	}
	e.settleRight(ctx, guess, codeID)
	return nil
}

// wrongAnswerForUnknown charges a code answer for an unknown user exactly
// as a wrong answer for a known one, so the two cannot be told apart by
// their effect on the guessing budget.
func (e *Engine) wrongAnswerForUnknown(ctx context.Context, p pool.Pool, clientID, account string) error {
	guess, err := e.takeGuess(ctx, p, pool.Client{ID: clientID}, account, "")
	if err != nil {
		return err
	}
	e.settleWrong(ctx, guess, auditEntry{pool: p, typ: EventCodeWrong, username: account, clientID: clientID}, "", 1, p.Settings.MaxAttempts)
	return codeMismatch()
}

func codeMismatch() error {
	return pool.Errorf(pool.KindCodeMismatch, "Invalid verification code provided, please try again.")
}

// issueDecoyCode answers a request for a code to an unknown user: the
// limits count it and a decoy message is queued, exactly as for a real
// code, and nothing is stored or sent.
func (e *Engine) issueDecoyCode(ctx context.Context, p pool.Pool, c standaloneCode) (CodeDelivery, error) {
	masked := mask(c.channel, c.dest)
	o := outgoing{
		pool: p, clientID: c.clientID, channel: c.channel, typed: c.username,
		purpose: c.purpose, ttl: p.Settings.SignUpCodeTTL,
	}
	if err := e.admitSend(ctx, &o); err != nil {
		return CodeDelivery{}, err
	}
	code, err := otp.Generate(e.rand, p.Settings.CodeLength)
	if err != nil {
		return CodeDelivery{}, internal("issue code", err)
	}
	o.code = code
	if err := e.dispatch(ctx, o); err != nil {
		return CodeDelivery{}, err
	}
	return codeDelivery(c.channel, masked), nil
}
