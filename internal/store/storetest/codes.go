package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
)

// Codes have no getter: ConsumeCodeAttempt is how the suite reads them back.

func (s suite) testCodes(t *testing.T) {
	const name = "lena@example.com"

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		c := newCode(name, hash("code 1"))
		c.Attempts = 1
		c.MaxAttempts = 5
		c.CreatedAt = time.Date(2025, 6, 1, 12, 0, 0, 999_999, time.FixedZone("X", 3600))
		c.ExpiresAt = c.CreatedAt.Add(24*time.Hour + 1)
		must(t, "PutCode", st.PutCode(t.Context(), c))
		got, err := st.ConsumeCodeAttempt(t.Context(), poolID, name, pool.PurposeSignUp, t0)
		must(t, "ConsumeCodeAttempt", err)
		want := c
		want.Attempts = 2
		want.CreatedAt, want.ExpiresAt = stored(c.CreatedAt), stored(c.ExpiresAt)
		wantEqual(t, "code after one attempt", got, want)
	})

	t.Run("PutReplaces", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		ctx := t.Context()
		old := newCode(name, hash("old"))
		old.Attempts = old.MaxAttempts // used up
		must(t, "PutCode old", st.PutCode(ctx, old))
		_, err := st.ConsumeCodeAttempt(ctx, poolID, name, pool.PurposeSignUp, t0)
		wantErr(t, "ConsumeCodeAttempt on used-up code", err, pool.ErrNoAttemptsLeft)

		next := newCode(name, hash("new"))
		next.CreatedAt = t0.Add(time.Minute)
		next.ExpiresAt = t0.Add(time.Hour)
		must(t, "PutCode new", st.PutCode(ctx, next))
		got, err := st.ConsumeCodeAttempt(ctx, poolID, name, pool.PurposeSignUp, t0.Add(2*time.Minute))
		must(t, "ConsumeCodeAttempt on new code", err)
		want := next
		want.Attempts = 1
		wantEqual(t, "only the newest code is live", got, want)

		// Deleting the one live code leaves none: the old one is gone.
		must(t, "DeleteCode", st.DeleteCode(ctx, poolID, name, pool.PurposeSignUp))
		_, err = st.ConsumeCodeAttempt(ctx, poolID, name, pool.PurposeSignUp, t0)
		wantErr(t, "ConsumeCodeAttempt after delete", err, pool.ErrNotFound)
	})

	t.Run("PutIfAbsent", func(t *testing.T) {
		// Stored only where no code is, live, spent or expired; an
		// existing code is left exactly as it was.
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		ctx := t.Context()
		first := newCode(name, hash("first"))
		stored, err := st.PutCodeIfAbsent(ctx, first)
		must(t, "PutCodeIfAbsent", err)
		if !stored {
			t.Fatal("PutCodeIfAbsent on no code: not stored")
		}
		spent, err := st.ConsumeCodeAttempt(ctx, poolID, name, pool.PurposeSignUp, t0)
		must(t, "ConsumeCodeAttempt", err)
		second := newCode(name, hash("second"))
		stored, err = st.PutCodeIfAbsent(ctx, second)
		must(t, "PutCodeIfAbsent", err)
		if stored {
			t.Error("PutCodeIfAbsent over a code: stored")
		}
		got, err := st.ConsumeCodeAttempt(ctx, poolID, name, pool.PurposeSignUp, t0)
		must(t, "ConsumeCodeAttempt", err)
		if !bytes.Equal(got.Hash, first.Hash) || got.Attempts != spent.Attempts+1 {
			t.Errorf("after PutCodeIfAbsent over it, the code is %x with %d attempts; want the first, %d attempts", got.Hash, got.Attempts, spent.Attempts+1)
		}
		other := newCode("other@example.com", hash("other"))
		other.Purpose = pool.PurposeSignUp
		if stored, err := st.PutCodeIfAbsent(ctx, other); err != nil || !stored {
			t.Errorf("PutCodeIfAbsent for another user: %v, %v; want stored", stored, err)
		}
	})

	t.Run("Scoped", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID, otherPool)
		must(t, "PutCode", st.PutCode(t.Context(), newCode(name, hash("code"))))
		tests := []struct{ name, pool, user, purpose string }{
			{"other pool", otherPool, name, pool.PurposeSignUp},
			{"other user", poolID, "mike@example.com", pool.PurposeSignUp},
			{"other purpose", poolID, name, "other_purpose"},
		}
		for _, tc := range tests {
			_, err := st.ConsumeCodeAttempt(t.Context(), tc.pool, tc.user, tc.purpose, t0)
			wantErr(t, "ConsumeCodeAttempt "+tc.name, err, pool.ErrNotFound)
			wantErr(t, "DeleteCode "+tc.name, st.DeleteCode(t.Context(), tc.pool, tc.user, tc.purpose), pool.ErrNotFound)
		}
		got, err := st.ConsumeCodeAttempt(t.Context(), poolID, name, pool.PurposeSignUp, t0)
		must(t, "ConsumeCodeAttempt on the real code", err)
		if got.Attempts != 1 {
			t.Errorf("Attempts = %d, want 1: misses elsewhere must not count", got.Attempts)
		}
	})

	t.Run("ConsumeSequential", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		c := newCode(name, hash("code"))
		must(t, "PutCode", st.PutCode(t.Context(), c))
		for want := 1; want <= c.MaxAttempts; want++ {
			got, err := st.ConsumeCodeAttempt(t.Context(), poolID, name, pool.PurposeSignUp, t0)
			must(t, fmt.Sprintf("ConsumeCodeAttempt %d", want), err)
			if got.Attempts != want {
				t.Errorf("Attempts = %d, want %d", got.Attempts, want)
			}
		}
		for range 2 {
			_, err := st.ConsumeCodeAttempt(t.Context(), poolID, name, pool.PurposeSignUp, t0)
			wantErr(t, "ConsumeCodeAttempt past the limit", err, pool.ErrNoAttemptsLeft)
		}
	})

	t.Run("ConsumeConcurrent", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		c := newCode(name, hash("code"))
		must(t, "PutCode", st.PutCode(t.Context(), c))
		const n = 50
		counts := make([]int, n)
		errs := concurrently(n, func(i int) error {
			got, err := st.ConsumeCodeAttempt(t.Context(), poolID, name, pool.PurposeSignUp, t0)
			counts[i] = got.Attempts
			return err
		})
		ok, refused := tally(t, "ConsumeCodeAttempt", errs, pool.ErrNoAttemptsLeft)
		if ok != c.MaxAttempts || refused != n-c.MaxAttempts {
			t.Fatalf("%d concurrent ConsumeCodeAttempt: %d succeeded and %d refused, want %d and %d",
				n, ok, refused, c.MaxAttempts, n-c.MaxAttempts)
		}
		var seen []int
		for i, err := range errs {
			if err == nil {
				seen = append(seen, counts[i])
			}
		}
		slices.Sort(seen)
		wantEqual(t, "attempt counts returned to the winners", seen, []int{1, 2, 3})
	})

	t.Run("ConsumeExpiry", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name string
			now  time.Duration // relative to ExpiresAt
			want error
		}{
			{"a millisecond before", -time.Millisecond, nil},
			{"exactly at expiry", 0, pool.ErrExpired},
			{"long after", time.Hour, pool.ErrExpired},
		}
		st := s.open(t)
		mkPools(t, st, poolID)
		for i, tc := range tests {
			user := fmt.Sprintf("user%d@example.com", i)
			c := newCode(user, hash(user))
			must(t, "PutCode", st.PutCode(t.Context(), c))
			got, err := st.ConsumeCodeAttempt(t.Context(), poolID, user, pool.PurposeSignUp, c.ExpiresAt.Add(tc.now))
			wantErr(t, "ConsumeCodeAttempt "+tc.name, err, tc.want)
			if tc.want == nil && got.Attempts != 1 {
				t.Errorf("%s: Attempts = %d, want 1", tc.name, got.Attempts)
			}
		}
		// A refusal for expiry does not count: a live time still finds
		// every attempt unused.
		got, err := st.ConsumeCodeAttempt(t.Context(), poolID, "user2@example.com", pool.PurposeSignUp, t0)
		must(t, "ConsumeCodeAttempt before expiry", err)
		if got.Attempts != 1 {
			t.Errorf("Attempts after expired refusal = %d, want 1", got.Attempts)
		}
	})

	t.Run("DeleteConcurrent", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		must(t, "PutCode", st.PutCode(t.Context(), newCode(name, hash("code"))))
		const n = 20
		errs := concurrently(n, func(int) error {
			return st.DeleteCode(t.Context(), poolID, name, pool.PurposeSignUp)
		})
		ok, gone := tally(t, "DeleteCode", errs, pool.ErrNotFound)
		if ok != 1 || gone != n-1 {
			t.Fatalf("%d concurrent DeleteCode: %d succeeded and %d found it gone, want 1 and %d", n, ok, gone, n-1)
		}
		_, err := st.ConsumeCodeAttempt(t.Context(), poolID, name, pool.PurposeSignUp, t0)
		wantErr(t, "ConsumeCodeAttempt after delete", err, pool.ErrNotFound)
	})
}
