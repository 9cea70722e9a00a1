package auth

import (
	"context"
	"errors"
	"strconv"

	"github.com/latchkey/latchkey/internal/limit"
	"github.com/latchkey/latchkey/internal/pool"
)

// takeGuess counts an answer against the account's guessing budget before
// it is judged; a locked account gets the Locked error and nothing is
// judged. account is what the client typed, so unknown usernames are
// counted and locked exactly like known ones.
func (e *Engine) takeGuess(ctx context.Context, p pool.Pool, c pool.Client, account, sub string) (*limit.Guess, error) {
	guess, err := e.guard.TakeGuess(ctx, p, account, callerOf(ctx).IP)
	if err == nil {
		return guess, nil
	}
	if pool.KindOf(err) == pool.KindInternal {
		return nil, internal("count answer", err)
	}
	e.audit(ctx, auditEntry{pool: p, typ: EventLocked, username: account, sub: sub, clientID: c.ID,
		detail: map[string]string{"at": "answer"}})
	return nil, err
}

// unjudged gives back an answer that was never compared with a code.
func (e *Engine) unjudged(ctx context.Context, g *limit.Guess) {
	if err := g.In(e.guard).Unjudged(ctx); err != nil {
		// Keeping the token is the safe side: the budget only shrinks.
		e.log.ErrorContext(ctx, "return unjudged answer", "error", err)
	}
}

// settleRight forgives the user's own wrong answers after a right one.
func (e *Engine) settleRight(ctx context.Context, g *limit.Guess, sessionID string) {
	if _, err := g.In(e.guard).Right(ctx, sessionID); err != nil {
		e.log.ErrorContext(ctx, "settle right answer", "error", err)
	}
}

// settleWrong records a wrong answer so that a later right answer from the
// same session or address can forgive it, and audits it as a.typ.
func (e *Engine) settleWrong(ctx context.Context, g *limit.Guess, a auditEntry, sessionID string, attempts, maxAttempts int) {
	if err := g.In(e.guard).Wrong(ctx, sessionID); err != nil {
		e.log.ErrorContext(ctx, "record wrong answer", "pool", a.pool.ID, "error", err)
	}
	a.detail = map[string]string{"reason": "wrong_code", "attempt": strconv.Itoa(attempts), "max_attempts": strconv.Itoa(maxAttempts)}
	if attempts >= maxAttempts {
		a.detail["reason"] = "attempts_exhausted"
	}
	e.audit(ctx, a)
}

// settle ends an answer that was counted (guess) and judged: the one
// settlement of sign-in answers, sign-up confirmations and attribute
// verifications. A right answer first uses its code up with use (of
// concurrent right answers exactly one succeeds; the others get use's
// error and their answer back) and then gives the account's budget back
// with the wrong answers it forgives; a wrong one is recorded, so a later
// right answer from the same session or address can forgive it, and
// audited as wrong.
func (e *Engine) settle(ctx context.Context, guess *limit.Guess, codeID string, right bool, use func() error, wrong auditEntry, attempts, maxAttempts int) error {
	if !right {
		e.settleWrong(ctx, guess, wrong, codeID, attempts, maxAttempts)
		return nil
	}
	if use != nil {
		if err := use(); err != nil {
			e.unjudged(ctx, guess)
			return err
		}
	}
	e.settleRight(ctx, guess, codeID)
	return nil
}

// countAnswer counts an answer to session s before it is judged: first
// against the session's attempts (so a flood of answers to one session
// costs the account no more than those), then against the account's
// guessing budget. It returns the session as counted and the guess to
// settle once the answer is judged.
func (e *Engine) countAnswer(ctx context.Context, p pool.Pool, c pool.Client, s pool.AuthSession) (pool.AuthSession, *limit.Guess, error) {
	counted, err := e.store.ConsumeAttempt(ctx, s.TokenHash, e.now().UTC())
	switch {
	case errors.Is(err, pool.ErrNotFound):
		return pool.AuthSession{}, nil, invalidSession()
	case errors.Is(err, pool.ErrExpired):
		return pool.AuthSession{}, nil, expiredSession()
	case errors.Is(err, pool.ErrNoAttemptsLeft):
		return pool.AuthSession{}, nil, incorrect()
	case err != nil:
		return pool.AuthSession{}, nil, internal("count attempt", err)
	}
	guess, err := e.takeGuess(ctx, p, c, s.Username, s.Sub)
	if err != nil {
		return pool.AuthSession{}, nil, err
	}
	return counted, guess, nil
}
