package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/store/rowcodec"

	"github.com/latchkey/latchkey/internal/store"
)

// expiringTables maps each kind to its table; the names never come from
// input, so building the statement from them is safe.
var expiringTables = map[store.Expiring]string{
	store.ExpiringSessions:      "sessions",
	store.ExpiringCodes:         "codes",
	store.ExpiringRefreshTokens: "refresh_tokens",
}

func (s *Store) DeleteExpired(ctx context.Context, kind store.Expiring, now time.Time, limit int) (int, error) {
	table, ok := expiringTables[kind]
	if !ok {
		return 0, fmt.Errorf("delete expired: unknown kind %q", kind)
	}
	if limit <= 0 {
		return 0, fmt.Errorf("delete expired %s: limit %d must be positive", kind, limit)
	}
	res, err := s.w.ExecContext(ctx,
		`DELETE FROM `+table+` WHERE rowid IN (SELECT rowid FROM `+table+` WHERE expires_at <= ? LIMIT ?)`,
		rowcodec.MS(now), limit)
	if err != nil {
		return 0, wrapErr("delete expired "+string(kind), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrapErr("delete expired "+string(kind), err)
	}
	return int(n), nil
}
