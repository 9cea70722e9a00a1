package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
)

// bulkBatch is how many users one transaction of BulkSeed stores.
const bulkBatch = 5000

// BulkSeed fills pool p of st with users numbered as the returning flow
// numbers them (prefix, 0 … users-1): CONFIRMED, their phone numbers
// verified, as if each had signed up and signed in once. It writes
// straight to the store, thousands of users a transaction, to make a
// large store for a benchmark in minutes rather than the hours sign-ups
// would take; users already there are kept. It returns how many it added.
func BulkSeed(ctx context.Context, st store.Store, p pool.Pool, prefix string, users int, progress io.Writer) (int, error) {
	if err := checkPrefix(prefix, users); err != nil {
		return 0, err
	}
	if progress == nil {
		progress = io.Discard
	}
	added := 0
	now := time.Now().UTC()
	for start := 0; start < users; start += bulkBatch {
		end := min(start+bulkBatch, users)
		n := 0
		err := st.Update(ctx, func(tx store.Tx) error {
			n = 0
			for i := start; i < end; i++ {
				phone := number(prefix, i)
				sub := uuid.NewString()
				u := pool.User{
					PoolID: p.ID, Sub: sub, Username: phone,
					Attributes: map[string]string{
						pool.AttrSub: sub, pool.AttrPhoneNumber: phone, pool.AttrPhoneNumberVerified: "true",
					},
					Status: pool.StatusConfirmed, Enabled: true, CreatedAt: now, UpdatedAt: now,
				}
				if _, err := tx.CreateUser(ctx, u); err != nil {
					if errors.Is(err, pool.ErrConflict) {
						continue // signed up already
					}
					return fmt.Errorf("user %s: %w", phone, err)
				}
				n++
			}
			return nil
		})
		if err != nil {
			return added, fmt.Errorf("bulk seed: %w", err)
		}
		added += n
		fmt.Fprintf(progress, "%d of %d users stored\n", end, users)
	}
	return added, nil
}
