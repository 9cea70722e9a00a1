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
	// decoy is set for an unknown user: the code is made, stored and
	// checked like a real one, never sent and never accepted.
	decoy bool
}

func (c standaloneCode) context(poolID string) string {
	return c.purpose + "|" + poolID + "|" + c.username + "|" + c.dest
}

// issueCode makes, stores and sends a new code, as one unit of work; the
// previous one for the same purpose stops working. A decoy (for an unknown
// user) goes the same way, limits, stored code and queued message
// included: its code is never sent and never accepted.
func (e *Engine) issueCode(ctx context.Context, p pool.Pool, c standaloneCode) (CodeDelivery, error) {
	err := e.inUnit(ctx, func(w *Engine) error { return w.issueCodeIn(ctx, p, c) })
	if err != nil {
		return CodeDelivery{}, err
	}
	return codeDelivery(c.channel, mask(c.channel, c.dest)), nil
}

func (e *Engine) issueCodeIn(ctx context.Context, p pool.Pool, c standaloneCode) error {
	o := outgoing{
		pool: p, clientID: c.clientID, channel: c.channel, dest: c.dest, typed: c.username, sub: c.sub,
		purpose: c.purpose, ttl: p.Settings.SignUpCodeTTL, locale: c.locale,
	}
	if c.decoy {
		o.dest = ""
	}
	if err := e.admitSend(ctx, &o); err != nil {
		return err
	}
	code, err := e.newCode(p, o.dest)
	if err != nil {
		return internal("issue code", err)
	}
	if err := e.putCode(ctx, p, c, code); err != nil {
		return err
	}
	o.code = code
	return e.dispatch(ctx, o)
}

// putCode stores the hash of code as the live code of c.
func (e *Engine) putCode(ctx context.Context, p pool.Pool, c standaloneCode, code string) error {
	h, err := hasher(p)
	if err != nil {
		return internal("issue code", err)
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
		return internal("store code", err)
	}
	return nil
}

// checkCode counts an answer against the live code, in the store and
// before judging it, and uses the code up when the answer is right: count,
// judge and settle in one unit of work. After the last allowed wrong
// answer the code is spent (kept, refusing every answer, until it expires)
// and a new one is needed.
//
// A decoy is checked the same way against a code of its own: one issued
// by ResendConfirmationCode, or one made here for an unknown username that
// has none, so its answers change exactly as a real account's do (wrong,
// wrong, wrong, then expired), and it is never right.
func (e *Engine) checkCode(ctx context.Context, p pool.Pool, c standaloneCode, answer string) error {
	return e.inUnit(ctx, func(w *Engine) error { return w.checkCodeIn(ctx, p, c, answer) })
}

func (e *Engine) checkCodeIn(ctx context.Context, p pool.Pool, c standaloneCode, answer string) error {
	expired := pool.Errorf(pool.KindExpiredCode, "Invalid code provided, please request a code again.")
	if c.purpose == pool.PurposeSignUp {
		// An account always has a sign-up code to answer, known or not: an
		// unknown username that never had one, or an account whose code
		// was swept, gets one now that nobody knows. Known and unknown
		// usernames make the same writes from the first answer on.
		if err := e.ensureCode(ctx, p, c); err != nil {
			return err
		}
	}
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
	// A decoy's code is checked like a real one, and never right.
	right := h.Check(c.context(p.ID), answer, live.Hash) && !c.decoy
	// Exactly one of concurrent right answers gets past the delete.
	useCode := func() error {
		if err := e.store.DeleteCode(ctx, p.ID, c.username, c.purpose); err != nil {
			if errors.Is(err, pool.ErrNotFound) {
				return expired
			}
			return internal("use code", err)
		}
		return nil
	}
	wrong := auditEntry{pool: p, typ: EventCodeWrong, username: c.username, sub: c.sub, clientID: c.clientID}
	if err := e.settle(ctx, guess, codeID, right, useCode, wrong, live.Attempts, live.MaxAttempts); err != nil {
		return err
	}
	if !right {
		return codeMismatch()
	}
	return nil
}

// ensureCode stores a code nobody knows for c unless c has a code.
func (e *Engine) ensureCode(ctx context.Context, p pool.Pool, c standaloneCode) error {
	code, err := otp.Generate(e.rand, p.Settings.CodeLength)
	if err != nil {
		return internal("check code", err)
	}
	h, err := hasher(p)
	if err != nil {
		return internal("check code", err)
	}
	now := e.now().UTC()
	_, err = e.store.PutCodeIfAbsent(ctx, pool.Code{
		PoolID: p.ID, Username: c.username, Purpose: c.purpose, Hash: h.Hash(c.context(p.ID), code),
		MaxAttempts: p.Settings.MaxAttempts, CreatedAt: now, ExpiresAt: now.Add(p.Settings.SignUpCodeTTL),
	})
	if err != nil {
		return internal("store code", err)
	}
	return nil
}

func codeMismatch() error {
	return pool.Errorf(pool.KindCodeMismatch, "Invalid verification code provided, please try again.")
}
