package storetest

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// take calls TakeTokens and fails t on an error.
func take(t *testing.T, st store.Store, now time.Time, limits ...store.Limit) (denied int, retryAt time.Time) {
	t.Helper()
	denied, retryAt, err := st.TakeTokens(t.Context(), limits, now)
	must(t, "TakeTokens", err)
	return denied, retryAt
}

// wantTake fails t unless TakeTokens at now takes from every limit.
func wantTake(t *testing.T, st store.Store, now time.Time, limits ...store.Limit) {
	t.Helper()
	if denied, retryAt := take(t, st, now, limits...); denied != -1 {
		t.Fatalf("TakeTokens at t0%+v: denied limit %d until %v, want allowed", now.Sub(t0), denied, retryAt)
	}
}

// wantDeny fails t unless TakeTokens at now is denied at index denied
// with the given retry time.
func wantDeny(t *testing.T, st store.Store, now time.Time, denied int, retryAt time.Time, limits ...store.Limit) {
	t.Helper()
	gotDenied, gotRetry := take(t, st, now, limits...)
	if gotDenied != denied || !gotRetry.Equal(retryAt) {
		t.Fatalf("TakeTokens at t0%+v = (%d, t0%+v), want (%d, t0%+v)",
			now.Sub(t0), gotDenied, gotRetry.Sub(t0), denied, retryAt.Sub(t0))
	}
	wantEqual(t, "retryAt", gotRetry, stored(retryAt))
}

// wantTokens fails t unless the bucket holds want tokens at now.
func wantTokens(t *testing.T, st store.Store, l store.Limit, now time.Time, want int) {
	t.Helper()
	got, err := st.LimitTokens(t.Context(), l, now)
	must(t, "LimitTokens "+l.Key, err)
	if got != want {
		t.Errorf("LimitTokens %s at t0%+v = %d, want %d", l.Key, now.Sub(t0), got, want)
	}
}

