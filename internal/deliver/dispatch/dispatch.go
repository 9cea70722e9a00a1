// Package dispatch delivers code messages through the store's durable
// outbox. A request enqueues its message (sealed, so the code is never
// stored in clear) and returns at once; workers on every node claim due
// messages with a lease, send them and delete them, retrying transient
// provider failures until the code expires. A request therefore never
// waits on a provider, a decoy for an unknown user costs the request the
// same as a real message, and an acknowledged message survives a crash of
// the node that took it.
//
// Delivery is at least once: a node that dies after sending but before
// deleting leaves a message that another node sends again when the lease
// runs out. While a lease holds, no other node sends the message.
package dispatch

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/email"
	"github.com/latchkey/latchkey/internal/phone"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/seal"
	"github.com/latchkey/latchkey/internal/store"
)

// Defaults for the zero values of Config.
const (
	DefaultLease        = 30 * time.Second
	DefaultBatch        = 16
	DefaultPollInterval = time.Second
	DefaultWorkers      = 4
)

const (
	// maxBackoff caps the default backoff.
	maxBackoff = 30 * time.Second
	// maxErrorText bounds the error text kept in a row and in logs.
	maxErrorText = 300
	// storeTimeout bounds one store call made after a send, which is made
	// even when the caller's context has ended, so that an outcome known
	// is an outcome recorded.
	storeTimeout = 10 * time.Second
)

// Store is what a Dispatcher needs from persistence: the outbox, and pools
// for the keys that open their messages.
type Store interface {
	store.Outbox
	GetPool(ctx context.Context, id string) (pool.Pool, error)
}

// Config configures a Dispatcher. Store and Sender are required; zero
// values of the others take the defaults.
type Config struct {
	Store  Store
	Sender deliver.Sender
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Rand supplies message IDs, nonces and backoff jitter; crypto/rand
	// when nil. It need not be safe for concurrent use.
	Rand io.Reader
	// Logger receives delivery failures; they are discarded when nil.
	Logger *slog.Logger
	// Lease is how long a claimed message is kept from other workers. A
	// send is given a little less, so it ends before another node may take
	// the message. DefaultLease when zero.
	Lease time.Duration
	// Batch is the most messages one claim takes. DefaultBatch when zero.
	Batch int
	// PollInterval is how often idle workers look for due messages that
	// were not enqueued on this node (retries, other nodes' messages).
	// DefaultPollInterval when zero.
	PollInterval time.Duration
	// Workers is the most sends in flight at once. DefaultWorkers when
	// zero.
	Workers int
	// Backoff is how long to wait after the attempt-th failed attempt (1
	// for the first). The default doubles from 1s up to 30s and takes up
	// to a quarter off at random, so nodes that failed together do not
	// retry together. It is called from several goroutines at once.
	Backoff func(attempt int) time.Duration
	// OnFailure, when set, is called once for each real message dropped
	// undelivered (a permanent failure, a code that expired while retrying,
	// or a message that cannot be opened), after it is deleted. msg.Sealed
	// is nil and msg.LastError holds the error text; err's text holds no
	// code or body. It is called from several goroutines at once.
	OnFailure func(ctx context.Context, msg store.OutboxMessage, err error)
}

// Stats counts what a Dispatcher did since it was created.
type Stats struct {
	Enqueued uint64 // messages stored by Enqueue, decoys included
	Sent     uint64 // messages delivered and deleted
	Retried  uint64 // transient failures deferred for another attempt
	Failed   uint64 // real messages dropped undelivered
	Decoys   uint64 // decoys dropped unsent
}

// Dispatcher enqueues code messages and delivers them. It is safe for
// concurrent use; call Run once per process.
type Dispatcher struct {
	st          Store
	sender      deliver.Sender
	now         func() time.Time
	rand        io.Reader
	log         *slog.Logger
	lease       time.Duration
	sendTimeout time.Duration
	batch       int
	poll        time.Duration
	workers     int
	backoff     func(int) time.Duration
	onFailure   func(context.Context, store.OutboxMessage, error)

	// wake tells Run that a message was just enqueued here, so it is sent
	// without waiting for the next poll.
	wake chan struct{}

	mu sync.Mutex
	// ciphers caches each pool's outbox key. A pool's HashKey never
	// changes, so entries live as long as the process.
	ciphers map[string]*seal.Box

	enqueued, sent, retried, failed, decoys atomic.Uint64
	// claims tracks this process's claims until their messages are dealt
	// with, so Flush can wait for those enqueued before it was called.
	claims *claims
}

