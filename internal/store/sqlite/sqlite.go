// Package sqlite is the SQLite backend of store.Store, for single-node
// deployments. It uses the CGO-free modernc.org/sqlite driver through
// database/sql.
//
// A Store holds two connection pools on the same file: one connection that
// writes and several read-only connections. SQLite admits one writer at a
// time anyway; queueing writers in database/sql instead of in SQLite's busy
// handler (which sleeps and polls) keeps in-process contention cheap and
// fair, while WAL mode lets the readers run beside the writer. Other
// processes on the same file are still serialised by SQLite's own locks and
// busy_timeout.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	// Registers the "sqlite" database/sql driver.
	_ "modernc.org/sqlite"

	"github.com/latchkey/latchkey/internal/store"
)

// busyTimeoutMS is how long a connection waits for another process's lock
// before failing with SQLITE_BUSY.
const busyTimeoutMS = 10_000

// Store is a store.Store on one SQLite database file. It is safe for
// concurrent use.
type Store struct {
	// w is the only connection that writes (MaxOpenConns 1). Every method
	// that writes, and every transaction, goes through it.
	w *sql.DB
	// r is a pool of query_only connections for plain reads.
	r *sql.DB
	// wstmts and rstmts keep the statements prepared on w and r: SQLite
	// parses a statement once per connection, not once per call.
	wstmts, rstmts *stmtCache
	// commits runs the write transactions, several to a commit.
	commits *committer
	// tx, when set, is the transaction of a unit of work (Update): this
	// Store is then a store.Tx whose every statement runs in it.
	tx *sql.Tx
}

var _ store.Store = (*Store)(nil)

// Options change how a Store opens its database.
type Options struct {
	// NoSync turns SQLite's fsyncs off (synchronous=OFF): a crash of the
	// machine may lose acknowledged writes or corrupt the file. Only for
	// tests and simulations that do not test durability; the server never
	// sets it.
	NoSync bool
}

// Open opens the database at path, creating it and its parent directory if
// needed, and brings its schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	return OpenWith(ctx, path, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("open sqlite store: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	if err := createFile(abs); err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", abs, err)
	}

	w, err := sql.Open("sqlite", dsn(abs, false, opts.NoSync))
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", abs, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	// Keep the one writer connection forever: reopening it costs a file
	// open and the pragmas for nothing.
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := ping(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", abs, err)
	}
	// Migrate before the readers connect, so the schema they see is final.
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", abs, err)
	}

	r, err := sql.Open("sqlite", dsn(abs, true, opts.NoSync))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", abs, err)
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	if err := ping(ctx, r); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", abs, err)
	}
	wstmts := newStmtCache(w)
	return &Store{w: w, r: r, wstmts: wstmts, rstmts: newStmtCache(r), commits: newCommitter(w, wstmts)}, nil
}

