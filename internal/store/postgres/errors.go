package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchkey/latchkey/internal/pool"
)

// SQLSTATE codes the store tells apart.
const (
	sqlstateUniqueViolation       = "23505"
	sqlstateForeignKeyViolation   = "23503"
	sqlstateSerializationFailure  = "40001"
	sqlstateDeadlockDetected      = "40P01"
	sqlstateInsufficientPrivilege = "42501"
)

// wrapErr maps driver errors to the store's typed errors and adds op as
// context. A PgError's text is its primary message, which names constraints
// and columns but not values; the DETAIL field, which quotes the clashing
// key (a token hash, say), is never included. op must not contain secrets
// either.
func wrapErr(op string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, pool.ErrNotFound)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case sqlstateUniqueViolation:
			return fmt.Errorf("%s: %w (constraint %s)", op, pool.ErrConflict, pe.ConstraintName)
		case sqlstateForeignKeyViolation:
			// Every foreign key in the schema points at pools(id).
			return fmt.Errorf("%s: pool %w", op, pool.ErrNotFound)
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// mustAffect returns pool.ErrNotFound when an UPDATE or DELETE touched no
// row.
func mustAffect(tag pgconn.CommandTag) error {
	if tag.RowsAffected() == 0 {
		return pool.ErrNotFound
	}
	return nil
}

// insertedOne returns pool.ErrConflict when an INSERT ... ON CONFLICT DO
// NOTHING inserted no row. Inserts that a caller may see refused take this
// form rather than failing with a unique violation, because a failed
// statement aborts the whole transaction of a unit of work.
func insertedOne(op string, tag pgconn.CommandTag) error {
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", op, pool.ErrConflict)
	}
	return nil
}

// sqlState returns the SQLSTATE of a PostgreSQL error, or "".
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
