package deliver

import (
	"context"
	"encoding/json"
	"sync"
	"time"
)

// Outbox is a dev sender that keeps the most recent messages in memory so
// developers and end-to-end tests can read codes (GET /_dev/outbox). It is
// bounded: once full, each new message evicts the oldest. It is safe for
// concurrent use.
type Outbox struct {
	now func() time.Time

	mu   sync.Mutex
	buf  []OutboxMessage // ring buffer, grown up to cap(buf)
	next int             // index the next message overwrites once full
}

// OutboxMessage is a message as the outbox shows it.
type OutboxMessage struct {
	To        string    `json:"to"`
	Channel   Channel   `json:"channel"`
	PoolID    string    `json:"pool_id"`
	Purpose   string    `json:"purpose"`
	Subject   string    `json:"subject,omitempty"`
	Body      string    `json:"body"`
	Code      string    `json:"code"`
	CreatedAt time.Time `json:"created_at"`
}

// MarshalJSON writes created_at as RFC 3339 UTC with milliseconds, a fixed
// width that sorts as text.
func (m OutboxMessage) MarshalJSON() ([]byte, error) {
	type plain OutboxMessage // drops this method to avoid recursion
	return json.Marshal(struct {
		plain
		CreatedAt string `json:"created_at"`
	}{plain(m), m.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00")})
}

// NewOutbox returns an outbox holding at most capacity messages in total,
// stamped with now (time.Now when nil). capacity must be positive.
func NewOutbox(capacity int, now func() time.Time) *Outbox {
	if capacity < 1 {
		panic("deliver: NewOutbox needs a positive capacity")
	}
	if now == nil {
		now = time.Now
	}
	return &Outbox{now: now, buf: make([]OutboxMessage, 0, capacity)}
}

// Send stores m, evicting the oldest message if the outbox is full.
func (o *Outbox) Send(_ context.Context, m Message) error {
	om := OutboxMessage{
		To:        m.To,
		Channel:   m.Channel,
		PoolID:    m.PoolID,
		Purpose:   m.Purpose,
		Subject:   m.Subject,
		Body:      m.Body,
		Code:      m.Code,
		CreatedAt: o.now(),
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.buf) < cap(o.buf) {
		o.buf = append(o.buf, om)
		return nil
	}
	o.buf[o.next] = om
	o.next = (o.next + 1) % len(o.buf)
	return nil
}

// Messages returns the messages sent to exactly to, newest first. The result
// is never nil.
func (o *Outbox) Messages(to string) []OutboxMessage {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := []OutboxMessage{}
	// Until the buffer is full, next is 0 and the newest is at the end.
	n := len(o.buf)
	for i := 1; i <= n; i++ {
		m := o.buf[(o.next-i+n)%n]
		if m.To == to {
			out = append(out, m)
		}
	}
	return out
}
