package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/rowcodec"
)

// AppendAudit inserts the event in one autocommitted statement. The
// identity column numbers events in the order they are inserted, which is
// not quite the order they commit: while two appends race, the higher ID
// can become visible a moment before the lower one.
func (s *Store) AppendAudit(ctx context.Context, ev store.AuditEvent) (int64, error) {
	op := fmt.Sprintf("append audit event %q in pool %q", ev.Type, ev.PoolID)
	detail, err := rowcodec.EncodeDetail(ev.Detail)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	var id int64
	err = s.q().QueryRow(ctx,
		`INSERT INTO audit_events (pool_id, at, type, username, sub, client_id, source_ip, detail, expires_at)
		 VALUES (`+placeholders(9)+`) RETURNING id`,
		ev.PoolID, rowcodec.MS(ev.At), ev.Type, ev.Username, ev.Sub, ev.ClientID, ev.SourceIP,
		detail, rowcodec.MS(ev.ExpiresAt)).Scan(&id)
	if err != nil {
		return 0, wrapErr(op, err)
	}
	return id, nil
}

func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	where, args := rowcodec.AuditConditions(f)
	for i, cond := range where {
		where[i] = fmt.Sprintf("%s $%d", cond, i+1)
	}
	q := `SELECT ` + rowcodec.AuditColumns + ` FROM audit_events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, int64(rowcodec.AuditLimit(f.Limit)))
	q += fmt.Sprintf(` ORDER BY id LIMIT $%d`, len(args))

	rows, err := s.q().Query(ctx, q, args...)
	if err != nil {
		return nil, wrapErr("list audit events", err)
	}
	events, err := collect(rows, rowcodec.ScanAuditEvent)
	if err != nil {
		return nil, wrapErr("list audit events", err)
	}
	return events, nil
}
