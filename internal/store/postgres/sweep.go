package postgres

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/internal/store/rowcodec"

	"github.com/latchkey/latchkey/internal/store"
)

// DeleteExpired picks up to limit expired rows by physical address and
// deletes them in one autocommitted statement. The outer expires_at test
// matters when a picked row is updated concurrently: the DELETE then
// re-checks the row as updated, so a code that PutCode just renewed in
// place is skipped rather than swept.
func (s *Store) DeleteExpired(ctx context.Context, kind store.Expiring, now time.Time, limit int) (int, error) {
	table, err := rowcodec.ExpiringTable(kind, limit)
	if err != nil {
		return 0, err
	}
	tag, err := s.q().Exec(ctx,
		`DELETE FROM `+table+` WHERE ctid IN (
		   SELECT ctid FROM `+table+` WHERE expires_at <= $1 LIMIT $2
		 ) AND expires_at <= $1`,
		rowcodec.MS(now), int64(limit))
	if err != nil {
		return 0, wrapErr("delete expired "+string(kind), err)
	}
	return int(tag.RowsAffected()), nil
}
