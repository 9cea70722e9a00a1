package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres/pgtest"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// The conformance suite runs in one database with a schema per subtest.
// Creating a schema is one small commit; creating a database copies
// template0 with several fsyncs, hundreds of milliseconds on a busy disk.
// Stores in different schemas share nothing but the amcheck extension, and
// their advisory locks are keyed by schema.
func TestConformance(t *testing.T) {
	t.Parallel()
	base := pgtest.URL(t)
	admin, err := pgxpool.New(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	var n atomic.Int64
	storetest.Run(t, func(t *testing.T) store.Store {
		schema := fmt.Sprintf("conformance_%d", n.Add(1))
		if _, err := admin.Exec(t.Context(), `CREATE SCHEMA `+schema); err != nil {
			t.Fatal(err)
		}
		return openAt(t, withParam(t, base, "search_path", schema))
	})
}

// withParam returns dbURL with the query parameter key set to value.
func withParam(t *testing.T, dbURL, key, value string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// openTemp opens a store on a new, empty database. The caller closes it.
func openTemp(t *testing.T) *Store {
	t.Helper()
	return openAt(t, pgtest.URL(t))
}

func openAt(t *testing.T, url string) *Store {
	t.Helper()
	s, err := Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
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

func testPool(id string) pool.Pool {
	return pool.Pool{ID: id, Name: "p", Region: "eu-west-1", CreatedAt: t0, Settings: pool.DefaultSettings()}
}

func appliedMigrations(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(t.Context(),
		`SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func migrationCount(t *testing.T) int {
	t.Helper()
	files, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	return len(files)
}

func TestReopenKeepsData(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	ctx := t.Context()

	s := openAt(t, url)
	p := testPool("eu-west-1_Reopen001")
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
		s = openAt(t, url)
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
		if got, want := appliedMigrations(t, s), migrationCount(t); got != want {
			t.Errorf("goose_db_version has %d applied migrations, want %d", got, want)
		}
		closeStore(t, s)
	}
}

func TestMigrateIdempotent(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	defer closeStore(t, s)
	ctx := t.Context()
	schema := func() string {
		var got string
		if err := s.db.QueryRow(ctx,
			`SELECT string_agg(table_name || '.' || column_name || ':' || data_type, ',' ORDER BY table_name, column_name)
			 FROM information_schema.columns WHERE table_schema = current_schema()`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	before := schema()
	for range 2 {
		if err := migrate(ctx, s.db, lockKey("migrate", "public")); err != nil {
			t.Fatalf("migrate again: %v", err)
		}
	}
	if after := schema(); after != before {
		t.Errorf("schema changed by re-running migrations:\nbefore %s\nafter  %s", before, after)
	}
	if got, want := appliedMigrations(t, s), migrationCount(t); got != want {
		t.Errorf("goose_db_version has %d applied migrations, want %d", got, want)
	}
}

// Nodes starting together on an empty database serialise on goose's
// session advisory lock: all succeed and each migration is applied once.
func TestConcurrentOpenOfEmptyDatabase(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	const n = 5
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = Open(t.Context(), url)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
			continue
		}
		if err := stores[i].Check(t.Context()); err != nil {
			t.Errorf("Check %d: %v", i, err)
		}
		if got, want := appliedMigrations(t, stores[i]), migrationCount(t); got != want {
			t.Errorf("store %d: %d applied migrations, want %d", i, got, want)
		}
		closeStore(t, stores[i])
	}
}

// Several Stores on one database behave like several nodes: the atomic
// methods must hold across them, not only across one Store's connections.
func TestStoresShareOneDatabase(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	const nodes = 4
	var st [nodes]*Store
	for i := range st {
		st[i] = openAt(t, url)
		defer closeStore(t, st[i])
	}
	ctx := t.Context()
	node := func(i int) *Store { return st[i%nodes] }

	// First pool: exactly one node creates it.
	created := runConcurrently(8, func(i int) error {
		p := testPool(fmt.Sprintf("eu-west-1_Node%05d", i))
		c := pool.Client{ID: fmt.Sprintf("client%020d", i), PoolID: p.ID, Name: "app", CreatedAt: t0}
		k := pool.SigningKey{PoolID: p.ID, KID: "k", Algorithm: "RS256", PrivateKeyPEM: []byte("pem"), CreatedAt: t0}
		ok, err := node(i).CreateFirstPool(ctx, p, c, k)
		if err == nil && !ok {
			err = errLost
		}
		return err
	})
	wantOutcomes(t, "CreateFirstPool", created, 1, errLost, 7)
	pools, err := st[0].ListPools(ctx)
	if err != nil || len(pools) != 1 {
		t.Fatalf("ListPools = %d pools, %v; want 1", len(pools), err)
	}
	poolID := pools[0].ID

	// A confirmed username: exactly one sign-up wins.
	errs := runConcurrently(20, func(i int) error {
		_, err := node(i).CreateUser(ctx, pool.User{PoolID: poolID, Sub: fmt.Sprintf("sub-%02d", i), Username: "x@example.com",
			Status: pool.StatusConfirmed, Enabled: true, CreatedAt: t0, UpdatedAt: t0})
		return err
	})
	wantOutcomes(t, "CreateUser", errs, 1, pool.ErrConflict, 19)

	// A session with three attempts: exactly three answers count.
	sess := pool.AuthSession{ID: "s", TokenHash: []byte("token"), PoolID: poolID, MaxAttempts: 3,
		CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
	if err := st[0].CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	errs = runConcurrently(40, func(i int) error {
		_, err := node(i).ConsumeAttempt(ctx, sess.TokenHash, t0)
		return err
	})
	wantOutcomes(t, "ConsumeAttempt", errs, 3, pool.ErrNoAttemptsLeft, 37)

	// Rotations of one session string: one wins, and none resets the
	// attempts counted above.
	errs = runConcurrently(10, func(i int) error {
		next := sess
		next.TokenHash = []byte(fmt.Sprintf("next %d", i))
		next.Attempts = 0
		return node(i).ReplaceSession(ctx, sess.TokenHash, next)
	})
	wantOutcomes(t, "ReplaceSession", errs, 1, pool.ErrNotFound, 9)
	winner := slices.IndexFunc(errs, func(err error) bool { return err == nil })
	got, err := st[0].GetSession(ctx, []byte(fmt.Sprintf("next %d", winner)))
	if err != nil || got.Attempts != 3 {
		t.Fatalf("session after rotation: attempts %d, %v; want 3", got.Attempts, err)
	}

	// A code used once: exactly one deleter succeeds.
	code := pool.Code{PoolID: poolID, Username: "x@example.com", Purpose: pool.PurposeSignUp, Hash: []byte("h"),
		MaxAttempts: 3, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := st[0].PutCode(ctx, code); err != nil {
		t.Fatal(err)
	}
	errs = runConcurrently(20, func(i int) error {
		return node(i).DeleteCode(ctx, poolID, code.Username, code.Purpose)
	})
	wantOutcomes(t, "DeleteCode", errs, 1, pool.ErrNotFound, 19)

	if err := st[1].Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

var errLost = errors.New("lost")

func runConcurrently(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func wantOutcomes(t *testing.T, what string, errs []error, wantOK int, target error, wantTarget int) {
	t.Helper()
	ok, matched := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, target):
			matched++
		default:
			t.Errorf("%s %d: unexpected error: %v", what, i, err)
		}
	}
	if ok != wantOK || matched != wantTarget {
		t.Fatalf("%s: %d succeeded and %d got %v, want %d and %d", what, ok, matched, target, wantOK, wantTarget)
	}
}

// The schema's foreign keys tie every pool-scoped row to an existing pool.
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

func TestCheckReportsMissingPool(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	defer closeStore(t, s)
	ctx := t.Context()
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check on a fresh database: %v", err)
	}
	// Write an orphan behind the store's back, without the constraint.
	if _, err := s.db.Exec(ctx, `ALTER TABLE codes DROP CONSTRAINT codes_pool_id_fkey`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(ctx, `INSERT INTO codes
		(pool_id, username, purpose, hash, attempts, max_attempts, created_at, expires_at)
		VALUES ('no-such-pool', 'u', 'sign_up', '\x00', 0, 3, 0, 0)`); err != nil {
		t.Fatal(err)
	}
	err := s.Check(ctx)
	if err == nil || !strings.Contains(err.Error(), "codes") || !strings.Contains(err.Error(), "no-such-pool") {
		t.Fatalf("Check = %v, want an error naming the codes row and its missing pool", err)
	}
}

func TestCheckRunsAmcheck(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	defer closeStore(t, s)
	ctx := t.Context()
	var available bool
	if err := s.db.QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'amcheck')`).Scan(&available); err != nil {
		t.Fatal(err)
	}
	if !available {
		t.Skip("the server has no amcheck extension")
	}
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	var installed bool
	if err := s.db.QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'amcheck')`).Scan(&installed); err != nil {
		t.Fatal(err)
	}
	if !installed {
		t.Error("Check did not install amcheck although the server offers it")
	}
}

// Usernames sort byte by byte whatever the database's collation, so that
// ListUsers pages exactly as the SQLite store does.
func TestUsernamesOrderByBytes(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	defer closeStore(t, s)
	ctx := t.Context()
	var collation string
	if err := s.db.QueryRow(ctx,
		`SELECT collation_name FROM information_schema.columns
		 WHERE table_schema = current_schema() AND table_name = 'users' AND column_name = 'username'`).Scan(&collation); err != nil {
		t.Fatal(err)
	}
	if collation != "C" {
		t.Errorf("users.username collation = %q, want C", collation)
	}
	p := testPool("eu-west-1_Collate01")
	if err := s.CreatePool(ctx, p); err != nil {
		t.Fatal(err)
	}
	names := []string{"zed@example.com", "Zed@example.com", "émile@example.com", "emile@example.com",
		"+15550001111", "_x@example.com", "a-b@example.com", "ab@example.com", "ß@example.com"}
	for i, name := range names {
		u := pool.User{PoolID: p.ID, Sub: fmt.Sprintf("sub-%d", i), Username: name, Status: pool.StatusConfirmed,
			CreatedAt: t0, UpdatedAt: t0}
		if _, err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	var listed []string
	after := ""
	for {
		users, next, err := s.ListUsers(ctx, p.ID, 2, after)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			listed = append(listed, u.Username)
		}
		if next == "" {
			break
		}
		after = next
	}
	want := slices.Clone(names)
	slices.Sort(want)
	if !slices.Equal(listed, want) {
		t.Errorf("ListUsers order:\n got %q\nwant %q", listed, want)
	}
}

func TestPoolSize(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	s := openAt(t, dbURL)
	if got, want := s.db.Config().MaxConns, int32(max(16, 4*runtime.NumCPU())); got != want {
		t.Errorf("default MaxConns = %d, want %d", got, want)
	}
	closeStore(t, s)

	s = openAt(t, withParam(t, dbURL, "pool_max_conns", "2"))
	defer closeStore(t, s)
	if got := s.db.Config().MaxConns; got != 2 {
		t.Errorf("MaxConns with pool_max_conns=2 = %d", got)
	}
}

// Open places the tables in the connection's current schema, so nodes of
// separate deployments can share a database through search_path.
func TestSearchPath(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	plain := openAt(t, dbURL)
	defer closeStore(t, plain)
	if _, err := plain.db.Exec(t.Context(), `CREATE SCHEMA tenant`); err != nil {
		t.Fatal(err)
	}
	s := openAt(t, withParam(t, dbURL, "search_path", "tenant"))
	defer closeStore(t, s)
	if err := s.CreatePool(t.Context(), testPool("eu-west-1_Tenant001")); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(t.Context()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	pools, err := plain.ListPools(t.Context())
	if err != nil || len(pools) != 0 {
		t.Errorf("public schema sees %d pools (%v), want 0", len(pools), err)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if s, err := Open(ctx, pgtest.URL(t)); err == nil {
		s.Close()
		t.Error("Open with a cancelled context succeeded")
	}

	// Nothing listens on port 1; the error must not repeat the password.
	const password = "s3cr3t-pa55word"
	s, err := Open(t.Context(), "postgres://latchkey:"+password+"@127.0.0.1:1/latchkey?connect_timeout=5")
	if err == nil {
		s.Close()
		t.Fatal("Open of an unreachable server succeeded")
	}
	if strings.Contains(err.Error(), password) {
		t.Errorf("Open error shows the password: %v", err)
	}
	if _, err := Open(t.Context(), "postgres://%zz"); err == nil {
		t.Error("Open of a malformed URL succeeded")
	}
}

// pgtest.URL hands each caller a new, empty database and drops it when the
// test ends.
func TestPgtestFreshDatabases(t *testing.T) {
	t.Parallel()
	var names [2]string
	for i := range names {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			// Registered first, this runs after pgtest's cleanup: the
			// drop must succeed with the connection still open.
			var conn *pgx.Conn
			t.Cleanup(func() {
				if conn != nil {
					_ = conn.Close(context.Background())
				}
			})
			var err error
			conn, err = pgx.Connect(t.Context(), pgtest.URL(t))
			if err != nil {
				t.Fatal(err)
			}
			var tables int
			if err := conn.QueryRow(t.Context(),
				`SELECT current_database(), (SELECT count(*) FROM pg_tables WHERE schemaname = 'public')`).
				Scan(&names[i], &tables); err != nil {
				t.Fatal(err)
			}
			if tables != 0 {
				t.Errorf("new database has %d tables", tables)
			}
		})
	}
	if names[0] == names[1] || !strings.HasPrefix(names[0], "latchkey_test_") {
		t.Fatalf("databases %q and %q: want two distinct latchkey_test_ databases", names[0], names[1])
	}
	s := openTemp(t)
	defer closeStore(t, s)
	var left int
	if err := s.db.QueryRow(t.Context(),
		`SELECT count(*) FROM pg_database WHERE datname = ANY($1)`, names[:]).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d of the subtests' databases still exist after they ended", left)
	}
}
