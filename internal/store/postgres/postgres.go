// Package postgres is the PostgreSQL backend of store.Store, for deployments
// where several stateless nodes share one database. It talks to PostgreSQL
// through a pgx connection pool; goose migrates the schema over
// database/sql on that same pool when a Store opens.
//
// Every method that the contract calls atomic is one guarded statement or
// one transaction whose locks are taken inside PostgreSQL, so the
// guarantees hold across any number of nodes, not just within a process.
// Transactions run at READ COMMITTED, PostgreSQL's default: each statement
// sees what was committed before it started, and an UPDATE or DELETE that
// waits for a row lock re-checks its WHERE clause against the row as the
// other transaction left it. The comments at each method say why that is
// enough.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"runtime"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latchkey/latchkey/internal/store"
)

// Store is a store.Store on one PostgreSQL database. It is safe for
// concurrent use, and any number of Stores, in any number of processes, may
// share the database.
type Store struct {
	db *pgxpool.Pool
	// tx, when set, is the transaction of a unit of work (Update): this
	// Store is then a store.Tx whose every statement runs in it.
	tx pgx.Tx
	// firstPoolLock keys the advisory lock of CreateFirstPool.
	firstPoolLock int64
	// units holds a token per unit of work in progress. Units take at
	// most half the pool's connections, so a plain read made beside one
	// (the engine reads pools and the delivery router its settings while
	// a step's transaction is open) always finds a connection, instead of
	// every connection being held by a unit that waits for that read.
	units chan struct{}
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string, as pgx accepts), brings its schema up to date and
// returns a Store. Tables live in the connection's current schema, so a
// search_path parameter in url places them elsewhere than public.
//
// The pool holds at most DefaultMaxConns(), 16 on up to four CPUs,
// connections unless url sets pool_max_conns; the other pool_* parameters
// of pgxpool apply too. Each node holds its own pool, so the server's
// max_connections must cover the sum over all nodes.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors never repeat the password.
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns()
	}
	// Name the node's connections in pg_stat_activity unless url did.
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "latchkey"
	}
	db, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	var schema *string // NULL when no schema on search_path exists
	if err := db.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	if schema == nil {
		db.Close()
		return nil, errors.New("open postgres store: no schema on search_path exists")
	}
	if err := migrate(ctx, db, lockKey("migrate", *schema)); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	units := max(1, int(cfg.MaxConns)/2)
	return &Store{db: db, firstPoolLock: lockKey("first pool", *schema), units: make(chan struct{}, units)}, nil
}

// lockKey returns the advisory lock key for purpose in schema. Advisory
// locks are per database, while each schema holds a store of its own, so
// stores in different schemas of one database do not wait for each other.
func lockKey(purpose, schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("latchkey\x00" + purpose + "\x00" + schema))
	return int64(h.Sum64())
}

// DefaultMaxConns is a node's pool size when the store URL sets none: four
// connections a CPU, at least 16. A step holds a connection for its whole
// transaction, and units of work take at most half the pool, so pgx's own
// default (the number of CPUs, at least 4) let only two sign-ins write at
// once: measured on 2 CPUs, 16 connections gave 21 % more sign-ins a second
// at concurrency 8 and 31 % more at 64.
func DefaultMaxConns() int32 { return int32(max(16, 4*runtime.NumCPU())) }

// Close closes the connection pool, waiting for connections in use to be
// returned.
func (s *Store) Close() error {
	s.db.Close()
	return nil
}

// referenceChecks find rows whose pool is missing. The foreign keys forbid
// them, but a restore with constraints disabled, session_replication_role
// = replica or a dropped constraint can still leave some behind.
var referenceChecks = []struct{ table, key string }{
	{"clients", "id"},
	{"signing_keys", "kid"},
	{"users", "sub"},
	{"identifiers", "identifier"},
	{"sessions", "id"},
	{"codes", "username"},
	{"refresh_tokens", "id"},
	{"failures", "account"},
	{"outbox", "id"},
}

// Check verifies that every pool-scoped row belongs to an existing pool and,
// when the amcheck extension is available, that every B-tree index of the
// schema is consistent. It returns an error describing the first problem.
func (s *Store) Check(ctx context.Context) error {
	for _, rc := range referenceChecks {
		var key, poolID string
		err := s.db.QueryRow(ctx,
			`SELECT t.`+rc.key+`, t.pool_id FROM `+rc.table+` t
			 WHERE NOT EXISTS (SELECT 1 FROM pools p WHERE p.id = t.pool_id) LIMIT 1`).Scan(&key, &poolID)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return fmt.Errorf("reference check of %s: %w", rc.table, err)
		default:
			return fmt.Errorf("reference check failed: %s row %q references missing pool %q", rc.table, key, poolID)
		}
	}
	return s.checkIndexes(ctx)
}

