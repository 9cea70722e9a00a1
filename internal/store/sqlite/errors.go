package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchkey/latchkey/internal/pool"
)

// wrapErr maps driver errors to the store's typed errors and adds op as
// context. SQLite's messages name tables and columns but never bound values,
// so passing them through cannot leak a hash or key; op must not contain
// secrets either.
func wrapErr(op string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, pool.ErrNotFound)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%s: %w (%s)", op, pool.ErrConflict, se.Error())
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			// Every foreign key in the schema points at pools(id).
			return fmt.Errorf("%s: pool %w", op, pool.ErrNotFound)
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// mustAffect returns pool.ErrNotFound when an UPDATE or DELETE touched no
// row.
func mustAffect(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return pool.ErrNotFound
	}
	return nil
}

// execCount runs a statement on the writer connection and returns how many
// rows it changed; op names it in errors.
func (s *Store) execCount(ctx context.Context, op, query string, args ...any) (int, error) {
	res, err := s.writer().ExecContext(ctx, query, args...)
	if err != nil {
		return 0, wrapErr(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrapErr(op, err)
	}
	return int(n), nil
}

// isBusy reports whether err is SQLITE_BUSY or one of its extended codes.
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}
