package storetest

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
)

func (s suite) testPools(t *testing.T) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		// Sub-millisecond digits and a non-UTC zone must come back
		// truncated to the millisecond, in UTC.
		created := time.Date(2025, 3, 4, 5, 6, 7, 891_234_567, time.FixedZone("UTC+2", 2*3600))
		tests := []struct {
			name string
			pool pool.Pool
		}{
			{"defaults", newPool("eu-west-1_Defaults1", t0)},
			{"every setting", pool.Pool{
				ID:        "us-east-1_Custom123",
				Name:      "Custom ünïcode",
				HashKey:   []byte("0123456789abcdef0123456789abcdef"),
				Region:    "us-east-1",
				CreatedAt: created,
				Settings: pool.Settings{
					UsernameAttributes:         []string{pool.AttrEmail},
					AutoConfirm:                false,
					CodeLength:                 8,
					MaxAttempts:                5,
					SessionTTL:                 7*time.Minute + 30*time.Second + 1,
					SignUpCodeTTL:              48 * time.Hour,
					PreventUserExistenceErrors: false,
					DefaultPhoneRegion:         "GB",
				},
			}},
			{"empty settings", pool.Pool{ID: "eu-west-1_Empty0001", Name: "e", Region: testRegion, CreatedAt: t0}},
		}
		st := s.open(t)
		for _, tc := range tests {
			must(t, "CreatePool "+tc.name, st.CreatePool(t.Context(), tc.pool))
			got, err := st.GetPool(t.Context(), tc.pool.ID)
			must(t, "GetPool "+tc.name, err)
			want := tc.pool
			want.CreatedAt = stored(want.CreatedAt)
			wantEqual(t, "GetPool "+tc.name, got, want)
		}
	})

	t.Run("UpdateSettings", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		ctx := t.Context()
		p := newPool("eu-west-1_Update001", t0)
		must(t, "CreatePool", st.CreatePool(ctx, p))
		limits := pool.StrictLimits()
		limits.SMSCountries = []string{"GB", "+353"}
		next := p.Settings
		next.CodeLength = 8
		next.Limits = &limits
		must(t, "UpdatePoolSettings", st.UpdatePoolSettings(ctx, p.ID, "renamed", next))
		got, err := st.GetPool(ctx, p.ID)
		must(t, "GetPool", err)
		p.Name, p.Settings = "renamed", next
		wantEqual(t, "updated pool", got, p)
		wantErr(t, "update missing pool", st.UpdatePoolSettings(ctx, "eu-west-1_Missing01", "x", next), pool.ErrNotFound)
	})

	t.Run("DuplicateID", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		orig := newPool(poolID, t0)
		must(t, "CreatePool", st.CreatePool(t.Context(), orig))
		dup := newPool(poolID, t0.Add(time.Hour))
		dup.Name = "impostor"
		wantErr(t, "CreatePool duplicate", st.CreatePool(t.Context(), dup), pool.ErrConflict)
		got, err := st.GetPool(t.Context(), poolID)
		must(t, "GetPool", err)
		wantEqual(t, "pool after duplicate", got, orig)
	})

	t.Run("GetMissing", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		_, err := st.GetPool(t.Context(), "eu-west-1_Missing00")
		wantErr(t, "GetPool missing", err, pool.ErrNotFound)
	})

	t.Run("ListOldestFirst", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		got, err := st.ListPools(t.Context())
		must(t, "ListPools empty", err)
		if len(got) != 0 {
			t.Fatalf("ListPools on empty store: got %d pools", len(got))
		}
		// Insertion order differs from age order.
		offsets := []time.Duration{2 * time.Hour, 0, time.Hour}
		ids := []string{"eu-west-1_Youngest1", "eu-west-1_Oldest001", "eu-west-1_Middle001"}
		for i, id := range ids {
			must(t, "CreatePool", st.CreatePool(t.Context(), newPool(id, t0.Add(offsets[i]))))
		}
		got, err = st.ListPools(t.Context())
		must(t, "ListPools", err)
		want := []pool.Pool{
			newPool(ids[1], t0),
			newPool(ids[2], t0.Add(time.Hour)),
			newPool(ids[0], t0.Add(2*time.Hour)),
		}
		wantEqual(t, "ListPools", got, want)
	})
}

