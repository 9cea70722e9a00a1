package sweep_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/sqlite"
	"github.com/latchkey/latchkey/internal/store/sweep"
)

func TestSweepDeletesExpiredInBatches(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := pool.Pool{ID: "local_Sweep0001", Name: "sweep", Region: "local", CreatedAt: now, Settings: pool.DefaultSettings(), HashKey: make([]byte, 32)}
	if err := st.CreatePool(ctx, p); err != nil {
		t.Fatal(err)
	}
	const expired, live = 1203, 7
	for i := 0; i < expired+live; i++ {
		expires := now.Add(-time.Minute)
		if i >= expired {
			expires = now.Add(time.Minute)
		}
		h := sha256.Sum256([]byte(fmt.Sprint(i)))
		if err := st.CreateSession(ctx, pool.AuthSession{ID: fmt.Sprint("s", i), TokenHash: h[:], Kind: pool.KindSignIn, PoolID: p.ID, ClientID: "c", Username: "u", MaxAttempts: 3, CreatedAt: now, ExpiresAt: expires}); err != nil {
			t.Fatal(err)
		}
		if i%100 == 0 {
			if err := st.CreateRefreshToken(ctx, pool.RefreshToken{ID: fmt.Sprint("r", i), Hash: h[:], PoolID: p.ID, ClientID: "c", Sub: "s", Username: "u", AuthTime: now, CreatedAt: now, ExpiresAt: expires}); err != nil {
				t.Fatal(err)
			}
		}
	}
	s := sweep.New(st, sweep.Config{BatchSize: 500, Pause: time.Millisecond, Now: func() time.Time { return now }})
	deleted, err := s.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if deleted[store.ExpiringSessions] != expired || deleted[store.ExpiringRefreshTokens] != 13 || deleted[store.ExpiringCodes] != 0 {
		t.Fatalf("deleted %v, want %d sessions and 13 refresh tokens", deleted, expired)
	}
	for i := expired; i < expired+live; i++ {
		h := sha256.Sum256([]byte(fmt.Sprint(i)))
		if _, err := st.GetSession(ctx, h[:]); err != nil {
			t.Fatalf("live session %d was swept: %v", i, err)
		}
	}
	again, err := s.Sweep(ctx)
	if err != nil || again[store.ExpiringSessions] != 0 {
		t.Fatalf("second sweep: %v %v", again, err)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sweep.New(st, sweep.Config{Interval: time.Millisecond}).Run(ctx); close(done) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	<-done
}
