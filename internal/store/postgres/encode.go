package postgres

import "time"

// Times are stored as BIGINT unix milliseconds, as in the SQLite store: the
// contract's precision exactly, and ordered for expiry sweeps.

func toMS(t time.Time) int64 { return t.UnixMilli() }

func fromMS(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// toNullMS stores an absent time as NULL; pgx sends a nil *int64 as NULL.
func toNullMS(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	ms := t.UnixMilli()
	return &ms
}

func fromNullMS(ms *int64) *time.Time {
	if ms == nil {
		return nil
	}
	t := fromMS(*ms)
	return &t
}

// toNullBlob stores an absent hash as NULL so that it reads back as nil, not
// as an empty slice. pgx sends a nil []byte as NULL.
func toNullBlob(b []byte) []byte {
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

// nonNilBlob stores an absent value as an empty BYTEA for NOT NULL columns.
func nonNilBlob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// scanner is a pgx.Row or pgx.Rows.
type scanner interface {
	Scan(dest ...any) error
}
