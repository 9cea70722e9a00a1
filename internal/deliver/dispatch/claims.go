package dispatch

import (
	"context"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// claims keeps track of this process's claims of outbox messages, from the
// moment one is asked of the store until every message it returned has
// been dealt with. Flush uses it to wait for the claims that may hold a
// message enqueued before Flush was called, and for no others: under load
// there is always a claim in progress, so waiting for the dispatcher to be
// idle could take as long as the load lasts.
type claims struct {
	mu   sync.Mutex
	next uint64 // the number the next claim gets
	open map[uint64]*openClaim
	// changed is closed, and replaced, whenever an open claim learns what
	// it holds or closes.
	changed chan struct{}
}

// openClaim is a claim whose messages are not all dealt with yet.
type openClaim struct {
	known  bool      // the store has answered, so oldest and left are set
	oldest time.Time // the earliest CreatedAt among its messages
	left   int       // its messages not yet dealt with
}

func newClaims() *claims {
	return &claims{open: make(map[uint64]*openClaim), changed: make(chan struct{})}
}

// begin records a claim about to be asked of the store and returns its
// number; numbers grow in the order claims begin.
func (c *claims) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	no := c.next
	c.next++
	c.open[no] = &openClaim{}
	return no
}

// claimed records the messages claim no got (none when the store failed).
// A claim of nothing is closed at once.
func (c *claims) claimed(no uint64, msgs []store.OutboxMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	oc := c.open[no]
	oc.known, oc.left = true, len(msgs)
	for i, m := range msgs {
		if i == 0 || m.CreatedAt.Before(oc.oldest) {
			oc.oldest = m.CreatedAt
		}
	}
	if oc.left == 0 {
		delete(c.open, no)
	}
	c.signal()
}

// done records that one message of claim no has been dealt with.
func (c *claims) done(no uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	oc := c.open[no]
	if oc.left--; oc.left == 0 {
		delete(c.open, no)
		c.signal()
	}
}

// begun returns the number the next claim will get: every claim begun so
// far has a smaller one.
func (c *claims) begun() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.next
}

// wait returns once no claim numbered below before may still hold an
// undealt message created at or before cutoff: a claim still waiting for
// the store may, one that got only later messages may not. It returns
// ctx's error if ctx ends first.
func (c *claims) wait(ctx context.Context, before uint64, cutoff time.Time) error {
	for {
		c.mu.Lock()
		blocked := false
		for no, oc := range c.open {
			if no < before && (!oc.known || !oc.oldest.After(cutoff)) {
				blocked = true
				break
			}
		}
		changed := c.changed
		c.mu.Unlock()
		if !blocked {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// signal wakes the waiters; c.mu is held.
func (c *claims) signal() {
	close(c.changed)
	c.changed = make(chan struct{})
}
