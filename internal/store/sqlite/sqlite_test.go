package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTemp(t)
	})
}

// openTemp opens a store in a fresh directory. The caller closes it.
func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "data", "latchkey.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func openAt(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open %s: %v", path, err)
	}
	return s
}

func closeStore(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestReopenKeepsData(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nested", "dirs", "latchkey.db")
	ctx := t.Context()

	s := openAt(t, path)
	p := pool.Pool{ID: "eu-west-1_Reopen001", Name: "r", Region: "eu-west-1", CreatedAt: t0, Settings: pool.DefaultSettings()}
	if err := s.CreatePool(ctx, p); err != nil {
		t.Fatal(err)
	}
	u := pool.User{PoolID: p.ID, Sub: "sub-1", Username: "a@example.com", Attributes: map[string]string{"email": "a@example.com"},
		Status: pool.StatusConfirmed, Enabled: true, CreatedAt: t0, UpdatedAt: t0}
	if _, err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	sess := pool.AuthSession{ID: "s-1", TokenHash: []byte{1, 2, 3}, Kind: pool.KindSignIn, PoolID: p.ID, MaxAttempts: 3,
		CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsumeAttempt(ctx, sess.TokenHash, t0); err != nil {
		t.Fatal(err)
	}
	closeStore(t, s)

	// Reopening runs the migrations again: they must be a no-op.
	for range 2 {
		s = openAt(t, path)
		if err := s.Check(ctx); err != nil {
			t.Fatalf("Check after reopen: %v", err)
		}
		gotPool, err := s.GetPool(ctx, p.ID)
		if err != nil || gotPool.Name != p.Name {
			t.Fatalf("GetPool after reopen = %+v, %v", gotPool, err)
		}
		gotUser, err := s.GetUser(ctx, p.ID, u.Username)
		if err != nil || gotUser.Sub != u.Sub {
			t.Fatalf("GetUser after reopen = %+v, %v", gotUser, err)
		}
		gotSess, err := s.GetSession(ctx, sess.TokenHash)
		if err != nil || gotSess.Attempts != 1 {
			t.Fatalf("GetSession after reopen = %+v, %v", gotSess, err)
		}
		var applied int
		if err := s.r.QueryRowContext(ctx,
			`SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied); err != nil {
			t.Fatal(err)
		}
		if want := migrationCount(t); applied != want {
			t.Errorf("goose_db_version has %d applied migrations, want %d", applied, want)
		}
		closeStore(t, s)
	}
}

func migrationCount(t *testing.T) int {
	t.Helper()
	files, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	return len(files)
}

func TestPragmasOnEveryConnection(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	defer closeStore(t, s)
	ctx := t.Context()

	check := func(t *testing.T, db *sql.DB, conns int, queryOnly int) {
		t.Helper()
		// Hold several connections at once so the pool has to open each
		// of them, then check every one: pragmas set with a one-off Exec
		// would show up on the first connection only.
		var held []*sql.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for range conns {
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, c)
		}
		for i, c := range held {
			var (
				journal           string
				sync, fk, busy, q int
			)
			for _, p := range []struct {
				pragma string
				dest   any
			}{
				{"journal_mode", &journal},
				{"synchronous", &sync},
				{"foreign_keys", &fk},
				{"busy_timeout", &busy},
				{"query_only", &q},
			} {
				if err := c.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(p.dest); err != nil {
					t.Fatalf("conn %d: PRAGMA %s: %v", i, p.pragma, err)
				}
			}
			if journal != "wal" || sync != 2 || fk != 1 || busy != busyTimeoutMS || q != queryOnly {
				t.Errorf("conn %d: journal_mode=%s synchronous=%d foreign_keys=%d busy_timeout=%d query_only=%d",
					i, journal, sync, fk, busy, q)
			}
		}
	}
	t.Run("writer", func(t *testing.T) { check(t, s.w, 1, 0) })
	t.Run("readers", func(t *testing.T) { check(t, s.r, max(4, runtime.GOMAXPROCS(0)), 1) })
}

func TestReadersCannotWrite(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	defer closeStore(t, s)
	_, err := s.r.ExecContext(t.Context(),
		`INSERT INTO pools (id, name, region, settings, created_at) VALUES ('x', 'x', 'x', '{}', 0)`)
	if err == nil {
		t.Fatal("insert through the read pool succeeded")
	}
}

func TestFilePermissions(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX permissions")
	}
	dir := filepath.Join(t.TempDir(), "new")
	path := filepath.Join(dir, "latchkey.db")
	s := openAt(t, path)
	defer closeStore(t, s)
	// Force the WAL into existence.
	if err := s.CreatePool(t.Context(), pool.Pool{ID: "p", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{
		dir:           0o700,
		path:          0o600,
		path + "-wal": 0o600,
	} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		// The umask may only remove bits, never add them.
		if got := fi.Mode().Perm(); got&^want != 0 {
			t.Errorf("%s: mode %v, want at most %v", name, got, want)
		}
	}
}

func TestConcurrentOpenOfFreshFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "latchkey.db")
	const n = 8
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), path) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
			continue
		}
		if err := stores[i].Check(t.Context()); err != nil {
			t.Errorf("Check %d: %v", i, err)
		}
		closeStore(t, stores[i])
	}
}

// The schema's foreign keys tie every pool-scoped row to an existing pool.
// The Store contract promises this for clients only; SQLite enforces it
// everywhere.
func TestForeignKeysToPools(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	defer closeStore(t, s)
	ctx := t.Context()
	const missing = "eu-west-1_Missing00"
	tests := []struct {
		name string
		err  error
	}{
		{"user", func() error {
			_, err := s.CreateUser(ctx, pool.User{PoolID: missing, Sub: "s", Username: "u", Status: pool.StatusConfirmed})
			return err
		}()},
		{"session", s.CreateSession(ctx, pool.AuthSession{ID: "s", TokenHash: []byte{1}, PoolID: missing})},
		{"code", s.PutCode(ctx, pool.Code{PoolID: missing, Username: "u", Purpose: pool.PurposeSignUp, Hash: []byte{1}})},
		{"refresh token", s.CreateRefreshToken(ctx, pool.RefreshToken{ID: "r", Hash: []byte{1}, PoolID: missing})},
	}
	for _, tc := range tests {
		if !errors.Is(tc.err, pool.ErrNotFound) {
			t.Errorf("%s in missing pool: got %v, want ErrNotFound", tc.name, tc.err)
		}
	}
}

func TestCheckReportsForeignKeyViolation(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "latchkey.db")
	s := openAt(t, path)
	defer closeStore(t, s)
	ctx := t.Context()
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check on a fresh database: %v", err)
	}

	// Write an orphan behind the store's back, with enforcement off.
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.ExecContext(ctx, `INSERT INTO clients
		(id, pool_id, name, secret, access_token_ttl_ns, id_token_ttl_ns, refresh_token_ttl_ns, created_at)
		VALUES ('orphan', 'no-such-pool', 'o', '', 0, 0, 0, 0)`); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); err == nil {
		t.Fatal("Check missed a client whose pool does not exist")
	}
}

func TestOpenContextCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "latchkey.db"))
	if err == nil {
		s.Close()
		t.Fatal("Open with a cancelled context succeeded")
	}
}

func TestDSNEscapesPath(t *testing.T) {
	t.Parallel()
	// Characters that mean something in a URI must not cut the path short.
	path := filepath.Join(t.TempDir(), "we?ird #dir%20", "latchkey.db")
	s := openAt(t, path)
	closeStore(t, s)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at the given path: %v", err)
	}
}
