package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Waiting for the migration lock: goose polls pg_try_advisory_lock every
// lockPollSeconds (its minimum) for up to lockPolls times, long enough for
// another node's slow migration to finish.
const (
	lockPollSeconds = 1
	lockPolls       = 15 * 60
)

// migrate applies every pending migration. Nodes that start together
// serialise on a session advisory lock keyed lockID (Latchkey's own rather
// than goose's default, so another goose-migrated application sharing the
// database never waits on it): exactly one applies each migration and the
// rest find it done. It uses a goose Provider rather than
// goose's package-level functions so that nothing global (base FS, dialect,
// Go-migration registry) is shared with other stores or packages.
func migrate(ctx context.Context, pgPool *pgxpool.Pool, lockID int64) error {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(lockID),
		lock.WithLockTimeout(lockPollSeconds, lockPolls),
	)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// Closing db does not close pgPool; goose borrows pool connections.
	db := stdlib.OpenDBFromPool(pgPool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithDisableGlobalRegistry(true),
		goose.WithSessionLocker(locker),
	)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
