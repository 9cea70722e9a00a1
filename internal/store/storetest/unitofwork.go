package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
)

// testUnitOfWork pins Store.Update: one transaction per engine step, with
// each method still atomic on its own inside it.
func (s suite) testUnitOfWork(t *testing.T) {
	// writeAll makes one write of every kind a sign-in step makes.
	writeAll := func(t *testing.T, tx store.Tx, tag string) {
		t.Helper()
		ctx := t.Context()
		must(t, "CreateSession", tx.CreateSession(ctx, newSession("sess-"+tag, hash("token "+tag))))
		denied, _, err := tx.TakeTokens(ctx, []store.Limit{{Key: "uow/" + tag, Burst: 2, Every: time.Hour}}, t0)
		must(t, "TakeTokens", err)
		if denied != -1 {
			t.Fatalf("TakeTokens denied %d, want -1", denied)
		}
		must(t, "RecordFailure", tx.RecordFailure(ctx, store.Failure{PoolID: poolID, Account: tag, SessionID: "sess-" + tag, At: t0, ExpiresAt: t0.Add(time.Hour)}))
		_, err = tx.AppendAudit(ctx, store.AuditEvent{PoolID: poolID, At: t0, Type: "uow." + tag, ExpiresAt: t0.Add(time.Hour)})
		must(t, "AppendAudit", err)
		must(t, "EnqueueMessage", tx.EnqueueMessage(ctx, newOutboxMessage("msg-"+tag, t0)))
	}
	// present reports, through st, which of writeAll's writes are there.
	present := func(t *testing.T, st store.Store, tag string) map[string]bool {
		t.Helper()
		ctx := t.Context()
		got := map[string]bool{}
		_, err := st.GetSession(ctx, hash("token "+tag))
		got["session"] = err == nil
		n, err := st.LimitTokens(ctx, store.Limit{Key: "uow/" + tag, Burst: 2, Every: time.Hour}, t0)
		must(t, "LimitTokens", err)
		got["limit"] = n == 1
		forgiven, err := st.ForgiveFailures(ctx, poolID, tag, "sess-"+tag, "", t0)
		must(t, "ForgiveFailures", err)
		got["failure"] = forgiven == 1
		evs, err := st.ListAudit(ctx, store.AuditFilter{PoolID: poolID, Type: "uow." + tag})
		must(t, "ListAudit", err)
		got["audit"] = len(evs) == 1
		msgs, err := st.ClaimMessages(ctx, t0.Add(time.Second), time.Minute, 100)
		must(t, "ClaimMessages", err)
		got["outbox"] = false
		for _, m := range msgs {
			if m.ID == "msg-"+tag {
				got["outbox"] = true
			}
		}
		return got
	}
	all := func(v bool) map[string]bool {
		return map[string]bool{"session": v, "limit": v, "failure": v, "audit": v, "outbox": v}
	}

	t.Run("CommitKeepsEveryWrite", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		must(t, "Update", st.Update(t.Context(), func(tx store.Tx) error {
			writeAll(t, tx, "a")
			return nil
		}))
		wantEqual(t, "after commit", present(t, st, "a"), all(true))
	})

	t.Run("ErrorRollsBackEveryWrite", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		stop := errors.New("stop here")
		err := st.Update(t.Context(), func(tx store.Tx) error {
			writeAll(t, tx, "b")
			return stop
		})
		wantErr(t, "Update", err, stop)
		wantEqual(t, "after rollback", present(t, st, "b"), all(false))
	})

	t.Run("ReadsOwnWritesOthersDoNot", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		sess := newSession("sess-own", hash("token own"))
		must(t, "Update", st.Update(t.Context(), func(tx store.Tx) error {
			must(t, "CreateSession", tx.CreateSession(t.Context(), sess))
			if _, err := tx.GetSession(t.Context(), sess.TokenHash); err != nil {
				t.Errorf("GetSession inside the unit of work: %v, want its own write", err)
			}
			counted, err := tx.ConsumeAttempt(t.Context(), sess.TokenHash, t0)
			must(t, "ConsumeAttempt", err)
			if counted.Attempts != 1 {
				t.Errorf("ConsumeAttempt inside: attempts %d, want 1", counted.Attempts)
			}
			// Outside the transaction nothing is visible before commit.
			if _, err := st.GetSession(t.Context(), sess.TokenHash); !errors.Is(err, pool.ErrNotFound) {
				t.Errorf("GetSession outside before commit: %v, want ErrNotFound", err)
			}
			return nil
		}))
		got, err := st.GetSession(t.Context(), sess.TokenHash)
		must(t, "GetSession after commit", err)
		if got.Attempts != 1 {
			t.Errorf("attempts after commit = %d, want 1", got.Attempts)
		}
	})

	t.Run("RefusedMethodLeavesTheWorkUsable", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		first := newSession("sess-x", hash("token x"))
		must(t, "CreateSession", st.CreateSession(t.Context(), first))
		must(t, "Update", st.Update(t.Context(), func(tx store.Tx) error {
			// A conflict, a missing row and a spent session: each is
			// refused without ending the transaction.
			err := tx.CreateSession(t.Context(), newSession("sess-x", hash("token y")))
			wantErr(t, "CreateSession of a taken ID", err, pool.ErrConflict)
			err = tx.DeleteSession(t.Context(), hash("never issued"))
			wantErr(t, "DeleteSession of nothing", err, pool.ErrNotFound)
			err = tx.EnqueueMessage(t.Context(), newOutboxMessage("msg-dup", t0))
			must(t, "EnqueueMessage", err)
			err = tx.EnqueueMessage(t.Context(), newOutboxMessage("msg-dup", t0))
			wantErr(t, "EnqueueMessage twice", err, pool.ErrConflict)
			writeAll(t, tx, "c")
			return nil
		}))
		wantEqual(t, "after commit", present(t, st, "c"), all(true))
		if _, err := st.GetSession(t.Context(), hash("token y")); !errors.Is(err, pool.ErrNotFound) {
			t.Errorf("the refused session was stored: %v", err)
		}
	})

	t.Run("NestedFailureRollsBackOnlyItself", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		inner := errors.New("inner")
		must(t, "Update", st.Update(t.Context(), func(tx store.Tx) error {
			writeAll(t, tx, "outer")
			err := tx.Update(t.Context(), func(tx store.Tx) error {
				writeAll(t, tx, "inner")
				return inner
			})
			wantErr(t, "nested Update", err, inner)
			return nil
		}))
		wantEqual(t, "outer", present(t, st, "outer"), all(true))
		wantEqual(t, "inner", present(t, st, "inner"), all(false))
	})

	t.Run("ConcurrentUnitsCountExactly", func(t *testing.T) {
		// Fifty units of work each count an answer against a session of
		// three attempts, then take from a bucket of two, then write an
		// audit event: exactly three count, two of those take, and the
		// audit trail says so.
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		sess := newSession("sess-race", hash("token race"))
		must(t, "CreateSession", st.CreateSession(t.Context(), sess))
		bucket := store.Limit{Key: "uow/race", Burst: 2, Every: time.Hour}
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for i := range 50 {
			wg.Go(func() {
				err := st.Update(t.Context(), func(tx store.Tx) error {
					if _, err := tx.ConsumeAttempt(t.Context(), sess.TokenHash, t0); err != nil {
						if errors.Is(err, pool.ErrNoAttemptsLeft) {
							return nil
						}
						return err
					}
					typ := "race.counted"
					denied, _, err := tx.TakeTokens(t.Context(), []store.Limit{bucket}, t0)
					if err != nil {
						return err
					}
					if denied == -1 {
						typ = "race.took"
					}
					_, err = tx.AppendAudit(t.Context(), store.AuditEvent{PoolID: poolID, At: t0, Type: typ, Username: fmt.Sprint(i), ExpiresAt: t0.Add(time.Hour)})
					return err
				})
				if err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("Update: %v", err)
		}
		for typ, want := range map[string]int{"race.counted": 1, "race.took": 2} {
			evs, err := st.ListAudit(t.Context(), store.AuditFilter{PoolID: poolID, Type: typ})
			must(t, "ListAudit", err)
			if len(evs) != want {
				t.Errorf("%d %s events, want %d", len(evs), typ, want)
			}
		}
		got, err := st.GetSession(t.Context(), sess.TokenHash)
		must(t, "GetSession", err)
		if got.Attempts != 3 {
			t.Errorf("attempts = %d, want 3", got.Attempts)
		}
		n, err := st.LimitTokens(t.Context(), bucket, t0)
		must(t, "LimitTokens", err)
		if n != 0 {
			t.Errorf("bucket holds %d, want 0", n)
		}
	})
}

// testRefund pins store.Limit.Refund: checked and written like a take,
// with the token left in the bucket.
func (s suite) testRefund(t *testing.T) {
	t.Parallel()
	st := s.open(t)
	refund := store.Limit{Key: "refund/b", Burst: 1, Every: time.Hour, Refund: true}
	take := refund
	take.Refund = false
	for i := range 3 {
		if denied, _, err := st.TakeTokens(t.Context(), []store.Limit{refund}, t0); err != nil || denied != -1 {
			t.Fatalf("refunded take %d: denied %d, err %v; want -1, nil", i, denied, err)
		}
	}
	n, err := st.LimitTokens(t.Context(), take, t0)
	must(t, "LimitTokens", err)
	if n != 1 {
		t.Errorf("after refunded takes the bucket holds %d, want 1", n)
	}
	if denied, _, err := st.TakeTokens(t.Context(), []store.Limit{take}, t0); err != nil || denied != -1 {
		t.Fatalf("take: denied %d, err %v", denied, err)
	}
	// Empty now: a refunded take is refused like any other.
	if denied, _, err := st.TakeTokens(t.Context(), []store.Limit{refund}, t0); err != nil || denied != 0 {
		t.Errorf("refunded take of an empty bucket: denied %d, err %v; want 0, nil", denied, err)
	}
}
