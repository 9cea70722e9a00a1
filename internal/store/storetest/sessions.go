package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
)

func (s suite) testSessions(t *testing.T) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		full := newSession("sess-full", hash("token full"))
		full.Kind = pool.KindSignUp
		full.Decoy = true
		full.Flow = pool.FlowCustomAuth
		full.Challenge = pool.ChallengeCustom
		full.History = []pool.ChallengeResult{
			{ChallengeName: pool.ChallengeSMSOTP, ChallengeResult: false},
			{ChallengeName: pool.ChallengeCustom, ChallengeResult: true, ChallengeMetadata: `CODE "x" ü`},
		}
		full.Custom = pool.CustomChallenge{
			Hooked:        true,
			Metadata:      `CODE-123456 "q" ü`,
			SealedPrivate: []byte{0x01, 0x00, 0xff, '"', 0x7f, 0xc3, 0xbc},
		}
		full.Attempts = 2
		full.MaxAttempts = 5
		full.Channel = "sms"
		full.Destination = "+447700900123"
		full.CreatedAt = time.Date(2025, 6, 1, 12, 0, 0, 123_456_789, time.FixedZone("X", 7200))
		full.ExpiresAt = full.CreatedAt.Add(3 * time.Minute)

		bare := newSession("sess-bare", hash("token bare"))
		bare.CodeHash = nil // no live code
		bare.Channel, bare.Destination = "", ""

		for _, a := range []pool.AuthSession{full, bare} {
			must(t, "CreateSession "+a.ID, st.CreateSession(t.Context(), a))
			got, err := st.GetSession(t.Context(), a.TokenHash)
			must(t, "GetSession "+a.ID, err)
			want := a
			want.CreatedAt, want.ExpiresAt = stored(a.CreatedAt), stored(a.ExpiresAt)
			wantEqual(t, "GetSession "+a.ID, got, want)
		}
	})

	t.Run("CreateConflict", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		orig := newSession("sess-1", hash("token 1"))
		must(t, "CreateSession", st.CreateSession(t.Context(), orig))
		tests := []struct {
			name string
			sess pool.AuthSession
		}{
			{"same ID", newSession("sess-1", hash("token 2"))},
			{"same token hash", newSession("sess-2", hash("token 1"))},
		}
		for _, tc := range tests {
			err := st.CreateSession(t.Context(), tc.sess)
			wantErr(t, "CreateSession "+tc.name, err, pool.ErrConflict)
			wantNoSecret(t, "CreateSession "+tc.name, err, tc.sess.TokenHash)
		}
		_, err := st.GetSession(t.Context(), hash("token 2"))
		wantErr(t, "GetSession of rejected session", err, pool.ErrNotFound)
	})

	t.Run("Unknown", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		h := hash("never issued")
		_, err := st.GetSession(t.Context(), h)
		wantErr(t, "GetSession", err, pool.ErrNotFound)
		wantNoSecret(t, "GetSession", err, h)
		_, err = st.ConsumeAttempt(t.Context(), h, t0)
		wantErr(t, "ConsumeAttempt", err, pool.ErrNotFound)
		wantNoSecret(t, "ConsumeAttempt", err, h)
		err = st.ReplaceSession(t.Context(), h, newSession("sess-x", hash("next")))
		wantErr(t, "ReplaceSession", err, pool.ErrNotFound)
		wantNoSecret(t, "ReplaceSession", err, h)
		err = st.DeleteSession(t.Context(), h)
		wantErr(t, "DeleteSession", err, pool.ErrNotFound)
		wantNoSecret(t, "DeleteSession", err, h)
	})

	t.Run("ConsumeAttemptSequential", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		a := newSession("sess-1", hash("token 1"))
		must(t, "CreateSession", st.CreateSession(t.Context(), a))
		for want := 1; want <= a.MaxAttempts; want++ {
			got, err := st.ConsumeAttempt(t.Context(), a.TokenHash, t0.Add(time.Second))
			must(t, fmt.Sprintf("ConsumeAttempt %d", want), err)
			exp := a
			exp.Attempts = want
			wantEqual(t, "session after ConsumeAttempt", got, exp)
		}
		_, err := st.ConsumeAttempt(t.Context(), a.TokenHash, t0.Add(time.Second))
		wantErr(t, "ConsumeAttempt past the limit", err, pool.ErrNoAttemptsLeft)
		got, err := st.GetSession(t.Context(), a.TokenHash)
		must(t, "GetSession", err)
		if got.Attempts != a.MaxAttempts {
			t.Errorf("Attempts after refusal = %d, want %d (refusals must not count)", got.Attempts, a.MaxAttempts)
		}
	})

	t.Run("ConsumeAttemptConcurrent", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		a := newSession("sess-1", hash("token 1"))
		a.MaxAttempts = 3
		must(t, "CreateSession", st.CreateSession(t.Context(), a))
		const n = 50
		counts := make([]int, n)
		errs := concurrently(n, func(i int) error {
			got, err := st.ConsumeAttempt(t.Context(), a.TokenHash, t0)
			counts[i] = got.Attempts
			return err
		})
		ok, refused := tally(t, "ConsumeAttempt", errs, pool.ErrNoAttemptsLeft)
		if ok != a.MaxAttempts || refused != n-a.MaxAttempts {
			t.Fatalf("%d concurrent ConsumeAttempt: %d succeeded and %d refused, want %d and %d",
				n, ok, refused, a.MaxAttempts, n-a.MaxAttempts)
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

	t.Run("ConsumeAttemptExpiry", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name string
			now  time.Duration // relative to ExpiresAt
			want error
		}{
			{"a millisecond before", -time.Millisecond, nil},
			{"exactly at expiry", 0, pool.ErrExpired},
			{"just after", time.Millisecond, pool.ErrExpired},
			{"long after", 24 * time.Hour, pool.ErrExpired},
		}
		st := s.open(t)
		mkPools(t, st, poolID)
		for i, tc := range tests {
			a := newSession(fmt.Sprintf("sess-%d", i), hash(fmt.Sprintf("token %d", i)))
			must(t, "CreateSession", st.CreateSession(t.Context(), a))
			_, err := st.ConsumeAttempt(t.Context(), a.TokenHash, a.ExpiresAt.Add(tc.now))
			wantErr(t, "ConsumeAttempt "+tc.name, err, tc.want)
			got, err := st.GetSession(t.Context(), a.TokenHash)
			must(t, "GetSession expired", err) // expired sessions are still returned
			wantAttempts := 0
			if tc.want == nil {
				wantAttempts = 1
			}
			if got.Attempts != wantAttempts {
				t.Errorf("%s: Attempts = %d, want %d", tc.name, got.Attempts, wantAttempts)
			}
		}
	})

	t.Run("Replace", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		ctx := t.Context()
		cur := newSession("sess-1", hash("token 1"))
		cur.Attempts = 2
		must(t, "CreateSession", st.CreateSession(ctx, cur))

		next := cur
		next.TokenHash = hash("token 2")
		next.Kind = pool.KindConfirmed
		next.Sub = "sub-now-known"
		next.Challenge = pool.ChallengeSMSOTP
		next.History = append(slices.Clone(cur.History),
			pool.ChallengeResult{ChallengeName: pool.ChallengeEmail, ChallengeResult: false})
		next.CodeHash = hash("code 2")
		next.Attempts = 0
		next.MaxAttempts = 4
		next.Channel = "sms"
		next.Destination = "+15550001234"
		next.ExpiresAt = t0.Add(6*time.Minute + 789*time.Microsecond)
		next.Custom = pool.CustomChallenge{Hooked: true, Metadata: "QUESTION", SealedPrivate: []byte("sealed blue")}
		must(t, "ReplaceSession", st.ReplaceSession(ctx, cur.TokenHash, next))

		_, err := st.GetSession(ctx, cur.TokenHash)
		wantErr(t, "GetSession old hash", err, pool.ErrNotFound)
		_, err = st.ConsumeAttempt(ctx, cur.TokenHash, t0)
		wantErr(t, "ConsumeAttempt old hash", err, pool.ErrNotFound)
		got, err := st.GetSession(ctx, next.TokenHash)
		must(t, "GetSession new hash", err)
		want := next
		want.ExpiresAt = stored(next.ExpiresAt)
		// The attempt counter only moves through ConsumeAttempt: a rotation
		// must not reset it, or a racing answer's increment would be lost.
		want.Attempts, want.MaxAttempts = cur.Attempts, cur.MaxAttempts
		wantEqual(t, "replaced session", got, want)

		// The old hash cannot be replaced again: its holder lost.
		again := next
		again.TokenHash = hash("token 3")
		wantErr(t, "ReplaceSession from stale hash", st.ReplaceSession(ctx, cur.TokenHash, again), pool.ErrNotFound)
		// Dropping the live code goes through too.
		again = next
		again.TokenHash = hash("token 3")
		again.CodeHash = nil
		must(t, "ReplaceSession dropping code", st.ReplaceSession(ctx, next.TokenHash, again))
		got, err = st.GetSession(ctx, again.TokenHash)
		must(t, "GetSession token 3", err)
		if got.CodeHash != nil {
			t.Errorf("CodeHash after replacing with nil = %x, want nil", got.CodeHash)
		}
	})

	// A hook-defined challenge's state (metadata, private parameters)
	// travels with the session through every operation, and each
	// replacement sets it whole: changed, kept, or cleared.
	t.Run("CustomChallenge", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		ctx := t.Context()
		cur := newSession("sess-1", hash("token 1"))
		cur.Flow, cur.Challenge = pool.FlowCustomAuth, pool.ChallengeCustom
		cur.CodeHash, cur.Channel, cur.Destination = nil, "", ""
		cur.Custom = pool.CustomChallenge{Hooked: true, Metadata: "CODE-654321", SealedPrivate: []byte("sealed 654321")}
		must(t, "CreateSession", st.CreateSession(ctx, cur))

		counted, err := st.ConsumeAttempt(ctx, cur.TokenHash, t0)
		must(t, "ConsumeAttempt", err)
		wantEqual(t, "custom challenge after ConsumeAttempt", counted.Custom, cur.Custom)

		steps := []struct {
			name   string
			custom pool.CustomChallenge
		}{
			{"kept", cur.Custom},
			{"changed", pool.CustomChallenge{Hooked: true, Metadata: "QUESTION", SealedPrivate: []byte("sealed blue 2")}},
			{"metadata only", pool.CustomChallenge{Hooked: true, Metadata: "CODE-1"}},
			{"private only", pool.CustomChallenge{Hooked: true, SealedPrivate: []byte{0}}},
			{"cleared", pool.CustomChallenge{}},
		}
		prev := cur
		for i, step := range steps {
			next := prev
			next.TokenHash = hash(fmt.Sprintf("token %d", i+2))
			next.History = append(slices.Clone(prev.History),
				pool.ChallengeResult{ChallengeName: pool.ChallengeCustom, ChallengeResult: i%2 == 0, ChallengeMetadata: prev.Custom.Metadata})
			next.Custom = step.custom
			must(t, "ReplaceSession "+step.name, st.ReplaceSession(ctx, prev.TokenHash, next))
			got, err := st.GetSession(ctx, next.TokenHash)
			must(t, "GetSession "+step.name, err)
			wantEqual(t, "custom challenge "+step.name, got.Custom, step.custom)
			wantEqual(t, "history "+step.name, got.History, next.History)
			prev = next
		}
		// Empty sealed parameters are no parameters.
		empty := newSession("sess-2", hash("token empty"))
		empty.Custom = pool.CustomChallenge{Hooked: true, SealedPrivate: []byte{}}
		must(t, "CreateSession empty", st.CreateSession(ctx, empty))
		got, err := st.GetSession(ctx, empty.TokenHash)
		must(t, "GetSession empty", err)
		wantEqual(t, "empty private parameters", got.Custom, pool.CustomChallenge{Hooked: true})
	})

	t.Run("ReplaceHashTaken", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		a := newSession("sess-a", hash("token a"))
		b := newSession("sess-b", hash("token b"))
		must(t, "CreateSession a", st.CreateSession(t.Context(), a))
		must(t, "CreateSession b", st.CreateSession(t.Context(), b))
		next := a
		next.TokenHash = b.TokenHash
		err := st.ReplaceSession(t.Context(), a.TokenHash, next)
		wantErr(t, "ReplaceSession onto another session's hash", err, pool.ErrConflict)
		wantNoSecret(t, "ReplaceSession onto another session's hash", err, b.TokenHash)
		for _, x := range []pool.AuthSession{a, b} {
			got, err := st.GetSession(t.Context(), x.TokenHash)
			must(t, "GetSession", err)
			if got.ID != x.ID {
				t.Errorf("token of %s now finds %s", x.ID, got.ID)
			}
		}
	})

	t.Run("ReplaceConcurrent", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		cur := newSession("sess-1", hash("token 0"))
		must(t, "CreateSession", st.CreateSession(t.Context(), cur))
		const n = 20
		nextHash := func(i int) []byte { return hash(fmt.Sprintf("next %d", i)) }
		errs := concurrently(n, func(i int) error {
			next := cur
			next.TokenHash = nextHash(i)
			next.Attempts = 0
			return st.ReplaceSession(t.Context(), cur.TokenHash, next)
		})
		ok, lost := tally(t, "ReplaceSession", errs, pool.ErrNotFound)
		if ok != 1 || lost != n-1 {
			t.Fatalf("%d concurrent ReplaceSession: %d won and %d lost, want 1 and %d", n, ok, lost, n-1)
		}
		for i, err := range errs {
			_, getErr := st.GetSession(t.Context(), nextHash(i))
			if err == nil {
				must(t, "GetSession winner's hash", getErr)
			} else {
				wantErr(t, "GetSession loser's hash", getErr, pool.ErrNotFound)
			}
		}
	})

	t.Run("DeleteConcurrent", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		a := newSession("sess-1", hash("token 1"))
		keep := newSession("sess-2", hash("token 2"))
		must(t, "CreateSession", st.CreateSession(t.Context(), a))
		must(t, "CreateSession", st.CreateSession(t.Context(), keep))
		const n = 20
		errs := concurrently(n, func(int) error { return st.DeleteSession(t.Context(), a.TokenHash) })
		ok, gone := tally(t, "DeleteSession", errs, pool.ErrNotFound)
		if ok != 1 || gone != n-1 {
			t.Fatalf("%d concurrent DeleteSession: %d succeeded and %d found it gone, want 1 and %d", n, ok, gone, n-1)
		}
		_, err := st.GetSession(t.Context(), a.TokenHash)
		wantErr(t, "GetSession deleted", err, pool.ErrNotFound)
		_, err = st.GetSession(t.Context(), keep.TokenHash)
		must(t, "GetSession other session", err)
	})
}