// New returns a Dispatcher for cfg.
func New(cfg Config) (*Dispatcher, error) {
	if cfg.Store == nil {
		return nil, errors.New("dispatch: Config.Store is required")
	}
	if cfg.Sender == nil {
		return nil, errors.New("dispatch: Config.Sender is required")
	}
	if cfg.Lease < 0 || cfg.Batch < 0 || cfg.PollInterval < 0 || cfg.Workers < 0 {
		return nil, errors.New("dispatch: Lease, Batch, PollInterval and Workers must not be negative")
	}
	d := &Dispatcher{
		st:        cfg.Store,
		sender:    cfg.Sender,
		now:       cfg.Now,
		rand:      rand.Reader,
		log:       cfg.Logger,
		lease:     cmp.Or(cfg.Lease, DefaultLease),
		batch:     cmp.Or(cfg.Batch, DefaultBatch),
		poll:      cmp.Or(cfg.PollInterval, DefaultPollInterval),
		workers:   cmp.Or(cfg.Workers, DefaultWorkers),
		backoff:   cfg.Backoff,
		onFailure: cfg.OnFailure,
		wake:      make(chan struct{}, 1),
		ciphers:   make(map[string]*seal.Box),
		claims:    newClaims(),
	}
	if d.now == nil {
		d.now = time.Now
	}
	if cfg.Rand != nil {
		d.rand = &lockedReader{r: cfg.Rand}
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.backoff == nil {
		d.backoff = d.defaultBackoff
	}
	// Leave a fifth of the lease for recording the outcome.
	d.sendTimeout = d.lease - d.lease/5
	return d, nil
}

// Stats returns a snapshot of the counters.
func (d *Dispatcher) Stats() Stats {
	return Stats{
		Enqueued: d.enqueued.Load(),
		Sent:     d.sent.Load(),
		Retried:  d.retried.Load(),
		Failed:   d.failed.Load(),
		Decoys:   d.decoys.Load(),
	}
}

// Enqueue seals m under a key of pool p and stores it in the outbox, to be
// delivered before expiresAt (when its code expires). It returns once the
// message is durably stored; delivery starts at once on this node's
// workers. A decoy (for a user that does not exist) goes through exactly
// the same steps, so m should be what a real user would get, and is
// dropped unsent by the workers. To store the message in a transaction of
// one's own, use Prepare and Enqueued instead.
func (d *Dispatcher) Enqueue(ctx context.Context, p pool.Pool, m deliver.Message, decoy bool, expiresAt time.Time) error {
	row, err := d.Prepare(p, m, decoy, expiresAt)
	if err != nil {
		return err
	}
	if err := d.st.EnqueueMessage(ctx, row); err != nil {
		return fmt.Errorf("enqueue message for pool %s: %w", p.ID, err)
	}
	d.Enqueued(1)
	return nil
}

// Prepare seals m under a key of pool p into the outbox row that delivers
// it before expiresAt, for the caller to store (store.Outbox.EnqueueMessage)
// in the same transaction as the rest of its work. After that transaction
// commits, the caller calls Enqueued so delivery starts at once.
func (d *Dispatcher) Prepare(p pool.Pool, m deliver.Message, decoy bool, expiresAt time.Time) (store.OutboxMessage, error) {
	if m.PoolID == "" {
		m.PoolID = p.ID
	}
	if m.PoolID != p.ID {
		return store.OutboxMessage{}, fmt.Errorf("enqueue message: message is for pool %s, not %s", m.PoolID, p.ID)
	}
	now := d.now().UTC()
	if !expiresAt.After(now) {
		return store.OutboxMessage{}, fmt.Errorf("enqueue message for pool %s: it expires at %v, before it can be sent", p.ID, expiresAt)
	}
	var idBytes [16]byte
	if _, err := io.ReadFull(d.rand, idBytes[:]); err != nil {
		return store.OutboxMessage{}, fmt.Errorf("enqueue message for pool %s: generate ID: %w", p.ID, err)
	}
	id := hex.EncodeToString(idBytes[:])
	aead, err := d.cipherOf(p)
	if err != nil {
		return store.OutboxMessage{}, fmt.Errorf("enqueue message for pool %s: %w", p.ID, err)
	}
	k := kindReal
	if decoy {
		k = kindDecoy
	}
	sealed, err := sealMessage(d.rand, aead, id, k, m)
	if err != nil {
		return store.OutboxMessage{}, err
	}
	return store.OutboxMessage{
		ID:      id,
		PoolID:  p.ID,
		Channel: string(m.Channel),
		// The row needs no more personal data than a log line: the real
		// address is sealed.
		Destination: mask(m.Channel, m.To),
		Purpose:     m.Purpose,
		Decoy:       decoy,
		Sealed:      sealed,
		CreatedAt:   now,
		NotBefore:   now,
		ExpiresAt:   expiresAt.UTC(),
	}, nil
}

// Enqueued tells the dispatcher that n messages made by Prepare are now
// stored (their transaction committed), so this node's workers send them
// without waiting for the next poll.
func (d *Dispatcher) Enqueued(n int) {
	if n <= 0 {
		return
	}
	d.enqueued.Add(uint64(n))
	select {
	case d.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// Run delivers due messages until ctx ends, then waits for the sends in
// flight to finish (each is bounded by a little less than the lease). It
// claims as many messages as it has idle workers (at most Batch), so no
// claimed message waits for a worker while its lease runs out.
func (d *Dispatcher) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	// slots holds a token per send in flight.
	slots := make(chan struct{}, d.workers)
	ticker := time.NewTicker(d.poll)
	defer ticker.Stop()
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		n := 1
	more:
		for n < d.batch {
			select {
			case slots <- struct{}{}:
				n++
			default:
				break more
			}
		}
		no := d.claims.begin()
		msgs, err := d.st.ClaimMessages(ctx, d.now(), d.lease, n)
		d.claims.claimed(no, msgs)
		for range n - len(msgs) {
			<-slots
		}
		if err != nil && ctx.Err() == nil {
			d.log.ErrorContext(ctx, "claim outbox messages", "error", err)
		}
		// Sends outlive ctx: a message claimed is sent, not abandoned to
		// wait for its lease.
		sendCtx := context.WithoutCancel(ctx)
		for _, m := range msgs {
			wg.Go(func() {
				defer func() { <-slots }()
				defer d.claims.done(no)
				_ = d.process(sendCtx, m) // logged there; the lease retries it
			})
		}
		if err == nil && len(msgs) == n {
			continue // there may be more due now
		}
		select {
		case <-d.wake:
		case <-ticker.C:
		case <-ctx.Done():
			return
		}
	}
}

// Drain processes messages until none is due, and returns the first error
// from the store. A message deferred for a retry is not due until its
// backoff has passed, so Drain ends. ctx bounds the sends too: a send cut
// short by ctx leaves its message to be tried again when its lease ends.
func (d *Dispatcher) Drain(ctx context.Context) error {
	for {
		msgs, err := d.drainOnce(ctx)
		if err != nil || len(msgs) == 0 {
			return err
		}
	}
}

// drainOnce claims up to Batch due messages, the oldest first, deals with
// them and returns them with the first error. Its claim is tracked like
// Run's, so a concurrent Flush waits for the messages it is sending.
func (d *Dispatcher) drainOnce(ctx context.Context) ([]store.OutboxMessage, error) {
	no := d.claims.begin()
	msgs, err := d.st.ClaimMessages(ctx, d.now(), d.lease, d.batch)
	d.claims.claimed(no, msgs)
	if err != nil {
		return nil, fmt.Errorf("claim outbox messages: %w", err)
	}
	errs := make([]error, len(msgs))
	slots := make(chan struct{}, d.workers)
	var wg sync.WaitGroup
	for i, m := range msgs {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			defer d.claims.done(no)
			errs[i] = d.process(ctx, m)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return msgs, err
		}
	}
	return msgs, nil
}

