package storetest

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
)

// Identifiers: a user is found by its username and by each verified email
// and phone_number that differs from it (its aliases); an identifier
// belongs to at most one user of a pool.

// withAttrs returns a copy of u with the attributes set (a value of ""
// deletes the attribute); u's own map is not touched.
func withAttrs(u pool.User, kv ...string) pool.User {
	u.Attributes = maps.Clone(u.Attributes)
	if u.Attributes == nil {
		u.Attributes = map[string]string{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(u.Attributes, kv[i])
			continue
		}
		u.Attributes[kv[i]] = kv[i+1]
	}
	return u
}

// verifiedEmail and verifiedPhone return a copy of u whose email (phone
// number) is v, verified or not.
func verifiedEmail(u pool.User, v string, verified bool) pool.User {
	return withAttrs(u, pool.AttrEmail, v, pool.AttrEmailVerified, fmt.Sprint(verified))
}

func verifiedPhone(u pool.User, v string, verified bool) pool.User {
	return withAttrs(u, pool.AttrPhoneNumber, v, pool.AttrPhoneNumberVerified, fmt.Sprint(verified))
}

func mkUsers(t *testing.T, st store.Store, users ...pool.User) {
	t.Helper()
	for _, u := range users {
		replaced, err := st.CreateUser(t.Context(), u)
		must(t, "CreateUser "+u.Username, err)
		if replaced {
			t.Fatalf("CreateUser %s: replaced a user", u.Username)
		}
	}
}

// wantIdentifiers checks who each identifier finds in poolID: want maps an
// identifier to a sub, or to "" when no user may be found by it.
func wantIdentifiers(t *testing.T, st store.Store, want map[string]string) {
	t.Helper()
	for _, id := range slices.Sorted(maps.Keys(want)) {
		got, err := st.GetUserByIdentifier(t.Context(), poolID, id)
		if want[id] == "" {
			if err == nil {
				t.Errorf("GetUserByIdentifier(%q) found %s, want ErrNotFound", id, got.Sub)
			} else {
				wantErr(t, fmt.Sprintf("GetUserByIdentifier(%q)", id), err, pool.ErrNotFound)
			}
			continue
		}
		if err != nil {
			t.Errorf("GetUserByIdentifier(%q): %v, want user %s", id, err, want[id])
			continue
		}
		if got.Sub != want[id] {
			t.Errorf("GetUserByIdentifier(%q) found %s, want %s", id, got.Sub, want[id])
		}
	}
}

// wantUnchanged fails t unless the users are stored exactly as given.
func wantUnchanged(t *testing.T, st store.Store, users ...pool.User) {
	t.Helper()
	for _, u := range users {
		got, err := st.GetUserBySub(t.Context(), u.PoolID, u.Sub)
		must(t, "GetUserBySub "+u.Sub, err)
		wantEqual(t, "user "+u.Sub, got, u)
	}
}