func (s suite) testLimits(t *testing.T) {
	t.Run("BurstThenDeny", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		l := store.Limit{Key: "send/pool/alice", Burst: 3, Every: time.Minute}
		for range l.Burst {
			wantTake(t, st, t0, l)
		}
		// Three taken at t0: the first refills at t0+1m.
		wantDeny(t, st, t0, 0, t0.Add(time.Minute), l)
		wantDeny(t, st, t0.Add(time.Minute-time.Millisecond), 0, t0.Add(time.Minute), l)
		wantTake(t, st, t0.Add(time.Minute), l)
		wantDeny(t, st, t0.Add(time.Minute), 0, t0.Add(2*time.Minute), l)
		// Denials take nothing: the next token comes on time.
		wantTake(t, st, t0.Add(2*time.Minute), l)
		wantTokens(t, st, l, t0.Add(2*time.Minute), 0)
		wantTokens(t, st, l, t0.Add(5*time.Minute), 3)
	})

	t.Run("LimitTokens", func(t *testing.T) {
		t.Parallel()
		l := store.Limit{Key: "k", Burst: 5, Every: 10 * time.Second}
		tests := []struct {
			name  string
			taken int           // taken at t0
			at    time.Duration // after t0
			want  int
		}{
			{"untouched", 0, 0, 5},
			{"two taken", 2, 0, 3},
			{"all taken", 5, 0, 0},
			{"just before a refill", 5, 10*time.Second - time.Millisecond, 0},
			{"one refilled", 5, 10 * time.Second, 1},
			{"two and a half refilled", 5, 25 * time.Second, 2},
			{"refilled exactly", 5, 50 * time.Second, 5},
			{"long after", 5, 24 * time.Hour, 5},
			{"partly taken, long after", 3, time.Hour, 5},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				st := s.open(t)
				for range tc.taken {
					wantTake(t, st, t0, l)
				}
				wantTokens(t, st, l, t0.Add(tc.at), tc.want)
			})
		}
	})

	t.Run("ResetLimit", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		l := store.Limit{Key: "guess/pool/alice", Burst: 2, Every: time.Hour}
		wantTake(t, st, t0, l)
		wantTake(t, st, t0, l)
		wantDeny(t, st, t0, 0, t0.Add(time.Hour), l)
		must(t, "ResetLimit", st.ResetLimit(t.Context(), l.Key))
		wantTokens(t, st, l, t0, 2)
		wantTake(t, st, t0, l)
		wantTake(t, st, t0, l)
		must(t, "ResetLimit again", st.ResetLimit(t.Context(), l.Key))
		must(t, "ResetLimit of a full bucket", st.ResetLimit(t.Context(), l.Key))
		must(t, "ResetLimit of an unknown key", st.ResetLimit(t.Context(), "never/used"))
	})

	t.Run("ReturnTokens", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		ctx := t.Context()
		l := store.Limit{Key: "guess/pool/alice", Burst: 5, Every: time.Minute}
		for range 3 {
			wantTake(t, st, t0, l)
		}
		must(t, "ReturnTokens 1", st.ReturnTokens(ctx, l, 1, t0))
		wantTokens(t, st, l, t0, 3)
		// Never above Burst, however many come back.
		must(t, "ReturnTokens 10", st.ReturnTokens(ctx, l, 10, t0))
		wantTokens(t, st, l, t0, 5)
		for range 5 {
			wantTake(t, st, t0, l)
		}
		wantDeny(t, st, t0, 0, t0.Add(time.Minute), l)
		// A huge count does not overflow.
		must(t, "ReturnTokens MaxInt", st.ReturnTokens(ctx, l, math.MaxInt, t0))
		wantTokens(t, st, l, t0, 5)
		// A full or missing bucket stays full.
		must(t, "ReturnTokens to a missing bucket", st.ReturnTokens(ctx, store.Limit{Key: "new", Burst: 2, Every: time.Minute}, 3, t0))
		wantTokens(t, st, store.Limit{Key: "new", Burst: 2, Every: time.Minute}, t0, 2)
		must(t, "ReturnTokens 0", st.ReturnTokens(ctx, l, 0, t0))
		wantTokens(t, st, l, t0, 5)
		if err := st.ReturnTokens(ctx, l, -1, t0); err == nil {
			t.Error("ReturnTokens accepted a negative count")
		}
		// A bucket that refilled meanwhile is not overfilled either.
		wantTake(t, st, t0, l)
		must(t, "ReturnTokens later", st.ReturnTokens(ctx, l, 1, t0.Add(time.Hour)))
		wantTokens(t, st, l, t0.Add(time.Hour), 5)
	})

	t.Run("AllOrNothing", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		a := store.Limit{Key: "a", Burst: 3, Every: time.Minute}
		b := store.Limit{Key: "b", Burst: 1, Every: 10 * time.Minute}
		c := store.Limit{Key: "c", Burst: 2, Every: time.Second}
		wantTake(t, st, t0, b)
		wantDeny(t, st, t0, 1, t0.Add(10*time.Minute), a, b)
		wantDeny(t, st, t0, 0, t0.Add(10*time.Minute), b, a)
		wantDeny(t, st, t0, 2, t0.Add(10*time.Minute), a, c, b)
		// The first denied limit is reported, not the latest.
		must(t, "ResetLimit c", st.ResetLimit(t.Context(), "c"))
		wantTake(t, st, t0, c)
		wantTake(t, st, t0, c)
		wantDeny(t, st, t0, 1, t0.Add(time.Second), a, c, b)
		// Nothing was taken from the buckets that had tokens.
		wantTokens(t, st, a, t0, 3)
		wantTokens(t, st, c, t0, 0)
		wantTokens(t, st, b, t0, 0)
		wantTake(t, st, t0.Add(10*time.Minute), a, c, b)
		wantTokens(t, st, a, t0.Add(10*time.Minute), 2)
		wantTokens(t, st, b, t0.Add(10*time.Minute), 0)
		wantTokens(t, st, c, t0.Add(10*time.Minute), 1)
	})

	t.Run("DuplicateKeys", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		// A key named twice is taken from twice.
		l := store.Limit{Key: "k", Burst: 3, Every: time.Minute}
		wantTake(t, st, t0, l, l)
		wantTokens(t, st, l, t0, 1)
		wantDeny(t, st, t0, 1, t0.Add(time.Minute), l, l)
		wantTokens(t, st, l, t0, 1)
		wantTake(t, st, t0.Add(time.Minute), l, l)
		wantTokens(t, st, l, t0.Add(time.Minute), 0)
	})

	t.Run("Validation", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		ctx := t.Context()
		denied, retryAt, err := st.TakeTokens(ctx, nil, t0)
		if denied != -1 || !retryAt.IsZero() || err != nil {
			t.Errorf("TakeTokens(nil) = (%d, %v, %v), want (-1, zero, nil)", denied, retryAt, err)
		}
		denied, _, err = st.TakeTokens(ctx, []store.Limit{}, t0)
		if denied != -1 || err != nil {
			t.Errorf("TakeTokens(empty) = (%d, %v), want (-1, nil)", denied, err)
		}
		good := store.Limit{Key: "good", Burst: 1, Every: time.Minute}
		tests := []struct {
			name string
			l    store.Limit
		}{
			{"zero burst", store.Limit{Key: "k", Burst: 0, Every: time.Minute}},
			{"negative burst", store.Limit{Key: "k", Burst: -1, Every: time.Minute}},
			{"zero every", store.Limit{Key: "k", Burst: 1, Every: 0}},
			{"negative every", store.Limit{Key: "k", Burst: 1, Every: -time.Second}},
			{"empty key", store.Limit{Key: "", Burst: 1, Every: time.Minute}},
		}
		for _, tc := range tests {
			if _, _, err := st.TakeTokens(ctx, []store.Limit{tc.l}, t0); err == nil {
				t.Errorf("TakeTokens with %s: no error", tc.name)
			}
			// An invalid limit anywhere takes nothing from the valid ones.
			if _, _, err := st.TakeTokens(ctx, []store.Limit{good, tc.l}, t0); err == nil {
				t.Errorf("TakeTokens with %s second: no error", tc.name)
			}
			if _, err := st.LimitTokens(ctx, tc.l, t0); err == nil {
				t.Errorf("LimitTokens with %s: no error", tc.name)
			}
			if err := st.ReturnTokens(ctx, tc.l, 1, t0); err == nil {
				t.Errorf("ReturnTokens with %s: no error", tc.name)
			}
		}
		wantTokens(t, st, good, t0, 1)
	})

	t.Run("ExtremeIntervals", func(t *testing.T) {
		t.Parallel()
		const year = 365 * 24 * time.Hour
		tests := []struct {
			name string
			l    store.Limit
		}{
			{"one millisecond", store.Limit{Key: "ms", Burst: 1, Every: time.Millisecond}},
			{"one millisecond, larger burst", store.Limit{Key: "ms", Burst: 50, Every: time.Millisecond}},
			{"a year", store.Limit{Key: "year", Burst: 2, Every: year}},
			// Burst*Every does not fit in an int64 of milliseconds.
			{"a year, huge burst", store.Limit{Key: "year", Burst: math.MaxInt32, Every: year}},
			{"longest duration", store.Limit{Key: "max", Burst: 3, Every: time.Duration(math.MaxInt64).Truncate(time.Millisecond)}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				st := s.open(t)
				l := tc.l
				wantTokens(t, st, l, t0, l.Burst)
				n := min(l.Burst, 50)
				for range n {
					wantTake(t, st, t0, l)
				}
				wantTokens(t, st, l, t0, l.Burst-n)
				if n < l.Burst {
					return // too many to drain
				}
				every := l.Every
				wantDeny(t, st, t0, 0, t0.Add(every), l)
				if every > 100*year {
					return // 2*every would overflow a Duration
				}
				wantDeny(t, st, t0.Add(every-time.Millisecond), 0, t0.Add(every), l)
				wantTake(t, st, t0.Add(every), l)
				wantDeny(t, st, t0.Add(every), 0, t0.Add(2*every), l)
				wantTokens(t, st, l, t0.Add(time.Duration(l.Burst+1)*every), l.Burst)
			})
		}
	})

	t.Run("ConcurrentTakes", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		const n = 50
		l := store.Limit{Key: "shared", Burst: 5, Every: time.Hour}
		denials := make([]int, n)
		errs := concurrently(n, func(i int) error {
			var err error
			denials[i], _, err = st.TakeTokens(t.Context(), []store.Limit{l}, t0)
			return err
		})
		wantAllowed(t, denials, errs, l.Burst)
		wantTokens(t, st, l, t0, 0)
	})

	t.Run("ConcurrentTwoLimitTakes", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		const n = 50
		a := store.Limit{Key: "pair/a", Burst: 5, Every: time.Hour}
		b := store.Limit{Key: "pair/b", Burst: 8, Every: time.Hour}
		denials := make([]int, n)
		errs := concurrently(n, func(i int) error {
			// Both orders, so a backend that locks in caller order
			// would deadlock.
			limits := []store.Limit{a, b}
			if i%2 == 1 {
				limits = []store.Limit{b, a}
			}
			var err error
			denials[i], _, err = st.TakeTokens(t.Context(), limits, t0)
			return err
		})
		wantAllowed(t, denials, errs, a.Burst)
		wantTokens(t, st, a, t0, 0)
		wantTokens(t, st, b, t0, b.Burst-a.Burst)
	})

	t.Run("ConcurrentTakesAndResets", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		const n = 50
		// Another key's bucket being reset and swept meanwhile must not
		// disturb the count.
		l := store.Limit{Key: "shared", Burst: 5, Every: time.Hour}
		other := store.Limit{Key: "other", Burst: 1, Every: time.Millisecond}
		denials := make([]int, n)
		errs := concurrently(n, func(i int) error {
			var err error
			switch i % 5 {
			case 0:
				denials[i] = -2
				return st.ResetLimit(t.Context(), other.Key)
			case 1:
				denials[i] = -2
				_, err = st.DeleteExpired(t.Context(), store.ExpiringLimits, t0.Add(time.Millisecond), 10)
				return err
			}
			denials[i], _, err = st.TakeTokens(t.Context(), []store.Limit{other, l}, t0)
			return err
		})
		for i, err := range errs {
			must(t, fmt.Sprintf("caller %d", i), err)
		}
		allowed := 0
		for _, d := range denials {
			if d == -1 {
				allowed++
			}
		}
		// Every allowed call took exactly one of l's tokens.
		wantTokens(t, st, l, t0, l.Burst-allowed)
	})

	t.Run("LongRun", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		// Taking as often as allowed over a year takes exactly the
		// documented bound, Burst + d/Every.
		l := store.Limit{Key: "long", Burst: 10, Every: 12 * time.Hour}
		const d = 365 * 24 * time.Hour
		end := t0.Add(d)
		taken := 0
		for now := t0; !now.After(end); {
			denied, retryAt := take(t, st, now, l)
			if denied == -1 {
				taken++
				continue
			}
			if !retryAt.After(now) {
				t.Fatalf("at t0%+v: retryAt t0%+v is not later", now.Sub(t0), retryAt.Sub(t0))
			}
			now = retryAt
		}
		if want := l.Burst + int(d/l.Every); taken != want {
			t.Errorf("took %d tokens in %v, want %d", taken, d, want)
		}
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		ctx := t.Context()
		drained := store.Limit{Key: "drained", Burst: 2, Every: time.Minute} // full at t0+2m
		once := store.Limit{Key: "once", Burst: 2, Every: time.Minute}       // full at t0+1m
		wantTake(t, st, t0, drained)
		wantTake(t, st, t0, drained)
		wantTake(t, st, t0, once)
		n, err := st.DeleteExpired(ctx, store.ExpiringLimits, t0.Add(time.Minute-time.Millisecond), 10)
		must(t, "DeleteExpired", err)
		wantEqual(t, "swept before any bucket is full", n, 0)
		n, err = st.DeleteExpired(ctx, store.ExpiringLimits, t0.Add(time.Minute), 10)
		must(t, "DeleteExpired", err)
		wantEqual(t, "swept when once is full", n, 1)
		// The live bucket is kept; the swept one reads as the full bucket
		// it was.
		wantTokens(t, st, drained, t0.Add(time.Minute), 1)
		wantTokens(t, st, once, t0.Add(time.Minute), 2)
		wantDeny(t, st, t0.Add(time.Minute), 2, t0.Add(2*time.Minute), once, drained, drained)
		n, err = st.DeleteExpired(ctx, store.ExpiringLimits, t0.Add(2*time.Minute), 10)
		must(t, "DeleteExpired", err)
		wantEqual(t, "swept when drained is full", n, 1)
		wantTokens(t, st, drained, t0.Add(2*time.Minute), 2)
	})
}

