package rowcodec

import (
	"encoding/json"
	"fmt"

	"github.com/latchkey/latchkey/internal/store"
)

// How many events ListAudit returns when the filter sets no limit, and at
// most whatever it sets.
const (
	DefaultAuditLimit = 1000
	MaxAuditLimit     = 10_000
)

// AuditColumns are the columns of audit_events that ScanAuditEvent reads,
// id first; the others are what AppendAudit inserts.
const AuditColumns = `id, pool_id, at, type, username, sub, client_id, source_ip, detail, expires_at`

// AuditLimit applies ListAudit's default and cap to a filter's Limit.
func AuditLimit(n int) int {
	if n <= 0 {
		return DefaultAuditLimit
	}
	return min(n, MaxAuditLimit)
}

// AuditConditions turns the filter of ListAudit, all but its Limit, into
// the conditions of a WHERE clause, to be joined with AND, and their
// arguments, in the same order. Each condition is a column and a comparison
// ("pool_id =", "at >=") that the backend completes with its placeholder for
// the argument. Time bounds are rounded up with [CeilMS].
func AuditConditions(f store.AuditFilter) (conds []string, args []any) {
	add := func(cond string, arg any) {
		conds = append(conds, cond)
		args = append(args, arg)
	}
	if f.PoolID != "" {
		add("pool_id =", f.PoolID)
	}
	if f.Username != "" {
		add("username =", f.Username)
	}
	if f.Type != "" {
		add("type =", f.Type)
	}
	if !f.Since.IsZero() {
		add("at >=", CeilMS(f.Since))
	}
	if !f.Until.IsZero() {
		add("at <", CeilMS(f.Until))
	}
	if f.AfterID != 0 {
		add("id >", f.AfterID)
	}
	return conds, args
}

// EncodeDetail stores a nil or empty Detail as {}; ScanAuditEvent reads both
// back as nil.
func EncodeDetail(d map[string]string) (string, error) {
	if len(d) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("encode detail: %w", err)
	}
	return string(b), nil
}

// ScanAuditEvent reads an event from a row of AuditColumns.
func ScanAuditEvent(sc Scanner) (store.AuditEvent, error) {
	var (
		ev            store.AuditEvent
		detail        string
		at, expiresAt int64
	)
	if err := sc.Scan(&ev.ID, &ev.PoolID, &at, &ev.Type, &ev.Username, &ev.Sub, &ev.ClientID,
		&ev.SourceIP, &detail, &expiresAt); err != nil {
		return store.AuditEvent{}, err
	}
	if err := json.Unmarshal([]byte(detail), &ev.Detail); err != nil {
		return store.AuditEvent{}, fmt.Errorf("decode detail: %w", err)
	}
	if len(ev.Detail) == 0 {
		ev.Detail = nil
	}
	ev.At = FromMS(at)
	ev.ExpiresAt = FromMS(expiresAt)
	return ev, nil
}
