package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/rowcodec"
)

// Error context names messages by ID only: the destination is a person's
// phone number or email address.

func (s *Store) EnqueueMessage(ctx context.Context, m store.OutboxMessage) error {
	tag, err := s.q().Exec(ctx,
		`INSERT INTO outbox (`+rowcodec.OutboxColumns+`) VALUES (`+placeholders(12)+`)
		 ON CONFLICT DO NOTHING`,
		m.ID, m.PoolID, m.Channel, m.Destination, m.Purpose, m.Decoy, nonNilBlob(m.Sealed),
		m.Attempts, m.LastError, rowcodec.MS(m.CreatedAt), rowcodec.MS(m.NotBefore), rowcodec.MS(m.ExpiresAt))
	if err != nil {
		return wrapErr(fmt.Sprintf("enqueue message %q", m.ID), err)
	}
	return insertedOne(fmt.Sprintf("enqueue message %q", m.ID), tag)
}

// ClaimMessages locks the oldest claimable rows with FOR UPDATE SKIP LOCKED
// and leases them in the same statement. Claimers on other nodes skip the
// rows locked here instead of waiting for them; once this transaction
// commits, the new not_before hides the rows from them (a claimer whose
// snapshot is older re-checks a row's WHERE clause against its latest
// version when it locks it, and finds it leased). It runs in a transaction
// so that if reading the claimed rows back fails, the claim is rolled back
// rather than leasing messages to nobody.
// The lease's end is rounded up to a whole millisecond so that it never
// ends early.
func (s *Store) ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.OutboxMessage, error) {
	if limit <= 0 || lease <= 0 {
		return nil, fmt.Errorf("claim messages: limit %d and lease %v must be positive", limit, lease)
	}
	var out []store.OutboxMessage
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx,
			`UPDATE outbox SET not_before = $1, attempts = attempts + 1
			 WHERE id IN (
			   SELECT id FROM outbox WHERE not_before <= $2 AND expires_at > $2
			   ORDER BY created_at, id LIMIT $3
			   FOR UPDATE SKIP LOCKED
			 )
			 RETURNING `+rowcodec.OutboxColumns,
			rowcodec.CeilMS(now.Add(lease)), rowcodec.MS(now), int64(limit))
		if err != nil {
			return err
		}
		out, err = collect(rows, rowcodec.ScanOutboxMessage)
		return err
	})
	if err != nil {
		return nil, wrapErr("claim messages", err)
	}
	// RETURNING yields rows in no defined order.
	slices.SortFunc(out, rowcodec.CompareOutbox)
	return out, nil
}

func (s *Store) DeleteMessage(ctx context.Context, id string) error {
	tag, err := s.q().Exec(ctx, `DELETE FROM outbox WHERE id = $1`, id)
	if err == nil {
		err = mustAffect(tag)
	}
	if err != nil {
		return wrapErr(fmt.Sprintf("delete message %q", id), err)
	}
	return nil
}

func (s *Store) DeferMessage(ctx context.Context, id string, notBefore time.Time, lastError string) error {
	tag, err := s.q().Exec(ctx,
		`UPDATE outbox SET not_before = $1, last_error = $2 WHERE id = $3`,
		rowcodec.MS(notBefore), lastError, id)
	if err == nil {
		err = mustAffect(tag)
	}
	if err != nil {
		return wrapErr(fmt.Sprintf("defer message %q", id), err)
	}
	return nil
}
