package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/rowcodec"
)

// Error context names messages by ID only: the destination is a person's
// phone number or email address.

func (s *Store) EnqueueMessage(ctx context.Context, m store.OutboxMessage) error {
	_, err := s.writer().ExecContext(ctx,
		`INSERT INTO outbox (`+rowcodec.OutboxColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.PoolID, m.Channel, m.Destination, m.Purpose, m.Decoy, nonNilBlob(m.Sealed),
		m.Attempts, m.LastError, rowcodec.MS(m.CreatedAt), rowcodec.MS(m.NotBefore), rowcodec.MS(m.ExpiresAt))
	if err != nil {
		return wrapErr(fmt.Sprintf("enqueue message %q", m.ID), err)
	}
	return nil
}

func (s *Store) ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.OutboxMessage, error) {
	if limit <= 0 || lease <= 0 {
		return nil, fmt.Errorf("claim messages: limit %d and lease %v must be positive", limit, lease)
	}
	var out []store.OutboxMessage
	// One UPDATE picks and leases the messages under the write lock, so no
	// two claimers, in this process or another, get the same message. It
	// runs in a transaction so that if reading the claimed rows back fails,
	// the claim is rolled back rather than leasing messages to nobody.
	// The lease's end is rounded up to a whole millisecond so that it never
	// ends early.
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := s.in(tx).QueryContext(ctx,
			`UPDATE outbox SET not_before = ?, attempts = attempts + 1
			 WHERE rowid IN (
			   SELECT rowid FROM outbox WHERE not_before <= ? AND expires_at > ?
			   ORDER BY created_at, id LIMIT ?
			 )
			 RETURNING `+rowcodec.OutboxColumns,
			rowcodec.CeilMS(now.Add(lease)), rowcodec.MS(now), rowcodec.MS(now), limit)
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
	// In a transaction, so that deliveries finishing together share a
	// commit (groupcommit.go).
	err := s.inSharedTx(ctx, func(tx *sql.Tx) error {
		res, err := s.in(tx).ExecContext(ctx, `DELETE FROM outbox WHERE id = ?`, id)
		if err == nil {
			err = mustAffect(res)
		}
		return err
	})
	if err != nil {
		return wrapErr(fmt.Sprintf("delete message %q", id), err)
	}
	return nil
}

func (s *Store) DeferMessage(ctx context.Context, id string, notBefore time.Time, lastError string) error {
	res, err := s.writer().ExecContext(ctx,
		`UPDATE outbox SET not_before = ?, last_error = ? WHERE id = ?`,
		rowcodec.MS(notBefore), lastError, id)
	if err == nil {
		err = mustAffect(res)
	}
	if err != nil {
		return wrapErr(fmt.Sprintf("defer message %q", id), err)
	}
	return nil
}