// createFile creates the database file with owner-only permissions if it
// does not exist. The database holds client secrets and private keys, and
// SQLite gives the -wal and -shm files the main file's permissions, so
// creating it ourselves (rather than letting SQLite create it 0644) keeps all
// three private. The parent directory is synced so that the new file's
// directory entry survives a power loss.
func createFile(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	// Some platforms (Windows) cannot fsync a directory; there the entry is
	// as durable as the OS makes it and there is nothing more to do.
	if err := d.Sync(); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// ping opens db's first connection, which applies the DSN pragmas. When
// several processes open a fresh file at once, the connections racing to
// switch it to WAL can get SQLITE_BUSY straight away: SQLite skips the busy
// handler when waiting could deadlock. The loser gave up its locks, so it
// retries here for as long as the busy handler would have waited.
func ping(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(busyTimeoutMS * time.Millisecond)
	delay := time.Millisecond
	for {
		err := db.PingContext(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// dsn builds a modernc.org/sqlite URI whose pragmas apply to every pooled
// connection, since database/sql opens connections behind our back.
func dsn(path string, readOnly, noSync bool) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows drive paths: file:///C:/...
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	if noSync {
		q.Add("_pragma", "synchronous(OFF)")
	} else {
		q.Add("_pragma", "synchronous(FULL)")
	}
	// fullfsync matters only on macOS, where a plain fsync does not flush
	// the drive's cache; elsewhere it is a no-op.
	q.Add("_pragma", "fullfsync(1)")
	// BEGIN IMMEDIATE takes the write lock up front, so a transaction that
	// reads then writes never has to upgrade its lock (which can fail with
	// SQLITE_BUSY without waiting).
	q.Set("_txlock", "immediate")
	if readOnly {
		// The driver applies _query_only after every other pragma, so the
		// reader still runs journal_mode(WAL) above.
		q.Set("_query_only", "1")
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}
	return u.String()
}

// Close closes both connection pools. The last connection to close
// checkpoints the WAL into the database file.
func (s *Store) Close() error {
	s.commits.close()
	s.rstmts.close()
	s.wstmts.close()
	return errors.Join(s.r.Close(), s.w.Close())
}

// Check runs SQLite's integrity and foreign-key checks and returns an error
// describing the first problems found, or nil when the database is sound.
func (s *Store) Check(ctx context.Context) error {
	rows, err := s.r.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	var problems []string
	for rows.Next() {
		var msg string
		if err := rows.Scan(&msg); err != nil {
			rows.Close()
			return fmt.Errorf("integrity check: %w", err)
		}
		problems = append(problems, msg)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(problems) != 1 || problems[0] != "ok" {
		return fmt.Errorf("integrity check failed: %s", strings.Join(problems, "; "))
	}

	rows, err = s.r.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	problems = problems[:0]
	for rows.Next() {
		var (
			table, parent string
			rowid, fkid   sql.NullInt64
		)
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			rows.Close()
			return fmt.Errorf("foreign key check: %w", err)
		}
		problems = append(problems, fmt.Sprintf("%s row %d references a missing %s", table, rowid.Int64, parent))
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("foreign key check failed: %s", strings.Join(problems, "; "))
	}
	return nil
}

// querier is what both a connection pool and a transaction can run.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// writer is where writes go: the unit of work's transaction, else the
// writer pool.
func (s *Store) writer() querier {
	if s.tx != nil {
		return cached{stmts: s.wstmts, tx: s.tx}
	}
	return cached{stmts: s.wstmts}
}

// reader is where plain reads go. Inside a unit of work they go through
// its transaction, which sees the work's own writes.
func (s *Store) reader() querier {
	if s.tx != nil {
		return cached{stmts: s.wstmts, tx: s.tx}
	}
	return cached{stmts: s.rstmts}
}

// Update runs fn in one transaction on the writer; see store.Store.
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	if s.tx != nil {
		return s.inTx(ctx, func(*sql.Tx) error { return fn(s) })
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return fn(&Store{w: s.w, r: s.r, wstmts: s.wstmts, rstmts: s.rstmts, commits: s.commits, tx: tx})
	})
	if err != nil {
		return fmt.Errorf("unit of work: %w", err)
	}
	return nil
}

// inSharedTx runs fn in a transaction of its own, or, inside a unit of
// work, directly in the unit's transaction, which already holds the write
// lock. It is for methods that write nothing unless they succeed as a
// whole, so they need no savepoint to stay atomic.
func (s *Store) inSharedTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if s.tx != nil {
		return fn(s.tx)
	}
	return s.inTx(ctx, fn)
}

// inTx runs fn in a transaction on the writer, which _txlock=immediate makes
// BEGIN IMMEDIATE, shared with the other transactions waiting to commit
// (see groupcommit.go). fn must not use s.w itself: the writer pool has a
// single connection and the transaction holds it. Inside a unit of work
// (s.tx set) fn runs under a savepoint of that transaction instead, so a
// method that fails part-way still changes nothing.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if s.tx != nil {
		return savepoint(ctx, s.in(s.tx), s.tx, fn)
	}
	return s.commits.run(ctx, fn)
}

// in runs statements in tx through the writer's statement cache.
func (s *Store) in(tx *sql.Tx) querier { return cached{stmts: s.wstmts, tx: tx} }

// errSavepoint marks a failure of the savepoint statements themselves: the
// transaction is then in doubt and must not commit.
var errSavepoint = errors.New("savepoint")

// savepoint runs fn under a savepoint of tx, whose statements q runs:
// rolled back to it if fn fails. SQLite keeps savepoints as a stack, so
// nesting one name is fine.
func savepoint(ctx context.Context, q querier, tx *sql.Tx, fn func(tx *sql.Tx) error) error {
	// A transaction's statements are not interrupted by a caller going
	// away: an interrupted statement can roll the whole transaction back.
	ctx = context.WithoutCancel(ctx)
	if _, err := q.ExecContext(ctx, "SAVEPOINT lk"); err != nil {
		return fmt.Errorf("%w: %w", errSavepoint, err)
	}
	if err := fn(tx); err != nil {
		_, rerr := q.ExecContext(ctx, "ROLLBACK TO lk")
		if rerr == nil {
			_, rerr = q.ExecContext(ctx, "RELEASE lk")
		}
		if rerr != nil {
			return errors.Join(err, fmt.Errorf("%w: %w", errSavepoint, rerr))
		}
		return err
	}
	if _, err := q.ExecContext(ctx, "RELEASE lk"); err != nil {
		return fmt.Errorf("%w: %w", errSavepoint, err)
	}
	return nil
}
