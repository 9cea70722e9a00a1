package sqlite

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/internal/store/rowcodec"

	"github.com/latchkey/latchkey/internal/store"
)

func (s *Store) DeleteExpired(ctx context.Context, kind store.Expiring, now time.Time, limit int) (int, error) {
	table, err := rowcodec.ExpiringTable(kind, limit)
	if err != nil {
		return 0, err
	}
	return s.execCount(ctx, "delete expired "+string(kind),
		`DELETE FROM `+table+` WHERE rowid IN (SELECT rowid FROM `+table+` WHERE expires_at <= ? LIMIT ?)`,
		rowcodec.MS(now), limit)
}