// Flush returns once every message enqueued on this node before the call
// has been sent, dropped or deferred for a retry (or is held by another
// node), and does not wait for messages enqueued after it: under load,
// when more keep coming, it still returns. It claims due messages, the
// oldest first, until those left are all newer than the call, then waits
// for this process's other claims that may hold older ones. The dev
// outbox uses it so that a code is readable as soon as the request that
// made it has been answered.
func (d *Dispatcher) Flush(ctx context.Context) error {
	// Enqueue stamps CreatedAt from the same clock before storing, so a
	// message enqueued before now is not After it.
	cutoff := d.now()
	for {
		msgs, err := d.drainOnce(ctx)
		if err != nil {
			return err
		}
		// The store hands out the oldest due messages first: fewer than
		// asked for, or any newer than the call, means every due message
		// from before the call has been claimed, here or by another claim.
		if len(msgs) < d.batch || slices.ContainsFunc(msgs, func(m store.OutboxMessage) bool { return m.CreatedAt.After(cutoff) }) {
			break
		}
	}
	// A claim that took one of them began before now.
	return d.claims.wait(ctx, d.claims.begun(), cutoff)
}

// process delivers or drops one claimed message. It returns only store
// errors and ctx's; the message is then left to be claimed again once its
// lease ends.
func (d *Dispatcher) process(ctx context.Context, row store.OutboxMessage) error {
	if row.Decoy {
		// Open it as a real message would be opened, so the node's work
		// (and so its effect on other requests' timing) is alike.
		if aead, err := d.cipherFor(ctx, row.PoolID); err == nil {
			_, _ = openMessage(aead, row.ID, row.PoolID, kindDecoy, row.Sealed)
		}
		if _, err := d.delete(ctx, row); err != nil {
			return err
		}
		d.decoys.Add(1)
		return nil
	}

	sendCtx, cancel := context.WithTimeout(ctx, d.sendTimeout)
	defer cancel()
	aead, err := d.cipherFor(sendCtx, row.PoolID)
	if errors.Is(err, pool.ErrNotFound) {
		return d.drop(ctx, row, fmt.Errorf("pool %s no longer exists: %w", row.PoolID, err))
	}
	if err != nil {
		d.logAt(ctx, slog.LevelError, "outbox: cannot load the message's pool", row, err.Error())
		return fmt.Errorf("load pool %s: %w", row.PoolID, err)
	}
	m, err := openMessage(aead, row.ID, row.PoolID, kindReal, row.Sealed)
	if err != nil {
		return d.drop(ctx, row, err)
	}

	err = d.sender.Send(sendCtx, m)
	cancel()
	if err != nil && ctx.Err() != nil {
		// We gave up, not the provider (which may call that permanent):
		// the lease brings the message back.
		return fmt.Errorf("send outbox message %s: %w", row.ID, ctx.Err())
	}
	if err == nil {
		if _, err := d.delete(ctx, row); err != nil {
			return err
		}
		d.sent.Add(1)
		d.logAt(ctx, slog.LevelDebug, "outbox: code message sent", row, "")
		return nil
	}
	// From here on only redacted text describes the failure: a careless
	// provider may have echoed the message back.
	failure := &sendError{msg: redact(err.Error(), m), err: err}
	if !deliver.IsTransient(err) {
		return d.drop(ctx, row, failure)
	}
	next := d.now().Add(d.backoff(row.Attempts))
	if !next.Before(row.ExpiresAt) {
		return d.drop(ctx, row, &sendError{msg: "the code expires before the next attempt; last error: " + failure.msg, err: err})
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if err := d.st.DeferMessage(sctx, row.ID, next, failure.msg); err != nil {
		if errors.Is(err, pool.ErrNotFound) {
			return nil // as in delete
		}
		d.logAt(ctx, slog.LevelError, "outbox: cannot defer message", row, err.Error())
		return fmt.Errorf("defer outbox message %s: %w", row.ID, err)
	}
	d.retried.Add(1)
	d.logAt(ctx, slog.LevelWarn, "outbox: code message deferred after a transient failure", row, failure.msg,
		slog.Time("next_attempt", next))
	return nil
}

// drop deletes a real message that will not be delivered, logs why and
// tells OnFailure. cause's text must hold no secret.
func (d *Dispatcher) drop(ctx context.Context, row store.OutboxMessage, cause error) error {
	found, err := d.delete(ctx, row)
	if err != nil || !found {
		return err // if gone, another worker has had the last word
	}
	d.failed.Add(1)
	d.logAt(ctx, slog.LevelError, "outbox: code message dropped undelivered", row, cause.Error())
	if d.onFailure != nil {
		row.Sealed = nil
		row.LastError = cause.Error()
		d.onFailure(ctx, row, cause)
	}
	return nil
}

// delete removes a processed message and reports whether it was still
// there: one already gone was swept (its code expired) or, after its lease
// ran out, handled by another worker. It outlives ctx: a message sent and
// not deleted would be sent again.
func (d *Dispatcher) delete(ctx context.Context, row store.OutboxMessage) (found bool, err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	err = d.st.DeleteMessage(ctx, row.ID)
	if errors.Is(err, pool.ErrNotFound) {
		d.logAt(ctx, slog.LevelWarn, "outbox: message was already gone when processed", row, "")
		return false, nil
	}
	if err != nil {
		d.logAt(ctx, slog.LevelError, "outbox: cannot delete message", row, err.Error())
		return false, fmt.Errorf("delete outbox message %s: %w", row.ID, err)
	}
	return true, nil
}

// logAt logs an event about row. The message attribute is built from the
// row's clear columns only (its destination is masked) and logged through
// deliver.Message's LogValue, so no code or body can reach the log.
func (d *Dispatcher) logAt(ctx context.Context, level slog.Level, msg string, row store.OutboxMessage, errText string, attrs ...slog.Attr) {
	if !d.log.Enabled(ctx, level) {
		return
	}
	attrs = append([]slog.Attr{
		slog.Any("message", deliver.Message{
			PoolID:  row.PoolID,
			Channel: deliver.Channel(row.Channel),
			To:      row.Destination,
			Purpose: row.Purpose,
		}),
		slog.String("id", row.ID),
		slog.Int("attempts", row.Attempts),
	}, attrs...)
	if errText != "" {
		attrs = append(attrs, slog.String("error", errText))
	}
	d.log.LogAttrs(ctx, level, msg, attrs...)
}

// cipherFor returns the outbox key of the pool with this ID.
func (d *Dispatcher) cipherFor(ctx context.Context, poolID string) (*seal.Box, error) {
	d.mu.Lock()
	aead, ok := d.ciphers[poolID]
	d.mu.Unlock()
	if ok {
		return aead, nil
	}
	p, err := d.st.GetPool(ctx, poolID)
	if err != nil {
		return nil, err
	}
	return d.cipherOf(p)
}

// cipherOf returns p's outbox key, deriving and caching it on first use.
func (d *Dispatcher) cipherOf(p pool.Pool) (*seal.Box, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if aead, ok := d.ciphers[p.ID]; ok {
		return aead, nil
	}
	aead, err := newAEAD(p.HashKey)
	if err != nil {
		return nil, err
	}
	d.ciphers[p.ID] = aead
	return aead, nil
}

// defaultBackoff waits 1s, 2s, 4s, … up to 30s after successive failures,
// less up to a quarter at random.
func (d *Dispatcher) defaultBackoff(attempt int) time.Duration {
	b := maxBackoff
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 6 {
		b = min(time.Second<<(attempt-1), maxBackoff)
	}
	var r [8]byte
	if _, err := io.ReadFull(d.rand, r[:]); err != nil {
		return b // no jitter is better than no retry
	}
	return b - time.Duration(binary.LittleEndian.Uint64(r[:])%uint64(b/4+1))
}

// sendError is a failed send described by text without secrets. It wraps
// the original so errors.Is and deliver.IsTransient still work.
type sendError struct {
	msg string
	err error
}

func (e *sendError) Error() string { return e.msg }
func (e *sendError) Unwrap() error { return e.err }

// redact removes m's secrets from text, masks its destination and bounds
// its length.
func redact(text string, m deliver.Message) string {
	// Longest first: the code is inside the body.
	for _, secret := range []string{m.HTML, m.Body, m.Code} {
		if secret != "" {
			text = strings.ReplaceAll(text, secret, "[redacted]")
		}
	}
	if m.To != "" {
		text = strings.ReplaceAll(text, m.To, mask(m.Channel, m.To))
	}
	if len(text) > maxErrorText {
		cut := maxErrorText
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "…"
	}
	return text
}

// mask hides a destination as the API's CodeDeliveryDetails do.
func mask(ch deliver.Channel, to string) string {
	switch ch {
	case deliver.ChannelSMS:
		return phone.Mask(to)
	case deliver.ChannelEmail:
		return email.Mask(to)
	default:
		return "***"
	}
}

// lockedReader serialises reads, since Config.Rand need not be safe for
// concurrent use.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}
