package postgres

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

// DeleteExpired picks up to limit expired rows by physical address and
// deletes them in one autocommitted statement. The outer expires_at test
// matters when a picked row is updated concurrently: the DELETE then
// re-checks the row as updated, so a code that PutCode just renewed in
// place is skipped rather than swept.
func (s *Store) DeleteExpired(ctx context.Context, kind store.Expiring, now time.Time, limit int) (int, error) {
	table, ok := expiringTables[kind]
	if !ok {
		return 0, fmt.Errorf("delete expired: unknown kind %q", kind)
	}
	if limit <= 0 {
		return 0, fmt.Errorf("delete expired %s: limit %d must be positive", kind, limit)
	}
	tag, err := s.db.Exec(ctx,
		`DELETE FROM `+table+` WHERE ctid IN (
		   SELECT ctid FROM `+table+` WHERE expires_at <= $1 LIMIT $2
		 ) AND expires_at <= $1`,
		rowcodec.MS(now), int64(limit))
	if err != nil {
		return 0, wrapErr("delete expired "+string(kind), err)
	}
	return int(tag.RowsAffected()), nil
}
