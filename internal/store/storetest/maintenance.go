package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
)

func (s suite) testMaintenance(t *testing.T) {
	t.Run("DeleteExpired", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		ctx := t.Context()
		now := t0.Add(time.Hour)
		// Five expired and two live records of each kind; one expires
		// exactly at now, which counts as expired.
		for i := 0; i < 7; i++ {
			expires := now.Add(-time.Duration(i) * time.Minute)
			if i >= 5 {
				expires = now.Add(time.Duration(i) * time.Minute)
			}
			sess := newSession(fmt.Sprintf("sess-%d", i), hash(fmt.Sprintf("sess %d", i)))
			sess.ExpiresAt = expires
			must(t, "CreateSession", st.CreateSession(ctx, sess))
			code := newCode(fmt.Sprintf("user%d@example.com", i), hash(fmt.Sprintf("code %d", i)))
			code.ExpiresAt = expires
			must(t, "PutCode", st.PutCode(ctx, code))
			rt := newRefreshToken(fmt.Sprintf("rt-%d", i), hash(fmt.Sprintf("rt %d", i)), poolID, "sub")
			rt.ExpiresAt = expires
			must(t, "CreateRefreshToken", st.CreateRefreshToken(ctx, rt))
		}
		// The newer kinds are swept in their own subtests (limits.go, …).
		for _, kind := range []store.Expiring{store.ExpiringSessions, store.ExpiringCodes, store.ExpiringRefreshTokens} {
			var batches []int
			for {
				n, err := st.DeleteExpired(ctx, kind, now, 2)
				must(t, "DeleteExpired "+string(kind), err)
				batches = append(batches, n)
				if n == 0 {
					break
				}
			}
			wantEqual(t, "batches of "+string(kind), batches, []int{2, 2, 1, 0})
		}
		// The live records are still there, the expired ones gone.
		for i := 0; i < 7; i++ {
			_, errSess := st.GetSession(ctx, hash(fmt.Sprintf("sess %d", i)))
			_, errRT := st.GetRefreshTokenByID(ctx, fmt.Sprintf("rt-%d", i))
			_, errCode := st.ConsumeCodeAttempt(ctx, poolID, fmt.Sprintf("user%d@example.com", i), pool.PurposeSignUp, t0)
			if i < 5 {
				wantErr(t, "expired session", errSess, pool.ErrNotFound)
				wantErr(t, "expired refresh token", errRT, pool.ErrNotFound)
				wantErr(t, "expired code", errCode, pool.ErrNotFound)
			} else {
				must(t, "live session", errSess)
				must(t, "live refresh token", errRT)
				must(t, "live code", errCode)
			}
		}
		if _, err := st.DeleteExpired(ctx, store.Expiring("users"), now, 2); err == nil {
			t.Error("DeleteExpired accepted an unknown kind")
		}
		if _, err := st.DeleteExpired(ctx, store.ExpiringSessions, now, 0); err == nil {
			t.Error("DeleteExpired accepted a zero limit")
		}
	})

	t.Run("CreateFirstPoolOnce", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		const n = 10
		first := func(i int) (pool.Pool, pool.Client, pool.SigningKey) {
			p := newPool(fmt.Sprintf("eu-west-1_First%04d", i), t0)
			c := pool.Client{
				ID: fmt.Sprintf("firstclient%015d", i), PoolID: p.ID, Name: "app",
				AccessTokenTTL: time.Hour, IDTokenTTL: time.Hour, RefreshTokenTTL: time.Hour, CreatedAt: t0,
			}
			k := pool.SigningKey{PoolID: p.ID, KID: fmt.Sprintf("kid-%d", i), Algorithm: "RS256", PrivateKeyPEM: []byte("pem"), CreatedAt: t0}
			return p, c, k
		}
		created := make([]bool, n)
		errs := concurrently(n, func(i int) error {
			p, c, k := first(i)
			var err error
			created[i], err = st.CreateFirstPool(t.Context(), p, c, k)
			return err
		})
		for _, err := range errs {
			must(t, "CreateFirstPool", err)
		}
		winners := 0
		for i, ok := range created {
			if !ok {
				continue
			}
			winners++
			p, c, k := first(i)
			pools, err := st.ListPools(t.Context())
			must(t, "ListPools", err)
			if len(pools) != 1 || pools[0].ID != p.ID {
				t.Fatalf("pools after CreateFirstPool = %+v, want only %s", pools, p.ID)
			}
			clients, err := st.ListClients(t.Context(), p.ID)
			must(t, "ListClients", err)
			if len(clients) != 1 || clients[0].ID != c.ID {
				t.Fatalf("clients = %+v", clients)
			}
			keys, err := st.ListSigningKeys(t.Context(), p.ID)
			must(t, "ListSigningKeys", err)
			if len(keys) != 1 || keys[0].KID != k.KID {
				t.Fatalf("keys = %+v", keys)
			}
		}
		if winners != 1 {
			t.Fatalf("%d of %d concurrent CreateFirstPool calls created a pool, want 1", winners, n)
		}
		p, c, k := first(99)
		again, err := st.CreateFirstPool(t.Context(), p, c, k)
		must(t, "CreateFirstPool on a store with a pool", err)
		if again {
			t.Fatal("CreateFirstPool created a second pool")
		}
	})

	t.Run("CheckHealthyStore", func(t *testing.T) {
		t.Parallel()
		st := s.open(t)
		mkPools(t, st, poolID)
		must(t, "CreateSession", st.CreateSession(t.Context(), newSession("sess-1", hash("token 1"))))
		must(t, "Check", st.Check(t.Context()))
	})
}