func (s suite) testIdentifiers(t *testing.T) {
	t.Run("Lookup", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID, otherPool)
		// ann's verified email is her username: no alias. bob signed up
		// with his phone and has a verified email alias. cleo's phone is
		// not verified. dan's email and phone are the same string, both
		// verified: one alias.
		ann := verifiedEmail(newUser(poolID, "ann@example.com", "sub-ann", pool.StatusConfirmed), "ann@example.com", true)
		bob := verifiedPhone(newUser(poolID, "+15550000001", "sub-bob", pool.StatusConfirmed), "+15550000001", true)
		bob = verifiedEmail(bob, "bob@example.com", true)
		cleo := verifiedPhone(newUser(poolID, "cleo@example.com", "sub-cleo", pool.StatusConfirmed), "+15550000002", false)
		dan := verifiedEmail(newUser(poolID, "dan@example.com", "sub-dan", pool.StatusConfirmed), "dan-alias", true)
		dan = verifiedPhone(dan, "dan-alias", true)
		mkUsers(t, st, ann, bob, cleo, dan)
		mkUsers(t, st, verifiedEmail(newUser(otherPool, "+15550000009", "sub-other", pool.StatusConfirmed), "other@example.com", true))

		tests := []struct {
			name, identifier, wantSub string // "" = ErrNotFound
		}{
			{"username (email)", "ann@example.com", ann.Sub},
			{"username (phone)", "+15550000001", bob.Sub},
			{"verified email alias", "bob@example.com", bob.Sub},
			{"unverified phone", "+15550000002", ""},
			{"email and phone equal", "dan-alias", dan.Sub},
			{"unknown", "nobody@example.com", ""},
			{"empty", "", ""},
			{"case differs", "Bob@example.com", ""},
			{"alias in other pool", "other@example.com", ""},
			{"username in other pool", "+15550000009", ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				wantIdentifiers(t, st, map[string]string{tc.identifier: tc.wantSub})
			})
		}
		got, err := st.GetUserByIdentifier(t.Context(), poolID, "bob@example.com")
		must(t, "GetUserByIdentifier alias", err)
		wantEqual(t, "user found by alias", got, bob)
		got, err = st.GetUserByIdentifier(t.Context(), otherPool, "other@example.com")
		must(t, "GetUserByIdentifier in other pool", err)
		if got.PoolID != otherPool || got.Sub != "sub-other" {
			t.Errorf("alias in other pool found %s/%s", got.PoolID, got.Sub)
		}
	})

	t.Run("CreateUser", func(t *testing.T) {
		t.Parallel()
		// Each case starts from the same users: bob (CONFIRMED, email
		// alias) and una (UNCONFIRMED, phone alias).
		bob := verifiedEmail(newUser(poolID, "+15550000001", "sub-bob", pool.StatusConfirmed), "bob@example.com", true)
		una := verifiedPhone(newUser(poolID, "una@example.com", "sub-una", pool.StatusUnconfirmed), "+15550000003", true)
		tests := []struct {
			name         string
			user         pool.User
			wantErr      error
			wantReplaced bool
			want         map[string]string
		}{
			{
				name:    "username is a confirmed user's alias",
				user:    newUser(poolID, "bob@example.com", "sub-new", pool.StatusUnconfirmed),
				wantErr: pool.ErrConflict,
				want:    map[string]string{"bob@example.com": bob.Sub},
			},
			{
				name:    "username is an unconfirmed user's alias",
				user:    newUser(poolID, "+15550000003", "sub-new", pool.StatusUnconfirmed),
				wantErr: pool.ErrConflict,
				want:    map[string]string{"+15550000003": una.Sub, "una@example.com": una.Sub},
			},
			{
				name:    "verified email is another user's username",
				user:    verifiedEmail(newUser(poolID, "+15550000004", "sub-new", pool.StatusConfirmed), "una@example.com", true),
				wantErr: pool.ErrConflict,
				want:    map[string]string{"+15550000004": "", "una@example.com": una.Sub},
			},
			{
				name:    "verified phone is another user's alias",
				user:    verifiedPhone(newUser(poolID, "new@example.com", "sub-new", pool.StatusConfirmed), "+15550000003", true),
				wantErr: pool.ErrConflict,
				want:    map[string]string{"new@example.com": "", "+15550000003": una.Sub},
			},
			{
				name:         "username held by an unconfirmed user",
				user:         newUser(poolID, "una@example.com", "sub-new", pool.StatusUnconfirmed),
				wantReplaced: true,
				// The replaced user's alias is gone with it.
				want: map[string]string{"una@example.com": "sub-new", "+15550000003": ""},
			},
			{
				name:         "replacement keeps the replaced user's alias",
				user:         verifiedPhone(newUser(poolID, "una@example.com", "sub-new", pool.StatusConfirmed), "+15550000003", true),
				wantReplaced: true,
				want:         map[string]string{"una@example.com": "sub-new", "+15550000003": "sub-new"},
			},
			{
				name: "free username with a free verified alias",
				user: verifiedPhone(newUser(poolID, "new@example.com", "sub-new", pool.StatusConfirmed), "+15550000005", true),
				want: map[string]string{"new@example.com": "sub-new", "+15550000005": "sub-new"},
			},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				st := s.open(t)
				mkPools(t, st, poolID)
				mkUsers(t, st, bob, una)
				replaced, err := st.CreateUser(t.Context(), tc.user)
				wantErr(t, "CreateUser", err, tc.wantErr)
				if replaced != tc.wantReplaced {
					t.Errorf("CreateUser: replaced = %v, want %v", replaced, tc.wantReplaced)
				}
				wantIdentifiers(t, st, tc.want)
				wantUnchanged(t, st, bob)
				if tc.wantErr != nil {
					// Nothing of the failed user is stored.
					wantUnchanged(t, st, una)
					_, err := st.GetUserBySub(t.Context(), poolID, tc.user.Sub)
					wantErr(t, "GetUserBySub of the failed user", err, pool.ErrNotFound)
					return
				}
				wantUnchanged(t, st, tc.user)
				if tc.wantReplaced {
					_, err := st.GetUserBySub(t.Context(), poolID, una.Sub)
					wantErr(t, "GetUserBySub of the replaced user", err, pool.ErrNotFound)
				}
			})
		}
	})

	t.Run("UpdateUser", func(t *testing.T) {
		t.Parallel()
		// Each case starts from ann (email verified and equal to her
		// username, so no alias; a verified phone alias) and ben
		// (unverified email), and updates one of them.
		ann := verifiedEmail(newUser(poolID, "ann@example.com", "sub-ann", pool.StatusConfirmed), "ann@example.com", true)
		ann = verifiedPhone(ann, "+15550001001", true)
		ben := newUser(poolID, "ben@example.com", "sub-ben", pool.StatusConfirmed)
		tests := []struct {
			name    string
			update  pool.User
			wantErr error
			want    map[string]string
		}{
			{
				name:    "verify an email that is another user's alias",
				update:  verifiedEmail(ben, "+15550001001", true),
				wantErr: pool.ErrConflict,
				want:    map[string]string{"+15550001001": ann.Sub, "ben@example.com": ben.Sub},
			},
			{
				name:    "verify a phone that is another user's username",
				update:  verifiedPhone(ben, "ann@example.com", true),
				wantErr: pool.ErrConflict,
				want:    map[string]string{"ann@example.com": ann.Sub, "ben@example.com": ben.Sub},
			},
			{
				name:   "verify a free email",
				update: verifiedEmail(ben, "ben.work@example.com", true),
				want:   map[string]string{"ben.work@example.com": ben.Sub, "ben@example.com": ben.Sub},
			},
			{
				name:   "verify the email equal to the username",
				update: verifiedEmail(ben, "ben@example.com", true),
				want:   map[string]string{"ben@example.com": ben.Sub},
			},
			{
				name:   "rename to a free username",
				update: func() pool.User { u := ben; u.Username = "benjamin@example.com"; return u }(),
				want:   map[string]string{"benjamin@example.com": ben.Sub, "ben@example.com": ""},
			},
			{
				name:    "rename to another user's username",
				update:  func() pool.User { u := ben; u.Username = "ann@example.com"; return u }(),
				wantErr: pool.ErrConflict,
				want:    map[string]string{"ann@example.com": ann.Sub, "ben@example.com": ben.Sub},
			},
			{
				name:    "rename to another user's alias",
				update:  func() pool.User { u := ben; u.Username = "+15550001001"; return u }(),
				wantErr: pool.ErrConflict,
				want:    map[string]string{"+15550001001": ann.Sub, "ben@example.com": ben.Sub},
			},
			{
				name: "rename and verify an alias that clashes",
				update: func() pool.User {
					u := verifiedPhone(ben, "+15550001001", true)
					u.Username = "benjamin@example.com"
					return u
				}(),
				wantErr: pool.ErrConflict,
				want:    map[string]string{"benjamin@example.com": "", "ben@example.com": ben.Sub, "+15550001001": ann.Sub},
			},
			{
				name:   "change the aliased phone",
				update: verifiedPhone(ann, "+15550001002", true),
				want:   map[string]string{"+15550001001": "", "+15550001002": ann.Sub, "ann@example.com": ann.Sub},
			},
			{
				name:   "unverify the aliased phone",
				update: verifiedPhone(ann, "+15550001001", false),
				want:   map[string]string{"+15550001001": "", "ann@example.com": ann.Sub},
			},
			{
				name:   "remove the aliased phone",
				update: withAttrs(ann, pool.AttrPhoneNumber, "", pool.AttrPhoneNumberVerified, ""),
				want:   map[string]string{"+15550001001": "", "ann@example.com": ann.Sub},
			},
			{
				// The old alias becomes the username and the old username,
				// still a verified email, becomes an alias.
				name:   "rename to the user's own alias",
				update: func() pool.User { u := ann; u.Username = "+15550001001"; return u }(),
				want:   map[string]string{"+15550001001": ann.Sub, "ann@example.com": ann.Sub},
			},
			{
				name: "rename to the user's own alias and drop the old username",
				update: func() pool.User {
					u := verifiedEmail(ann, "ann@example.com", false)
					u.Username = "+15550001001"
					return u
				}(),
				want: map[string]string{"+15550001001": ann.Sub, "ann@example.com": ""},
			},
			{
				name:    "user gone",
				update:  newUser(poolID, "ghost@example.com", "sub-ghost", pool.StatusConfirmed),
				wantErr: pool.ErrNotFound,
				want:    map[string]string{"ghost@example.com": ""},
			},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				st := s.open(t)
				mkPools(t, st, poolID)
				mkUsers(t, st, ann, ben)
				upd := tc.update
				upd.UpdatedAt = t0.Add(1000)
				err := st.UpdateUser(t.Context(), upd)
				wantErr(t, "UpdateUser", err, tc.wantErr)
				wantIdentifiers(t, st, tc.want)
				if tc.wantErr != nil {
					wantUnchanged(t, st, ann, ben)
					return
				}
				upd.UpdatedAt = stored(upd.UpdatedAt)
				wantUnchanged(t, st, upd)
				got, err := st.GetUser(t.Context(), poolID, upd.Username)
				must(t, "GetUser by the new username", err)
				wantEqual(t, "user by username", got, upd)
			})
		}
	})

	t.Run("FreedAliasCanBeTaken", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		ctx := t.Context()
		ann := verifiedPhone(newUser(poolID, "ann@example.com", "sub-ann", pool.StatusConfirmed), "+15550001001", true)
		ben := newUser(poolID, "ben@example.com", "sub-ben", pool.StatusConfirmed)
		mkUsers(t, st, ann, ben)
		must(t, "UpdateUser ann unverifies", st.UpdateUser(ctx, verifiedPhone(ann, "+15550001001", false)))
		must(t, "UpdateUser ben verifies", st.UpdateUser(ctx, verifiedPhone(ben, "+15550001001", true)))
		wantIdentifiers(t, st, map[string]string{"+15550001001": ben.Sub})
		// ann verifying it again now clashes.
		wantErr(t, "UpdateUser ann verifies again",
			st.UpdateUser(ctx, verifiedPhone(ann, "+15550001001", true)), pool.ErrConflict)
	})

	t.Run("DeleteFreesIdentifiers", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		ctx := t.Context()
		ann := verifiedEmail(newUser(poolID, "+15550001001", "sub-ann", pool.StatusConfirmed), "ann@example.com", true)
		ben := newUser(poolID, "ben@example.com", "sub-ben", pool.StatusConfirmed)
		mkUsers(t, st, ann, ben)
		must(t, "DeleteUser", st.DeleteUser(ctx, poolID, ann.Sub))
		wantIdentifiers(t, st, map[string]string{"+15550001001": "", "ann@example.com": "", "ben@example.com": ben.Sub})

		// Both of ann's identifiers are free for others now: her alias as
		// a username, her username as an alias.
		cat := newUser(poolID, "ann@example.com", "sub-cat", pool.StatusConfirmed)
		mkUsers(t, st, cat)
		must(t, "UpdateUser ben takes the phone", st.UpdateUser(ctx, verifiedPhone(ben, "+15550001001", true)))
		wantIdentifiers(t, st, map[string]string{"+15550001001": ben.Sub, "ann@example.com": cat.Sub})
		wantErr(t, "DeleteUser again", st.DeleteUser(ctx, poolID, ann.Sub), pool.ErrNotFound)
	})

	t.Run("ConcurrentVerifySameEmail", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		const n = 10
		const email = "shared@example.com"
		users := make([]pool.User, n)
		for i := range users {
			users[i] = newUser(poolID, fmt.Sprintf("+1555000%04d", i), fmt.Sprintf("sub-%02d", i), pool.StatusConfirmed)
		}
		mkUsers(t, st, users...)
		errs := concurrently(n, func(i int) error {
			return st.UpdateUser(t.Context(), verifiedEmail(users[i], email, true))
		})
		ok, conflicts := tally(t, "UpdateUser", errs, pool.ErrConflict)
		if ok != 1 || conflicts != n-1 {
			t.Fatalf("concurrent UpdateUser: %d succeeded and %d conflicted, want 1 and %d", ok, conflicts, n-1)
		}
		winner := slices.IndexFunc(errs, func(err error) bool { return err == nil })
		wantIdentifiers(t, st, map[string]string{email: users[winner].Sub})
		for i, u := range users {
			if i != winner {
				wantUnchanged(t, st, u)
			}
		}
	})

	t.Run("CreateRacesAlias", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		ann := newUser(poolID, "+15550001001", "sub-ann", pool.StatusConfirmed)
		mkUsers(t, st, ann)
		const rounds = 20
		for r := range rounds {
			x := fmt.Sprintf("x%02d@example.com", r)
			newSub := fmt.Sprintf("sub-x%02d", r)
			errs := concurrently(2, func(i int) error {
				if i == 0 {
					_, err := st.CreateUser(t.Context(), newUser(poolID, x, newSub, pool.StatusUnconfirmed))
					return err
				}
				return st.UpdateUser(t.Context(), verifiedEmail(ann, x, true))
			})
			ok, conflicts := tally(t, "round "+x, errs, pool.ErrConflict)
			if ok != 1 || conflicts != 1 {
				t.Fatalf("round %d: %d succeeded and %d conflicted, want 1 and 1", r, ok, conflicts)
			}
			want := map[string]string{x: newSub}
			if errs[0] != nil {
				want[x] = ann.Sub
				_, err := st.GetUserBySub(t.Context(), poolID, newSub)
				wantErr(t, "GetUserBySub of the losing sign-up", err, pool.ErrNotFound)
			} else {
				_, err := st.GetUserBySub(t.Context(), poolID, newSub)
				must(t, "GetUserBySub of the winning sign-up", err)
			}
			wantIdentifiers(t, st, want)
		}
	})
}

