package postgres

import (
	"io/fs"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/latchkey/latchkey/internal/store/postgres/pgtest"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestIdentifiersBackfill stores users in a database migrated to 00003,
// before identifiers existed, then opens it as a Store, which runs 00004,
// and checks the identifiers the backfill produced.
func TestIdentifiersBackfill(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := pgtest.URL(t)
	pgPool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pgPool.Close()
	db := stdlib.OpenDBFromPool(pgPool)
	defer db.Close()
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 3); err != nil {
		t.Fatalf("migrate to 00003: %v", err)
	}
	pools, users, want := storetest.IdentifierBackfill()
	for _, id := range pools {
		if _, err := pgPool.Exec(ctx,
			`INSERT INTO pools (id, name, region, settings, hash_key, created_at)
			 VALUES ($1, 'p', 'eu-west-1', '{}', '\x', 0)`, id); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range users {
		if _, err := pgPool.Exec(ctx,
			`INSERT INTO users (pool_id, sub, username, attributes, status, enabled, created_at, updated_at)
			 VALUES ($1, $2, $3, $4, 'CONFIRMED', true, $5, $5)`,
			u.PoolID, u.Sub, u.Username, u.Attributes, u.CreatedAt); err != nil {
			t.Fatal(err)
		}
	}

	s := openAt(t, url)
	defer closeStore(t, s)
	rows, err := s.db.Query(ctx,
		`SELECT pool_id, identifier, sub, kind FROM identifiers ORDER BY pool_id COLLATE "C", identifier`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storetest.IdentifierRow, error) {
		var ir storetest.IdentifierRow
		err := r.Scan(&ir.PoolID, &ir.Identifier, &ir.Sub, &ir.Kind)
		return ir, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("identifiers: %d rows, want %d", len(got), len(want))
	}
	for i := range max(len(got), len(want)) {
		var g, w storetest.IdentifierRow
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("identifiers row %d: got %+v, want %+v", i, g, w)
		}
	}
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check after the backfill: %v", err)
	}
	u, err := s.GetUserByIdentifier(ctx, want[0].PoolID, "bob@example.com")
	if err != nil || u.Sub != "sub-bob" {
		t.Fatalf("GetUserByIdentifier(bob@example.com) = %+v, %v", u, err)
	}
	if _, err := s.GetUserByIdentifier(ctx, want[0].PoolID, "cleo2@example.com"); err == nil {
		t.Errorf("GetUserByIdentifier found a user by an unverified email")
	}
}
