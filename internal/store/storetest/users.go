package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
)

func (s suite) testUsers(t *testing.T) {
	t.Run("Identifiers", s.testIdentifiers)

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		u := pool.User{
			PoolID:   poolID,
			Sub:      "7d0a9a4e-1111-4000-8000-000000000001",
			Username: "+447700900123",
			Attributes: map[string]string{
				pool.AttrSub:                 "7d0a9a4e-1111-4000-8000-000000000001",
				pool.AttrPhoneNumber:         "+447700900123",
				pool.AttrPhoneNumberVerified: "true",
				pool.AttrLocale:              "fr-CA",
				"custom:quote":               `she said "ünïcode" \ ok`,
				"empty":                      "",
			},
			Status:    pool.StatusConfirmed,
			Enabled:   false,
			CreatedAt: time.Date(2025, 2, 3, 4, 5, 6, 7_654_321, time.FixedZone("X", -3600)),
			UpdatedAt: time.Date(2025, 2, 3, 4, 5, 6, 8_999_999, time.UTC),
		}
		replaced, err := st.CreateUser(t.Context(), u)
		must(t, "CreateUser", err)
		if replaced {
			t.Errorf("CreateUser of a new user reported replaced")
		}
		want := u
		want.CreatedAt, want.UpdatedAt = stored(u.CreatedAt), stored(u.UpdatedAt)

		got, err := st.GetUser(t.Context(), poolID, u.Username)
		must(t, "GetUser", err)
		wantEqual(t, "GetUser", got, want)
		got, err = st.GetUserBySub(t.Context(), poolID, u.Sub)
		must(t, "GetUserBySub", err)
		wantEqual(t, "GetUserBySub", got, want)
	})

	t.Run("GetMissing", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID, otherPool)
		u := newUser(poolID, "bob@example.com", "sub-bob", pool.StatusConfirmed)
		_, err := st.CreateUser(t.Context(), u)
		must(t, "CreateUser", err)
		tests := []struct {
			name string
			get  func() error
		}{
			{"unknown username", func() error { _, err := st.GetUser(t.Context(), poolID, "nobody@example.com"); return err }},
			{"unknown sub", func() error { _, err := st.GetUserBySub(t.Context(), poolID, "sub-nobody"); return err }},
			{"username in other pool", func() error { _, err := st.GetUser(t.Context(), otherPool, u.Username); return err }},
			{"sub in other pool", func() error { _, err := st.GetUserBySub(t.Context(), otherPool, u.Sub); return err }},
			{"username case differs", func() error { _, err := st.GetUser(t.Context(), poolID, "Bob@example.com"); return err }},
		}
		for _, tc := range tests {
			wantErr(t, tc.name, tc.get(), pool.ErrNotFound)
		}
	})

	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		u := newUser(poolID, "carol@example.com", "sub-carol", pool.StatusUnconfirmed)
		_, err := st.CreateUser(t.Context(), u)
		must(t, "CreateUser", err)

		upd := u
		upd.Attributes = map[string]string{
			pool.AttrSub:           u.Sub,
			pool.AttrEmail:         u.Username,
			pool.AttrEmailVerified: "true",
			pool.AttrLocale:        "de",
		}
		upd.Status = pool.StatusConfirmed
		upd.Enabled = false
		upd.UpdatedAt = t0.Add(time.Hour + 456*time.Microsecond)
		upd.Username = "changed@example.com"
		// Fields UpdateUser does not replace.
		upd.CreatedAt = t0.Add(-time.Hour)
		must(t, "UpdateUser", st.UpdateUser(t.Context(), upd))

		want := u
		want.Username = upd.Username
		want.Attributes = upd.Attributes
		want.Status = upd.Status
		want.Enabled = upd.Enabled
		want.UpdatedAt = stored(upd.UpdatedAt)
		got, err := st.GetUserBySub(t.Context(), poolID, u.Sub)
		must(t, "GetUserBySub", err)
		wantEqual(t, "user after UpdateUser", got, want)
		got, err = st.GetUser(t.Context(), poolID, upd.Username)
		must(t, "GetUser by the new username", err)
		wantEqual(t, "user by the new username", got, want)
		_, err = st.GetUser(t.Context(), poolID, u.Username)
		wantErr(t, "GetUser by the old username", err, pool.ErrNotFound)

		missing := newUser(poolID, "ghost@example.com", "sub-ghost", pool.StatusConfirmed)
		wantErr(t, "UpdateUser missing", st.UpdateUser(t.Context(), missing), pool.ErrNotFound)
	})

	t.Run("DeleteRemovesTokensAndCodes", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		ctx := t.Context()
		dave := newUser(poolID, "dave@example.com", "sub-dave", pool.StatusConfirmed)
		erin := newUser(poolID, "erin@example.com", "sub-erin", pool.StatusConfirmed)
		for _, u := range []pool.User{dave, erin} {
			_, err := st.CreateUser(ctx, u)
			must(t, "CreateUser", err)
			for i := range 2 {
				id := fmt.Sprintf("rt-%s-%d", u.Sub, i)
				must(t, "CreateRefreshToken", st.CreateRefreshToken(ctx, newRefreshToken(id, hash(id), poolID, u.Sub)))
			}
			must(t, "PutCode", st.PutCode(ctx, newCode(u.Username, hash("code "+u.Sub))))
		}

		must(t, "DeleteUser", st.DeleteUser(ctx, poolID, dave.Sub))

		_, err := st.GetUser(ctx, poolID, dave.Username)
		wantErr(t, "GetUser deleted", err, pool.ErrNotFound)
		_, err = st.GetUserBySub(ctx, poolID, dave.Sub)
		wantErr(t, "GetUserBySub deleted", err, pool.ErrNotFound)
		for i := range 2 {
			id := fmt.Sprintf("rt-%s-%d", dave.Sub, i)
			_, err = st.GetRefreshTokenByID(ctx, id)
			wantErr(t, "deleted user's token by ID", err, pool.ErrNotFound)
			_, err = st.GetRefreshToken(ctx, hash(id))
			wantErr(t, "deleted user's token by hash", err, pool.ErrNotFound)
		}
		_, err = st.ConsumeCodeAttempt(ctx, poolID, dave.Username, pool.PurposeSignUp, t0)
		wantErr(t, "deleted user's code", err, pool.ErrNotFound)

		// The other user keeps everything.
		_, err = st.GetUserBySub(ctx, poolID, erin.Sub)
		must(t, "GetUserBySub other", err)
		for i := range 2 {
			_, err = st.GetRefreshTokenByID(ctx, fmt.Sprintf("rt-%s-%d", erin.Sub, i))
			must(t, "other user's token", err)
		}
		_, err = st.ConsumeCodeAttempt(ctx, poolID, erin.Username, pool.PurposeSignUp, t0)
		must(t, "other user's code", err)

		wantErr(t, "DeleteUser again", st.DeleteUser(ctx, poolID, dave.Sub), pool.ErrNotFound)
	})

	t.Run("UnconfirmedReplaced", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		ctx := t.Context()
		const name = "frank@example.com"
		old := newUser(poolID, name, "sub-frank-old", pool.StatusUnconfirmed)
		_, err := st.CreateUser(ctx, old)
		must(t, "CreateUser old", err)
		must(t, "PutCode old", st.PutCode(ctx, newCode(name, hash("old code"))))
		must(t, "CreateRefreshToken old", st.CreateRefreshToken(ctx, newRefreshToken("rt-old", hash("rt-old"), poolID, old.Sub)))

		for _, status := range []pool.UserStatus{pool.StatusUnconfirmed, pool.StatusConfirmed} {
			prev := old
			next := newUser(poolID, name, "sub-frank-"+string(status), status)
			next.Attributes[pool.AttrLocale] = "it"
			next.CreatedAt = t0.Add(time.Minute)
			replaced, err := st.CreateUser(ctx, next)
			must(t, "CreateUser replacing", err)
			if !replaced {
				t.Errorf("CreateUser over UNCONFIRMED %s: replaced = false, want true", prev.Sub)
			}
			_, err = st.GetUserBySub(ctx, poolID, prev.Sub)
			wantErr(t, "GetUserBySub replaced", err, pool.ErrNotFound)
			got, err := st.GetUser(ctx, poolID, name)
			must(t, "GetUser", err)
			wantEqual(t, "replacement user", got, next)
			old = next
		}
		_, err = st.ConsumeCodeAttempt(ctx, poolID, name, pool.PurposeSignUp, t0)
		wantErr(t, "code of replaced user", err, pool.ErrNotFound)
		_, err = st.GetRefreshTokenByID(ctx, "rt-old")
		wantErr(t, "token of replaced user", err, pool.ErrNotFound)
	})

	t.Run("ConfirmedNotReplaced", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		ctx := t.Context()
		orig := newUser(poolID, "gina@example.com", "sub-gina", pool.StatusConfirmed)
		_, err := st.CreateUser(ctx, orig)
		must(t, "CreateUser", err)
		for _, status := range []pool.UserStatus{pool.StatusUnconfirmed, pool.StatusConfirmed} {
			replaced, err := st.CreateUser(ctx, newUser(poolID, orig.Username, "sub-gina-2", status))
			wantErr(t, "CreateUser over CONFIRMED as "+string(status), err, pool.ErrConflict)
			if replaced {
				t.Errorf("failed CreateUser reported replaced")
			}
		}
		got, err := st.GetUser(ctx, poolID, orig.Username)
		must(t, "GetUser", err)
		wantEqual(t, "original user", got, orig)
		_, err = st.GetUserBySub(ctx, poolID, "sub-gina-2")
		wantErr(t, "GetUserBySub loser", err, pool.ErrNotFound)
	})

	t.Run("DuplicateSub", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		_, err := st.CreateUser(t.Context(), newUser(poolID, "hank@example.com", "sub-hank", pool.StatusConfirmed))
		must(t, "CreateUser", err)
		_, err = st.CreateUser(t.Context(), newUser(poolID, "other@example.com", "sub-hank", pool.StatusConfirmed))
		wantErr(t, "CreateUser with taken sub", err, pool.ErrConflict)
		_, err = st.GetUser(t.Context(), poolID, "other@example.com")
		wantErr(t, "GetUser loser", err, pool.ErrNotFound)
	})

	t.Run("SameUsernameInOtherPool", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID, otherPool)
		for _, p := range []string{poolID, otherPool} {
			replaced, err := st.CreateUser(t.Context(), newUser(p, "ivy@example.com", "sub-ivy-"+p, pool.StatusConfirmed))
			must(t, "CreateUser in "+p, err)
			if replaced {
				t.Errorf("CreateUser in %s reported replaced", p)
			}
		}
	})

	t.Run("ConcurrentConfirmedSignUps", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		const n = 20
		const name = "jack@example.com"
		errs := concurrently(n, func(i int) error {
			_, err := st.CreateUser(t.Context(), newUser(poolID, name, fmt.Sprintf("sub-jack-%02d", i), pool.StatusConfirmed))
			return err
		})
		ok, conflicts := tally(t, "CreateUser", errs, pool.ErrConflict)
		if ok != 1 || conflicts != n-1 {
			t.Fatalf("concurrent CreateUser: %d succeeded and %d conflicted, want 1 and %d", ok, conflicts, n-1)
		}
		winner := slices.IndexFunc(errs, func(err error) bool { return err == nil })
		got, err := st.GetUser(t.Context(), poolID, name)
		must(t, "GetUser", err)
		if want := fmt.Sprintf("sub-jack-%02d", winner); got.Sub != want {
			t.Errorf("stored sub %q, want the winner's %q", got.Sub, want)
		}
	})

	t.Run("ConcurrentUnconfirmedSignUps", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		const n = 20
		const name = "kate@example.com"
		var replacedBy [n]bool
		errs := concurrently(n, func(i int) error {
			r, err := st.CreateUser(t.Context(), newUser(poolID, name, fmt.Sprintf("sub-kate-%02d", i), pool.StatusUnconfirmed))
			replacedBy[i] = r
			return err
		})
		for i, err := range errs {
			must(t, fmt.Sprintf("CreateUser %d", i), err)
		}
		// Replacements are serialised: exactly the first caller found the
		// username free, every later one replaced its predecessor, and one
		// user is left.
		fresh := 0
		for _, r := range replacedBy {
			if !r {
				fresh++
			}
		}
		if fresh != 1 {
			t.Errorf("%d callers saw the username free, want exactly 1", fresh)
		}
		got, err := st.GetUser(t.Context(), poolID, name)
		must(t, "GetUser", err)
		users, _, err := st.ListUsers(t.Context(), poolID, 100, "")
		must(t, "ListUsers", err)
		if len(users) != 1 || users[0].Sub != got.Sub {
			t.Errorf("after concurrent replacements: %d users listed, want exactly %s", len(users), got.Sub)
		}
	})

	t.Run("ListPagination", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			users, limit int
			pages        []int // expected page sizes
		}{
			{users: 25, limit: 10, pages: []int{10, 10, 5}},
			{users: 20, limit: 10, pages: []int{10, 10}},
			{users: 3, limit: 1, pages: []int{1, 1, 1}},
			{users: 3, limit: 50, pages: []int{3}},
			{users: 0, limit: 10, pages: []int{0}},
		}
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%d users by %d", tc.users, tc.limit), func(t *testing.T) {
				t.Parallel()
				st := s.open(t)
				mkPools(t, st, poolID, otherPool)
				var all []string
				for i := range tc.users {
					// Mix phone and email usernames: order is by bytes.
					name := fmt.Sprintf("user%02d@example.com", i)
					if i%3 == 0 {
						name = fmt.Sprintf("+1555000%04d", i)
					}
					all = append(all, name)
				}
				// Insert in random order so storage order cannot fake
				// the sort.
				for _, i := range rand.Perm(len(all)) {
					_, err := st.CreateUser(t.Context(), newUser(poolID, all[i], "sub-"+all[i], pool.StatusConfirmed))
					must(t, "CreateUser", err)
				}
				// Users of another pool must never appear.
				_, err := st.CreateUser(t.Context(), newUser(otherPool, "user00@example.com", "sub-other", pool.StatusConfirmed))
				must(t, "CreateUser other pool", err)
				slices.Sort(all)

				var listed []string
				after := ""
				for page, wantSize := range tc.pages {
					users, next, err := st.ListUsers(t.Context(), poolID, tc.limit, after)
					must(t, fmt.Sprintf("ListUsers page %d", page), err)
					if len(users) != wantSize {
						t.Fatalf("page %d: %d users, want %d", page, len(users), wantSize)
					}
					for _, u := range users {
						if u.PoolID != poolID {
							t.Fatalf("page %d: user %q of pool %q", page, u.Username, u.PoolID)
						}
						listed = append(listed, u.Username)
					}
					last := page == len(tc.pages)-1
					switch {
					case last && next != "":
						t.Fatalf("last page %d: next = %q, want \"\"", page, next)
					case !last && next != users[len(users)-1].Username:
						t.Fatalf("page %d: next = %q, want last username %q", page, next, users[len(users)-1].Username)
					}
					after = next
				}
				if tc.users == 0 {
					all = nil
				}
				wantEqual(t, "usernames over all pages", listed, all)
			})
		}
	})

	t.Run("ListBadLimit", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		for _, limit := range []int{0, -1} {
			_, _, err := st.ListUsers(t.Context(), poolID, limit, "")
			if err == nil {
				t.Errorf("ListUsers with limit %d: no error", limit)
			}
			if errors.Is(err, pool.ErrNotFound) || errors.Is(err, pool.ErrConflict) {
				t.Errorf("ListUsers with limit %d: storage error %v for a caller mistake", limit, err)
			}
		}
	})
}
