package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/rowcodec"
)

func (s *Store) AppendAudit(ctx context.Context, ev store.AuditEvent) (int64, error) {
	op := fmt.Sprintf("append audit event %q in pool %q", ev.Type, ev.PoolID)
	detail, err := rowcodec.EncodeDetail(ev.Detail)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	// The single writer commits events in the order it numbers them, so a
	// reader paging by ID never sees a later ID before an earlier one.
	var id int64
	err = s.writer().QueryRowContext(ctx,
		`INSERT INTO audit_events (pool_id, at, type, username, sub, client_id, source_ip, detail, expires_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
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
		where[i] = cond + " ?"
	}
	q := `SELECT ` + rowcodec.AuditColumns + ` FROM audit_events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, rowcodec.AuditLimit(f.Limit))

	rows, err := s.reader().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrapErr("list audit events", err)
	}
	events, err := collect(rows, rowcodec.ScanAuditEvent)
	if err != nil {
		return nil, wrapErr("list audit events", err)
	}
	return events, nil
}