// BackfillUser is a users row as a store migrated to 00003 (before
// identifiers existed) holds it: Attributes is the stored JSON text.
type BackfillUser struct {
	PoolID, Sub, Username, Attributes string
	CreatedAt                         int64 // unix milliseconds
}

// IdentifierRow is a row of the identifiers table.
type IdentifierRow struct {
	PoolID, Identifier, Sub, Kind string
}

// IdentifierBackfill is a fixture for the backends' tests of the migration
// that adds identifiers: the pools and users rows to store before it runs,
// and every identifiers row it must then have produced, ordered by pool
// and identifier (byte order).
func IdentifierBackfill() (pools []string, users []BackfillUser, want []IdentifierRow) {
	pools = []string{poolID, otherPool}
	users = []BackfillUser{
		// Verified email equal to the username: no alias.
		{poolID, "sub-ann", "ann@example.com", `{"email":"ann@example.com","email_verified":"true"}`, 1},
		// Phone username with a verified email alias.
		{poolID, "sub-bob", "+15550000001", `{"phone_number":"+15550000001","phone_number_verified":"true","email":"bob@example.com","email_verified":"true"}`, 2},
		// Unverified phone, and a verified flag that is not exactly "true".
		{poolID, "sub-cleo", "cleo@example.com", `{"phone_number":"+15550000002","phone_number_verified":"false","email":"cleo2@example.com","email_verified":"TRUE"}`, 3},
		// Two users with the same verified email: the older keeps it.
		{poolID, "sub-erin", "erin@example.com", `{"email":"shared@example.com","email_verified":"true"}`, 5},
		{poolID, "sub-dave", "dave@example.com", `{"email":"shared@example.com","email_verified":"true"}`, 4},
		// A verified email that is another user's username: skipped.
		{poolID, "sub-finn", "finn@example.com", `{"email":"ann@example.com","email_verified":"true"}`, 6},
		// Verified flags without values, and attributes that are null.
		{poolID, "sub-gus", "+15550000003", `{"email_verified":"true","phone_number_verified":"true","phone_number":""}`, 7},
		{poolID, "sub-hal", "hal@example.com", `null`, 8},
		// The same value as one user's verified email and another's
		// verified phone: emails are backfilled first.
		{poolID, "sub-ida", "ida@example.com", `{"email":"+15550000005","email_verified":"true"}`, 10},
		{poolID, "sub-jo", "jo@example.com", `{"phone_number":"+15550000005","phone_number_verified":"true"}`, 9},
		// Both aliases.
		{poolID, "sub-kim", "kim", `{"email":"kim@example.com","email_verified":"true","phone_number":"+15550000006","phone_number_verified":"true"}`, 11},
		// Identifiers are per pool.
		{otherPool, "sub-other", "ann@example.com", `{"email":"bob@example.com","email_verified":"true"}`, 1},
	}
	want = []IdentifierRow{
		{poolID, "+15550000001", "sub-bob", "username"},
		{poolID, "+15550000003", "sub-gus", "username"},
		{poolID, "+15550000005", "sub-ida", "email"},
		{poolID, "+15550000006", "sub-kim", "phone_number"},
		{poolID, "ann@example.com", "sub-ann", "username"},
		{poolID, "bob@example.com", "sub-bob", "email"},
		{poolID, "cleo@example.com", "sub-cleo", "username"},
		{poolID, "dave@example.com", "sub-dave", "username"},
		{poolID, "erin@example.com", "sub-erin", "username"},
		{poolID, "finn@example.com", "sub-finn", "username"},
		{poolID, "hal@example.com", "sub-hal", "username"},
		{poolID, "ida@example.com", "sub-ida", "username"},
		{poolID, "jo@example.com", "sub-jo", "username"},
		{poolID, "kim", "sub-kim", "username"},
		{poolID, "kim@example.com", "sub-kim", "email"},
		{poolID, "shared@example.com", "sub-dave", "email"},
		{otherPool, "ann@example.com", "sub-other", "username"},
		{otherPool, "bob@example.com", "sub-other", "email"},
	}
	return pools, users, want
}
