package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
)

func (s suite) testRefreshTokens(t *testing.T) {
	const sub = "sub-nina"

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		zone := time.FixedZone("X", -7*3600)
		live := newRefreshToken("rt-live", hash("rt-live"), poolID, sub)
		live.AuthTime = time.Date(2025, 5, 31, 23, 59, 59, 999_999_999, zone)
		live.CreatedAt = time.Date(2025, 6, 1, 0, 0, 0, 1_500_000, zone)
		live.ExpiresAt = live.CreatedAt.Add(pool.DefaultRefreshTokenTTL)
		revoked := newRefreshToken("rt-revoked", hash("rt-revoked"), poolID, sub)
		revoked.RevokedAt = ptr(time.Date(2025, 6, 1, 1, 0, 0, 250_999, zone))

		for _, tok := range []pool.RefreshToken{live, revoked} {
			must(t, "CreateRefreshToken "+tok.ID, st.CreateRefreshToken(t.Context(), tok))
			want := tok
			want.AuthTime = stored(tok.AuthTime)
			want.CreatedAt = stored(tok.CreatedAt)
			want.ExpiresAt = stored(tok.ExpiresAt)
			want.RevokedAt = storedPtr(tok.RevokedAt)
			got, err := st.GetRefreshToken(t.Context(), tok.Hash)
			must(t, "GetRefreshToken "+tok.ID, err)
			wantEqual(t, "GetRefreshToken", got, want)
			got, err = st.GetRefreshTokenByID(t.Context(), tok.ID)
			must(t, "GetRefreshTokenByID "+tok.ID, err)
			wantEqual(t, "GetRefreshTokenByID", got, want)
		}
	})

	t.Run("CreateConflict", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		orig := newRefreshToken("rt-1", hash("rt-1"), poolID, sub)
		must(t, "CreateRefreshToken", st.CreateRefreshToken(t.Context(), orig))
		tests := []struct {
			name string
			tok  pool.RefreshToken
		}{
			{"same ID", newRefreshToken("rt-1", hash("rt-2"), poolID, sub)},
			{"same hash", newRefreshToken("rt-2", hash("rt-1"), poolID, sub)},
		}
		for _, tc := range tests {
			err := st.CreateRefreshToken(t.Context(), tc.tok)
			wantErr(t, "CreateRefreshToken "+tc.name, err, pool.ErrConflict)
			wantNoSecret(t, "CreateRefreshToken "+tc.name, err, tc.tok.Hash)
		}
		_, err := st.GetRefreshTokenByID(t.Context(), "rt-2")
		wantErr(t, "GetRefreshTokenByID of rejected token", err, pool.ErrNotFound)
		_, err = st.GetRefreshToken(t.Context(), hash("rt-2"))
		wantErr(t, "GetRefreshToken of rejected token", err, pool.ErrNotFound)
	})

	t.Run("Missing", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		h := hash("never issued")
		_, err := st.GetRefreshToken(t.Context(), h)
		wantErr(t, "GetRefreshToken", err, pool.ErrNotFound)
		wantNoSecret(t, "GetRefreshToken", err, h)
		_, err = st.GetRefreshTokenByID(t.Context(), "rt-none")
		wantErr(t, "GetRefreshTokenByID", err, pool.ErrNotFound)
		wantErr(t, "RevokeRefreshToken", st.RevokeRefreshToken(t.Context(), "rt-none", t0), pool.ErrNotFound)
		n, err := st.RevokeUserRefreshTokens(t.Context(), poolID, "sub-none", t0)
		must(t, "RevokeUserRefreshTokens of user without tokens", err)
		if n != 0 {
			t.Errorf("RevokeUserRefreshTokens of user without tokens = %d, want 0", n)
		}
	})

	t.Run("RevokeIdempotent", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		ctx := t.Context()
		tok := newRefreshToken("rt-1", hash("rt-1"), poolID, sub)
		other := newRefreshToken("rt-2", hash("rt-2"), poolID, sub)
		must(t, "CreateRefreshToken", st.CreateRefreshToken(ctx, tok))
		must(t, "CreateRefreshToken", st.CreateRefreshToken(ctx, other))

		first := t0.Add(time.Hour + 777*time.Microsecond)
		must(t, "RevokeRefreshToken", st.RevokeRefreshToken(ctx, tok.ID, first))
		must(t, "RevokeRefreshToken again", st.RevokeRefreshToken(ctx, tok.ID, first.Add(time.Hour)))

		got, err := st.GetRefreshToken(ctx, tok.Hash)
		must(t, "GetRefreshToken", err)
		want := tok
		want.RevokedAt = ptr(stored(first))
		wantEqual(t, "revoked token keeps its first revocation time", got, want)
		if !got.Revoked() {
			t.Errorf("Revoked() = false after revocation")
		}
		got, err = st.GetRefreshTokenByID(ctx, other.ID)
		must(t, "GetRefreshTokenByID other", err)
		if got.RevokedAt != nil {
			t.Errorf("revoking %s revoked %s too", tok.ID, other.ID)
		}
	})

	t.Run("RevokeUserTokens", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID, otherPool)
		ctx := t.Context()
		at := t0.Add(time.Hour)
		earlier := t0.Add(time.Minute)

		var live []pool.RefreshToken
		for i := range 3 {
			id := fmt.Sprintf("rt-live-%d", i)
			live = append(live, newRefreshToken(id, hash(id), poolID, sub))
		}
		already := newRefreshToken("rt-revoked", hash("rt-revoked"), poolID, sub)
		already.RevokedAt = &earlier
		expired := newRefreshToken("rt-expired", hash("rt-expired"), poolID, sub)
		expired.ExpiresAt = at.Add(-time.Second)
		otherUser := newRefreshToken("rt-other-user", hash("rt-other-user"), poolID, "sub-oscar")
		otherPoolSameSub := newRefreshToken("rt-other-pool", hash("rt-other-pool"), otherPool, sub)
		for _, tok := range append(live, already, expired, otherUser, otherPoolSameSub) {
			must(t, "CreateRefreshToken "+tok.ID, st.CreateRefreshToken(ctx, tok))
		}

		n, err := st.RevokeUserRefreshTokens(ctx, poolID, sub, at)
		must(t, "RevokeUserRefreshTokens", err)
		if n != len(live) {
			t.Errorf("RevokeUserRefreshTokens = %d, want %d (live tokens only)", n, len(live))
		}
		wantRevokedAt := func(tok pool.RefreshToken, want *time.Time) {
			t.Helper()
			got, err := st.GetRefreshTokenByID(ctx, tok.ID)
			must(t, "GetRefreshTokenByID "+tok.ID, err)
			wantEqual(t, tok.ID+" RevokedAt", got.RevokedAt, want)
		}
		for _, tok := range live {
			wantRevokedAt(tok, &at)
		}
		wantRevokedAt(already, &earlier)
		wantRevokedAt(expired, nil)
		wantRevokedAt(otherUser, nil)
		wantRevokedAt(otherPoolSameSub, nil)

		n, err = st.RevokeUserRefreshTokens(ctx, poolID, sub, at.Add(time.Minute))
		must(t, "RevokeUserRefreshTokens again", err)
		if n != 0 {
			t.Errorf("second RevokeUserRefreshTokens = %d, want 0", n)
		}
	})
}