func (s suite) testClients(t *testing.T) {
	client := func(id, poolID string, createdAt time.Time) pool.Client {
		return pool.Client{
			ID:              id,
			PoolID:          poolID,
			Name:            "app " + id,
			AccessTokenTTL:  pool.DefaultAccessTokenTTL,
			IDTokenTTL:      pool.DefaultIDTokenTTL,
			RefreshTokenTTL: pool.DefaultRefreshTokenTTL,
			CreatedAt:       createdAt,
		}
	}

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		withSecret := client("secretclient0000000000000a", poolID,
			time.Date(2025, 1, 2, 3, 4, 5, 999_999_999, time.FixedZone("UTC-5", -5*3600)))
		withSecret.Secret = "s3cr3t-value-kept-in-clear"
		withSecret.AccessTokenTTL = 5*time.Minute + 1
		withSecret.IDTokenTTL = 24 * time.Hour
		withSecret.RefreshTokenTTL = 3650 * 24 * time.Hour
		for _, c := range []pool.Client{client(clientID, poolID, t0), withSecret} {
			must(t, "CreateClient", st.CreateClient(t.Context(), c))
			got, err := st.GetClient(t.Context(), c.ID)
			must(t, "GetClient", err)
			want := c
			want.CreatedAt = stored(c.CreatedAt)
			wantEqual(t, "GetClient", got, want)
		}
	})

	t.Run("MissingPool", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		err := st.CreateClient(t.Context(), client(clientID, "eu-west-1_Missing00", t0))
		wantErr(t, "CreateClient in missing pool", err, pool.ErrNotFound)
		_, err = st.GetClient(t.Context(), clientID)
		wantErr(t, "GetClient after failed create", err, pool.ErrNotFound)
	})

	t.Run("DuplicateID", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID, otherPool)
		orig := client(clientID, poolID, t0)
		must(t, "CreateClient", st.CreateClient(t.Context(), orig))
		// Client IDs are global: a clash in another pool is still a clash.
		for _, p := range []string{poolID, otherPool} {
			wantErr(t, "CreateClient duplicate in "+p,
				st.CreateClient(t.Context(), client(clientID, p, t0.Add(time.Hour))), pool.ErrConflict)
		}
		got, err := st.GetClient(t.Context(), clientID)
		must(t, "GetClient", err)
		wantEqual(t, "client after duplicates", got, orig)
	})

	t.Run("GetMissing", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		_, err := st.GetClient(t.Context(), "nosuchclient00000000000000")
		wantErr(t, "GetClient missing", err, pool.ErrNotFound)
	})

	t.Run("ListOldestFirst", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID, otherPool)
		got, err := st.ListClients(t.Context(), poolID)
		must(t, "ListClients empty", err)
		if len(got) != 0 {
			t.Fatalf("ListClients of pool without clients: got %d", len(got))
		}
		c1 := client("client1aaaaaaaaaaaaaaaaaaa", poolID, t0.Add(time.Hour))
		c2 := client("client2aaaaaaaaaaaaaaaaaaa", poolID, t0)
		c3 := client("client3aaaaaaaaaaaaaaaaaaa", poolID, t0.Add(2*time.Hour))
		other := client("client4aaaaaaaaaaaaaaaaaaa", otherPool, t0)
		for _, c := range []pool.Client{c1, c2, c3, other} {
			must(t, "CreateClient", st.CreateClient(t.Context(), c))
		}
		got, err = st.ListClients(t.Context(), poolID)
		must(t, "ListClients", err)
		wantEqual(t, "ListClients", got, []pool.Client{c2, c1, c3})
	})
}

func (s suite) testSigningKeys(t *testing.T) {
	key := func(poolID, kid string, createdAt time.Time) pool.SigningKey {
		return pool.SigningKey{
			PoolID:        poolID,
			KID:           kid,
			Algorithm:     "RS256",
			PrivateKeyPEM: []byte("-----BEGIN PRIVATE KEY-----\n" + kid + "\n-----END PRIVATE KEY-----\n"),
			CreatedAt:     createdAt,
		}
	}

	t.Run("RoundTripNewestFirst", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID, otherPool)
		got, err := st.ListSigningKeys(t.Context(), poolID)
		must(t, "ListSigningKeys empty", err)
		if len(got) != 0 {
			t.Fatalf("ListSigningKeys of pool without keys: got %d", len(got))
		}
		oldest := key(poolID, "kid-oldest", t0)
		oldest.RetiredAt = ptr(time.Date(2025, 6, 2, 0, 0, 0, 555_555_555, time.FixedZone("X", 3600)))
		newest := key(poolID, "kid-newest", t0.Add(2*time.Hour))
		middle := key(poolID, "kid-middle", t0.Add(time.Hour))
		middle.RetiredAt = ptr(t0.Add(90 * time.Minute))
		// Same kid in another pool is a different key.
		other := key(otherPool, "kid-oldest", t0.Add(3*time.Hour))
		for _, k := range []pool.SigningKey{oldest, newest, middle, other} {
			must(t, "AddSigningKey", st.AddSigningKey(t.Context(), k))
		}
		got, err = st.ListSigningKeys(t.Context(), poolID)
		must(t, "ListSigningKeys", err)
		oldest.RetiredAt = storedPtr(oldest.RetiredAt)
		wantEqual(t, "ListSigningKeys", got, []pool.SigningKey{newest, middle, oldest})
		got, err = st.ListSigningKeys(t.Context(), otherPool)
		must(t, "ListSigningKeys other pool", err)
		wantEqual(t, "ListSigningKeys other pool", got, []pool.SigningKey{other})
	})

	t.Run("DuplicateKID", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		orig := key(poolID, "kid-1", t0)
		must(t, "AddSigningKey", st.AddSigningKey(t.Context(), orig))
		err := st.AddSigningKey(t.Context(), key(poolID, "kid-1", t0.Add(time.Hour)))
		wantErr(t, "AddSigningKey duplicate", err, pool.ErrConflict)
		wantNoSecret(t, "AddSigningKey duplicate", err, orig.PrivateKeyPEM)
		got, err := st.ListSigningKeys(t.Context(), poolID)
		must(t, "ListSigningKeys", err)
		wantEqual(t, "keys after duplicate", got, []pool.SigningKey{orig})
	})

	t.Run("MissingPool", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		k := key("eu-west-1_Missing00", "kid-1", t0)
		err := st.AddSigningKey(t.Context(), k)
		wantErr(t, "AddSigningKey in missing pool", err, pool.ErrNotFound)
		wantNoSecret(t, "AddSigningKey in missing pool", err, k.PrivateKeyPEM)
	})
}
