package dispatch_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/deliver/dispatch"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/postgres/pgtest"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// backends lists the stores the tests run on. newDB creates an empty
// database for the test and returns a function that opens a new handle on
// it, closed when the test ends: two handles stand for two nodes.
var backends = []struct {
	name  string
	newDB func(tb testing.TB) func() store.Store
}{
	{"sqlite", func(tb testing.TB) func() store.Store {
		path := filepath.Join(tb.TempDir(), "latchkey.db")
		return func() store.Store {
			st, err := sqlite.Open(context.Background(), path)
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { st.Close() })
			return st
		}
	}},
	{"postgres", func(tb testing.TB) func() store.Store {
		url := pgtest.URL(tb)
		return func() store.Store {
			st, err := postgres.Open(context.Background(), url)
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { st.Close() })
			return st
		}
	}},
}

// eachStore runs f on every backend, with a new database holding testPool.
func eachStore(t *testing.T, f func(t *testing.T, open func() store.Store)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			open := b.newDB(t)
			if err := open().CreatePool(t.Context(), testPool); err != nil {
				t.Fatal(err)
			}
			f(t, open)
		})
	}
}

var testPool = pool.Pool{
	ID:        "eu-west-1_Dispatch1",
	Name:      "dispatch",
	Region:    "eu-west-1",
	CreatedAt: t0,
	Settings:  pool.DefaultSettings(),
	HashKey:   bytes.Repeat([]byte{0x42}, 32),
}

// clock is a fake clock that moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// seeded returns a deterministic random source; give each dispatcher its
// own seed, or two of them would make the same message IDs.
func seeded(seed byte) *mrand.ChaCha8 {
	return mrand.NewChaCha8([32]byte{seed})
}

// recorder is a Sender that records what it is asked to send and answers
// with fail (nil: success).
type recorder struct {
	mu   sync.Mutex
	sent []deliver.Message
	fail func(call int, m deliver.Message) error
}

func (r *recorder) Send(_ context.Context, m deliver.Message) error {
	r.mu.Lock()
	r.sent = append(r.sent, m)
	call := len(r.sent)
	fail := r.fail
	r.mu.Unlock()
	if fail != nil {
		return fail(call, m)
	}
	return nil
}

func (r *recorder) messages() []deliver.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]deliver.Message(nil), r.sent...)
}

func transient(msg string) error {
	return &deliver.ProviderError{Provider: "fake", Transient: true, Err: errors.New(msg)}
}

func permanent(msg string) error {
	return &deliver.ProviderError{Provider: "fake", Err: errors.New(msg)}
}

// failures records OnFailure calls.
type failures struct {
	mu    sync.Mutex
	calls []failure
}

type failure struct {
	msg store.OutboxMessage
	err error
}

func (f *failures) hook(_ context.Context, msg store.OutboxMessage, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, failure{msg, err})
}

func (f *failures) get() []failure {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]failure(nil), f.calls...)
}

// spy is a store that records every message it hands out, and may change
// them first (to corrupt a sealed message, say).
type spy struct {
	store.Store
	mu      sync.Mutex
	claimed []store.OutboxMessage
	mutate  func(*store.OutboxMessage)
}

func (s *spy) ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.OutboxMessage, error) {
	msgs, err := s.Store.ClaimMessages(ctx, now, lease, limit)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range msgs {
		if s.mutate != nil {
			s.mutate(&msgs[i])
		}
		s.claimed = append(s.claimed, msgs[i])
	}
	return msgs, err
}

func (s *spy) claims() []store.OutboxMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]store.OutboxMessage(nil), s.claimed...)
}

func newDispatcher(t testing.TB, cfg dispatch.Config) *dispatch.Dispatcher {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	d, err := dispatch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// sms returns a sign-in SMS with code code to number to.
func sms(to, code string) deliver.Message {
	return deliver.Message{
		PoolID:  testPool.ID,
		Channel: deliver.ChannelSMS,
		To:      to,
		Body:    code + " is your dispatch sign-in code. It expires in 3 minutes.",
		Code:    code,
		Purpose: "sign_in",
		Locale:  "en",
	}
}

func enqueue(t testing.TB, d *dispatch.Dispatcher, m deliver.Message, decoy bool, expiresAt time.Time) {
	t.Helper()
	if err := d.Enqueue(context.Background(), testPool, m, decoy, expiresAt); err != nil {
		t.Fatal(err)
	}
}

func drain(t testing.TB, d *dispatch.Dispatcher) {
	t.Helper()
	if err := d.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// pending reports how many messages are claimable at the far future: the
// ones still in the outbox, however long their backoff. It claims them.
func pending(t testing.TB, st store.Store, at time.Time) int {
	t.Helper()
	msgs, err := st.ClaimMessages(context.Background(), at, time.Second, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(msgs)
}
