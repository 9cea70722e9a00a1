package sqlite

import (
	"database/sql"
	"time"
)

// Times are stored as INTEGER unix milliseconds: the contract's minimum
// precision, compact, and ordered for expiry sweeps.

func toMS(t time.Time) int64 { return t.UnixMilli() }

func fromMS(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func toNullMS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func fromNullMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

// toNullBlob stores an absent hash as NULL so that it reads back as nil, not
// as an empty slice.
func toNullBlob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

func fromNullBlob(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// nonNilBlob stores an absent value as an empty BLOB for NOT NULL columns.
func nonNilBlob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
