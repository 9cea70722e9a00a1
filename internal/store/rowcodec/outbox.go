package rowcodec

import (
	"cmp"

	"github.com/latchkey/latchkey/internal/store"
)

// OutboxColumns are the columns of outbox, in the order ScanOutboxMessage
// reads them and EnqueueMessage inserts them.
const OutboxColumns = `id, pool_id, channel, destination, purpose, decoy, sealed, attempts, last_error,
	created_at, not_before, expires_at`

// CompareOutbox orders messages oldest first, as ClaimMessages picks them.
func CompareOutbox(a, b store.OutboxMessage) int {
	return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
}

// ScanOutboxMessage reads a message from a row of OutboxColumns.
func ScanOutboxMessage(sc Scanner) (store.OutboxMessage, error) {
	var (
		m                               store.OutboxMessage
		createdAt, notBefore, expiresAt int64
	)
	if err := sc.Scan(&m.ID, &m.PoolID, &m.Channel, &m.Destination, &m.Purpose, &m.Decoy, &m.Sealed,
		&m.Attempts, &m.LastError, &createdAt, &notBefore, &expiresAt); err != nil {
		return store.OutboxMessage{}, err
	}
	m.Sealed = FromNullBlob(m.Sealed)
	m.CreatedAt = FromMS(createdAt)
	m.NotBefore = FromMS(notBefore)
	m.ExpiresAt = FromMS(expiresAt)
	return m, nil
}