// checkIndexes runs amcheck's bt_index_check on every valid B-tree index of
// the current schema. bt_index_check takes only AccessShareLock, so it runs
// beside normal traffic. Without the extension, or without the right to run
// it (amcheck's functions are superuser-only unless granted), this part of
// the check is skipped.
func (s *Store) checkIndexes(ctx context.Context) error {
	schema, ok, err := s.amcheckSchema(ctx)
	if err != nil {
		return fmt.Errorf("index check: %w", err)
	}
	if !ok {
		return nil
	}
	rows, err := s.db.Query(ctx,
		`SELECT c.oid, c.relname FROM pg_index i
		 JOIN pg_class c ON c.oid = i.indexrelid
		 JOIN pg_namespace n ON n.oid = c.relnamespace
		 JOIN pg_am am ON am.oid = c.relam
		 WHERE am.amname = 'btree' AND i.indisvalid AND i.indisready
		   AND n.nspname = current_schema()
		 ORDER BY c.relname`)
	if err != nil {
		return fmt.Errorf("index check: list indexes: %w", err)
	}
	type index struct {
		oid  uint32
		name string
	}
	indexes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (index, error) {
		var ix index
		err := r.Scan(&ix.oid, &ix.name)
		return ix, err
	})
	if err != nil {
		return fmt.Errorf("index check: list indexes: %w", err)
	}
	check := `SELECT ` + pgx.Identifier{schema, "bt_index_check"}.Sanitize() + `($1::oid::regclass)`
	for _, ix := range indexes {
		_, err := s.db.Exec(ctx, check, ix.oid)
		if sqlState(err) == sqlstateInsufficientPrivilege {
			return nil
		}
		if err != nil {
			return fmt.Errorf("index check failed: index %s: %w", ix.name, err)
		}
	}
	return nil
}

// amcheckSchema makes sure the amcheck extension exists, creating it if it
// can, and returns the schema holding its functions; ok is false when the
// extension is not to be had.
func (s *Store) amcheckSchema(ctx context.Context) (schema string, ok bool, err error) {
	find := func() (bool, error) {
		err := s.db.QueryRow(ctx,
			`SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
			 WHERE e.extname = 'amcheck'`).Scan(&schema)
		if errors.Is(err, pgx.ErrNoRows) {
			return false, nil
		}
		return err == nil, err
	}
	if ok, err := find(); ok || err != nil {
		return schema, ok, err
	}
	// CREATE EXTENSION fails without privileges, when the server lacks the
	// contrib files, or when a concurrent Check created it first. Only
	// whether the extension exists afterwards matters.
	_, _ = s.db.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS amcheck`)
	ok, err = find()
	return schema, ok, err
}

// maxTxTries bounds how often inTx runs a transaction that PostgreSQL
// aborted to break a deadlock or a serialization conflict.
const maxTxTries = 5

// querier is what both the connection pool and a transaction can run.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// q is where statements go: the unit of work's transaction, else the pool.
func (s *Store) q() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.db
}

// Update runs fn in one READ COMMITTED transaction; see store.Store. A
// transaction aborted as a deadlock victim or for a serialization failure
// is run again from the start.
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	if s.tx != nil {
		return s.inTx(ctx, func(pgx.Tx) error { return fn(s) })
	}
	select {
	case s.units <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("unit of work: %w", ctx.Err())
	}
	defer func() { <-s.units }()
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		return fn(&Store{db: s.db, tx: tx, firstPoolLock: s.firstPoolLock, units: s.units})
	})
	if err != nil {
		return fmt.Errorf("unit of work: %w", err)
	}
	return nil
}

// inSharedTx runs fn in a transaction of its own, or, inside a unit of
// work, directly in the unit's transaction. It is for methods whose
// statements cannot fail part-way in a way that matters: a failed
// statement would abort the unit's transaction, and what they write
// before deciding (TakeTokens' full buckets) means the same as nothing.
func (s *Store) inSharedTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if s.tx != nil {
		return fn(s.tx)
	}
	return s.inTx(ctx, fn)
}

// inTx runs fn in a READ COMMITTED transaction and commits it. A
// transaction that PostgreSQL aborted as a deadlock victim or for a
// serialization failure did nothing, so it is rerun from the start; fn must
// therefore only touch the database and its own results. Inside a unit of
// work (s.tx set) fn runs under a savepoint of that transaction instead, so
// a method that fails part-way changes nothing and leaves the transaction
// usable; the unit of work as a whole is what gets rerun.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if s.tx != nil {
		return pgx.BeginFunc(ctx, s.tx, fn)
	}
	var err error
	for range maxTxTries {
		err = pgx.BeginTxFunc(ctx, s.db, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, fn)
		if !isRetryable(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// isRetryable reports whether err aborted a transaction that may succeed
// when run again.
func isRetryable(err error) bool {
	code := sqlState(err)
	return code == sqlstateSerializationFailure || code == sqlstateDeadlockDetected
}

// placeholders returns "$1, $2, ..., $n".
func placeholders(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", i)
	}
	return b.String()
}
