package auth

import (
	"context"
	"errors"
	"time"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/limit"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
)

// One transaction per step. A step of a flow (starting a sign-in,
// answering a challenge, confirming a sign-up) runs its store work as one
// unit of work: limit counts, the session, the outbox message, the audit
// events and the refresh token are committed together, so a step costs one
// commit (one fsync on SQLite) however many records it touches. Hooks,
// providers and JWT signing never run inside a unit: a step that calls a
// hook is unit → hook → unit.
//
// A unit is written as a function of an Engine bound to the transaction
// (bound): every helper the flows share (admitSend, dispatch, audit, the
// guessing budget) then writes through it without knowing. Units nest: a
// helper that is a unit of its own joins the step's unit when called in
// one, so the same code is one transaction alone and part of a larger one
// inside a step.

// unitOfWork is the state of one unit: its transaction and what to do once
// it commits.
type unitOfWork struct {
	tx store.Tx
	// base is the store the unit's transaction belongs to.
	base store.Store
	// queued counts outbox messages stored in the transaction: the queue
	// is told once it commits, so its workers never look for a message
	// before it is visible.
	queued int
	// afterCommit runs once the transaction commits, outside it: sends
	// made at once when the engine has no queue.
	afterCommit []func(context.Context) error
}

// inUnit runs fn as one unit of work and returns fn's error. A refusal
// (any error that is not internal: a limit, a wrong code, a spent session)
// commits what fn wrote before it, as the audit event saying so; an
// internal error rolls everything back. Called on a bound Engine, fn is
// part of the outer unit.
func (e *Engine) inUnit(ctx context.Context, fn func(w *Engine) error) error {
	if e.unit != nil {
		// Part of the outer unit: its error goes up the step, which
		// commits a refusal and rolls back an internal error as a whole,
		// so no savepoint is needed.
		return fn(e)
	}
	var (
		refusal error
		queued  int
		after   []func(context.Context) error
	)
	err := e.store.Update(ctx, func(tx store.Tx) error {
		// A fresh binding per try: a backend may run fn again.
		w := e.bound(tx)
		refusal = fn(w)
		if refusal != nil && pool.KindOf(refusal) == pool.KindInternal {
			return refusal
		}
		queued, after = w.unit.queued, w.unit.afterCommit
		return nil
	})
	if err != nil {
		return asInternal("unit of work", err)
	}
	if queued > 0 {
		e.queue.Enqueued(queued)
	}
	for _, f := range after {
		if err := f(ctx); err != nil && refusal == nil {
			refusal = err
		}
	}
	return refusal
}

// step runs fn, one step of a sign-in, as one unit of work.
func (e *Engine) step(ctx context.Context, fn func(w *Engine) (AuthResult, error)) (AuthResult, error) {
	var res AuthResult
	err := e.inUnit(ctx, func(w *Engine) error {
		var err error
		res, err = fn(w)
		return err
	})
	return res, err
}

// asInternal keeps an internal *pool.Error as it is (its message is already
// the generic one) and wraps anything else as internal.
func asInternal(op string, err error) error {
	var pe *pool.Error
	if errors.As(err, &pe) && pe.Kind == pool.KindInternal {
		return pe
	}
	return internal(op, err)
}

// bound returns a copy of e whose store, guard and queue work inside tx.
func (e *Engine) bound(tx store.Tx) *Engine {
	w := *e
	w.unit = &unitOfWork{tx: tx, base: e.store}
	w.store = boundStore{Tx: tx, base: e.store}
	w.guard = limit.New(w.store, e.now)
	return &w
}

// outside reports an internal error if e is bound to a unit of work: for
// the work that must never hold a transaction open (hooks, providers,
// signing), so a mistake in a flow shows in its tests rather than as a
// stalled database.
func (e *Engine) outside(what string) error {
	if e.unit != nil {
		return internal(what, errors.New("called inside a unit of work"))
	}
	return nil
}

// enqueue stores an outbox message for m. Bound to a unit, the message is
// stored in its transaction and the queue told after commit; alone, it is
// a unit of its own.
func (e *Engine) enqueue(ctx context.Context, p pool.Pool, m deliver.Message, decoy bool, expiresAt time.Time) error {
	row, err := e.queue.Prepare(p, m, decoy, expiresAt)
	if err != nil {
		return internal("queue code", err)
	}
	return e.inUnit(ctx, func(w *Engine) error {
		if err := w.unit.tx.EnqueueMessage(ctx, row); err != nil {
			return internal("queue code", err)
		}
		w.unit.queued++
		return nil
	})
}

// errPoolWriteInUnit refuses a pool write through a bound store: pools
// are written by administrators, never inside a flow's step, and on SQLite
// such a write would wait for the step's own transaction.
var errPoolWriteInUnit = errors.New("pools, clients and keys are not written inside a unit of work")

// boundStore is the store as a unit of work sees it: records through the
// transaction; pools, clients and keys, which steps only read, from the
// store itself.
type boundStore struct {
	store.Tx
	base store.Store
}

var _ store.Store = boundStore{}

func (b boundStore) GetPool(ctx context.Context, id string) (pool.Pool, error) {
	return b.base.GetPool(ctx, id)
}

func (b boundStore) ListPools(ctx context.Context) ([]pool.Pool, error) {
	return b.base.ListPools(ctx)
}

func (b boundStore) GetClient(ctx context.Context, id string) (pool.Client, error) {
	return b.base.GetClient(ctx, id)
}

func (b boundStore) ListClients(ctx context.Context, poolID string) ([]pool.Client, error) {
	return b.base.ListClients(ctx, poolID)
}

func (b boundStore) ListSigningKeys(ctx context.Context, poolID string) ([]pool.SigningKey, error) {
	return b.base.ListSigningKeys(ctx, poolID)
}

func (boundStore) CreatePool(context.Context, pool.Pool) error { return errPoolWriteInUnit }

func (boundStore) UpdatePoolSettings(context.Context, string, string, pool.Settings) error {
	return errPoolWriteInUnit
}

func (boundStore) CreateClient(context.Context, pool.Client) error { return errPoolWriteInUnit }

func (boundStore) CreateFirstPool(context.Context, pool.Pool, pool.Client, pool.SigningKey) (bool, error) {
	return false, errPoolWriteInUnit
}

func (boundStore) AddSigningKey(context.Context, pool.SigningKey) error { return errPoolWriteInUnit }

func (boundStore) DeleteExpired(context.Context, store.Expiring, time.Time, int) (int, error) {
	return 0, errPoolWriteInUnit
}

func (b boundStore) Check(ctx context.Context) error { return b.base.Check(ctx) }

func (boundStore) Close() error { return errPoolWriteInUnit }
