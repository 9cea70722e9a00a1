package auth

import (
	"context"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
)

// Audit event types. Each is written to the store's audit trail with the
// pool, the username (as typed, for unknown users), the sub when known, the
// app client and the caller's address; never a code, session or token.
const (
	EventSignUp            = "sign_up"
	EventSignUpConfirmed   = "sign_up.confirmed"
	EventCodeSent          = "code.sent"
	EventCodeFailed        = "code.delivery_failed"
	EventSignInSuccess     = "sign_in.success"
	EventSignInFailure     = "sign_in.failure"
	EventCodeWrong         = "code.wrong"
	EventLocked            = "account.locked"
	EventUnlocked          = "account.unlocked"
	EventLimitTripped      = "limit.tripped"
	EventSignOut           = "sign_out"
	EventTokenRevoked      = "token.revoked"
	EventUserDeleted       = "user.deleted"
	EventAttributeVerified = "attribute.verified"
)

// EventTypes lists every audit event type the engine writes, sorted.
func EventTypes() []string {
	return []string{
		EventAttributeVerified, EventCodeFailed, EventCodeSent, EventCodeTestIdentity, EventCodeWrong,
		EventLimitTripped, EventLocked, EventSignInFailure, EventSignInSuccess, EventSignOut,
		EventSignUp, EventSignUpConfirmed, EventTokenRevoked, EventUnlocked, EventUserDeleted,
	}
}

// auditEntry is what a flow knows about an event.
type auditEntry struct {
	pool     pool.Pool
	typ      string
	username string
	sub      string
	clientID string
	detail   map[string]string
}

// audit appends an event to the trail. A failure to write is logged, not
// returned: the request it describes has already happened.
func (e *Engine) audit(ctx context.Context, a auditEntry) {
	now := e.now().UTC()
	ev := store.AuditEvent{
		PoolID:    a.pool.ID,
		At:        now,
		Type:      a.typ,
		Username:  a.username,
		Sub:       a.sub,
		ClientID:  a.clientID,
		SourceIP:  callerOf(ctx).IP,
		Detail:    a.detail,
		ExpiresAt: now.Add(auditRetention(a.pool)),
	}
	if _, err := e.store.AppendAudit(ctx, ev); err != nil {
		e.log.ErrorContext(ctx, "audit event not recorded", "pool", a.pool.ID, "type", a.typ, "error", err)
	}
}

// auditRetention is how long the pool keeps audit events; a pool that set
// none keeps the default rather than dropping them at once.
func auditRetention(p pool.Pool) time.Duration {
	if r := p.Settings.EffectiveLimits().AuditRetention; r > 0 {
		return r
	}
	return pool.DefaultLimits().AuditRetention
}

// DeliveryFailed records in the audit trail that a queued code message
// could not be delivered (the dispatcher gave up on it). reason must hold
// no secret; the dispatcher's error text is scrubbed of the code and body.
func (e *Engine) DeliveryFailed(ctx context.Context, poolID, channel, purpose string, attempts int, reason string) {
	p, err := e.store.GetPool(ctx, poolID)
	if err != nil {
		e.log.ErrorContext(ctx, "audit delivery failure: load pool", "pool", poolID, "error", err)
		return
	}
	e.audit(ctx, auditEntry{pool: p, typ: EventCodeFailed, detail: map[string]string{
		"channel": channel, "purpose": purpose, "attempts": strconv.Itoa(attempts), "reason": reason,
	}})
}
