package sqlite

import (
	"database/sql"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestIdentifiersBackfill stores users in a database migrated to 00003,
// before identifiers existed, then opens it as a Store, which runs 00004,
// and checks the identifiers the backfill produced. Running 00004's Up
// again, as a second process opening the file at once may, must succeed
// and leave the rows as they are (a row deleted beforehand is filled in
// again, which shows that the whole script ran).
func TestIdentifiersBackfill(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "latchkey.db")
	if err := createFile(path); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn(path, false, false))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 3); err != nil {
		t.Fatalf("migrate to 00003: %v", err)
	}
	pools, users, want := storetest.IdentifierBackfill()
	for _, id := range pools {
		if _, err := db.ExecContext(ctx,
			`INSERT INTO pools (id, name, region, settings, hash_key, created_at) VALUES (?, 'p', 'eu-west-1', '{}', x'', 0)`,
			id); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range users {
		if _, err := db.ExecContext(ctx,
			`INSERT INTO users (pool_id, sub, username, attributes, status, enabled, created_at, updated_at)
			 VALUES (?, ?, ?, ?, 'CONFIRMED', 1, ?, ?)`,
			u.PoolID, u.Sub, u.Username, u.Attributes, u.CreatedAt, u.CreatedAt); err != nil {
			t.Fatal(err)
		}
	}

	s := openAt(t, path)
	defer closeStore(t, s)
	wantRows(t, s.r, want)
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check after the backfill: %v", err)
	}
	// The store finds users by the backfilled identifiers.
	u, err := s.GetUserByIdentifier(ctx, want[0].PoolID, "bob@example.com")
	if err != nil || u.Sub != "sub-bob" {
		t.Fatalf("GetUserByIdentifier(bob@example.com) = %+v, %v", u, err)
	}
	if _, err := s.GetUserByIdentifier(ctx, want[0].PoolID, "cleo2@example.com"); err == nil {
		t.Errorf("GetUserByIdentifier found a user by an unverified email")
	}

	up, err := migrationFiles.ReadFile("migrations/00004_identifiers.sql")
	if err != nil {
		t.Fatal(err)
	}
	upSQL, _, ok := strings.Cut(string(up), "-- +goose Down")
	if !ok {
		t.Fatal("00004 has no Down section")
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM identifiers WHERE identifier = 'kim@example.com'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, upSQL); err != nil {
		t.Fatalf("running 00004 again: %v", err)
	}
	wantRows(t, s.r, want)
}

func wantRows(t *testing.T, db *sql.DB, want []storetest.IdentifierRow) {
	t.Helper()
	rows, err := db.QueryContext(t.Context(),
		`SELECT pool_id, identifier, sub, kind FROM identifiers ORDER BY pool_id, identifier`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []storetest.IdentifierRow
	for rows.Next() {
		var r storetest.IdentifierRow
		if err := rows.Scan(&r.PoolID, &r.Identifier, &r.Sub, &r.Kind); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
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
}