// wantAllowed checks the outcome of concurrent TakeTokens calls: no errors,
// exactly want allowed, the rest denied at index 0 or 1.
func wantAllowed(t *testing.T, denials []int, errs []error, want int) {
	t.Helper()
	for i, err := range errs {
		must(t, fmt.Sprintf("TakeTokens caller %d", i), err)
	}
	allowed := 0
	for i, d := range denials {
		switch d {
		case -1:
			allowed++
		case 0, 1:
		default:
			t.Errorf("caller %d: denied index %d", i, d)
		}
	}
	if allowed != want {
		t.Fatalf("%d concurrent TakeTokens: %d allowed, want %d", len(denials), allowed, want)
	}
}

func (s suite) testFailures(t *testing.T) {
	const (
		alice = "alice@example.com"
		bob   = "bob@example.com"
	)
	now := t0.Add(time.Minute)
	// failure is a wrong answer at t0 that counts for ten minutes.
	failure := func(poolID, account, sessionID, source string) store.Failure {
		return store.Failure{
			PoolID: poolID, Account: account, SessionID: sessionID, Source: source,
			At: t0, ExpiresAt: t0.Add(10 * time.Minute),
		}
	}
	// record stores alice's failures and some that must never match hers.
	record := func(t *testing.T, st store.Store) {
		t.Helper()
		mkPools(t, st, poolID, otherPool)
		expired := failure(poolID, alice, "s1", "ip1")
		expired.ExpiresAt = now // expiring at now is expired
		for _, f := range []store.Failure{
			failure(poolID, alice, "s1", "ip1"),
			failure(poolID, alice, "s1", "ip2"),
			failure(poolID, alice, "s2", "ip1"),
			failure(poolID, alice, "s3", "ip3"),
			failure(poolID, alice, "s3", ""),
			expired,
			failure(poolID, bob, "s1", "ip1"),
			failure(otherPool, alice, "s1", "ip1"),
		} {
			must(t, "RecordFailure", st.RecordFailure(t.Context(), f))
		}
	}

	t.Run("Forgive", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name              string
			sessionID, source string
			want              int
		}{
			{"by session", "s1", "", 2},
			{"by source", "", "ip1", 2},
			{"by session or source", "s1", "ip1", 3},
			{"session and source overlapping", "s2", "ip1", 2},
			{"source on its own", "s3", "ip2", 3},
			{"unknown source is no source", "s3", "", 2},
			{"nothing to match", "", "", 0},
			{"no match", "s9", "ip9", 0},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				st := s.open(t)
				record(t, st)
				n, err := st.ForgiveFailures(t.Context(), poolID, alice, tc.sessionID, tc.source, now)
				must(t, "ForgiveFailures", err)
				wantEqual(t, "forgiven", n, tc.want)
				// They are gone: forgiving again finds nothing.
				n, err = st.ForgiveFailures(t.Context(), poolID, alice, tc.sessionID, tc.source, now)
				must(t, "ForgiveFailures again", err)
				wantEqual(t, "forgiven again", n, 0)
				// The other account's and pool's were not touched.
				n, err = st.ForgiveFailures(t.Context(), poolID, bob, "s1", "ip1", now)
				must(t, "ForgiveFailures bob", err)
				wantEqual(t, "bob's forgiven", n, 1)
				n, err = st.ForgiveFailures(t.Context(), otherPool, alice, "s1", "ip1", now)
				must(t, "ForgiveFailures in other pool", err)
				wantEqual(t, "other pool's forgiven", n, 1)
			})
		}
	})

	t.Run("Expired", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		record(t, st)
		// At t0+10m all of alice's failures have expired.
		n, err := st.ForgiveFailures(t.Context(), poolID, alice, "s1", "ip1", t0.Add(10*time.Minute))
		must(t, "ForgiveFailures", err)
		wantEqual(t, "expired forgiven", n, 0)
		n, err = st.ForgiveFailures(t.Context(), poolID, alice, "s1", "ip1", t0.Add(10*time.Minute-time.Millisecond))
		must(t, "ForgiveFailures", err)
		wantEqual(t, "live forgiven", n, 3)
	})

	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		const total, callers = 30, 20
		for i := range total {
			f := failure(poolID, alice, fmt.Sprintf("s%d", i%3), fmt.Sprintf("ip%d", i%4))
			must(t, "RecordFailure", st.RecordFailure(t.Context(), f))
		}
		counts := make([]int, callers)
		errs := concurrently(callers, func(i int) error {
			var err error
			// Overlapping selections: every failure is in session s0..s2
			// or from ip0..ip3, and each caller asks for one of each.
			counts[i], err = st.ForgiveFailures(t.Context(), poolID, alice,
				fmt.Sprintf("s%d", i%3), fmt.Sprintf("ip%d", i%4), now)
			return err
		})
		sum := 0
		for i, err := range errs {
			must(t, fmt.Sprintf("ForgiveFailures caller %d", i), err)
			sum += counts[i]
		}
		wantEqual(t, "failures forgiven by all callers", sum, total)
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		ctx := t.Context()
		for i := range 5 {
			f := failure(poolID, alice, "s1", fmt.Sprintf("ip%d", i))
			f.ExpiresAt = now.Add(time.Duration(i-2) * time.Minute) // three at or before now
			must(t, "RecordFailure", st.RecordFailure(ctx, f))
		}
		var batches []int
		for {
			n, err := st.DeleteExpired(ctx, store.ExpiringFailures, now, 2)
			must(t, "DeleteExpired", err)
			batches = append(batches, n)
			if n == 0 {
				break
			}
		}
		wantEqual(t, "batches", batches, []int{2, 1, 0})
		n, err := st.ForgiveFailures(ctx, poolID, alice, "s1", "", t0)
		must(t, "ForgiveFailures", err)
		wantEqual(t, "live failures left", n, 2)
	})
}
