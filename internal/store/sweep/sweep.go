// Package sweep deletes expired sign-in sessions, codes and refresh tokens
// in small batches, on any store backend. Each batch is one short
// statement, so sweeping never holds locks that sign-ins wait on for long,
// and running it on every node at once is harmless.
package sweep

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// Config tunes a Sweeper; zero values take the defaults.
type Config struct {
	// Interval is the pause between sweeps (default 1 minute).
	Interval time.Duration
	// BatchSize is the most records one statement deletes (default 500).
	BatchSize int
	// Pause is the rest between batches of one sweep, leaving the database
	// to sign-ins (default 10ms).
	Pause  time.Duration
	Now    func() time.Time
	Logger *slog.Logger
}

// Sweeper removes expired records from a store.
type Sweeper struct {
	st  store.Maintenance
	cfg Config
}

// New returns a Sweeper over st.
func New(st store.Maintenance, cfg Config) *Sweeper {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.Pause <= 0 {
		cfg.Pause = 10 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Sweeper{st: st, cfg: cfg}
}

// Sweep deletes everything expired by now, batch by batch, and returns how
// many records of each kind it deleted.
func (s *Sweeper) Sweep(ctx context.Context) (map[store.Expiring]int, error) {
	now := s.cfg.Now()
	deleted := make(map[store.Expiring]int, len(store.ExpiringKinds))
	for _, kind := range store.ExpiringKinds {
		for {
			n, err := s.st.DeleteExpired(ctx, kind, now, s.cfg.BatchSize)
			deleted[kind] += n
			if err != nil {
				return deleted, fmt.Errorf("sweep %s: %w", kind, err)
			}
			if n < s.cfg.BatchSize {
				break
			}
			select {
			case <-ctx.Done():
				return deleted, ctx.Err()
			case <-time.After(s.cfg.Pause):
			}
		}
	}
	return deleted, nil
}

// Run sweeps every Interval until ctx ends. Errors are logged, not fatal:
// a missed sweep only leaves expired rows a little longer.
func (s *Sweeper) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		deleted, err := s.Sweep(ctx)
		if err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("sweep failed", "error", err)
		}
		var attrs []any
		for _, kind := range store.ExpiringKinds {
			if n := deleted[kind]; n > 0 {
				attrs = append(attrs, string(kind), n)
			}
		}
		if len(attrs) > 0 {
			s.cfg.Logger.Info("swept expired records", attrs...)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
