package dispatch_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/deliver/dispatch"
	"github.com/latchkey/latchkey/internal/store"
)

const phone = "+15555550100"

func TestNewChecksConfig(t *testing.T) {
	if _, err := dispatch.New(dispatch.Config{Sender: &recorder{}}); err == nil {
		t.Error("New accepted a config without a store")
	}
	if _, err := dispatch.New(dispatch.Config{Store: &spy{}}); err == nil {
		t.Error("New accepted a config without a sender")
	}
	if _, err := dispatch.New(dispatch.Config{Store: &spy{}, Sender: &recorder{}, Lease: -time.Second}); err == nil {
		t.Error("New accepted a negative lease")
	}
}

func TestEnqueueChecksMessage(t *testing.T) {
	clk := newClock()
	d := newDispatcher(t, dispatch.Config{Store: &spy{}, Sender: &recorder{}, Now: clk.Now, Rand: seeded(1)})
	m := sms(phone, "111111")
	m.PoolID = "eu-west-1_Other0001"
	if err := d.Enqueue(t.Context(), testPool, m, false, t0.Add(time.Minute)); err == nil {
		t.Error("Enqueue accepted a message for another pool")
	}
	if err := d.Enqueue(t.Context(), testPool, sms(phone, "111111"), false, t0); err == nil {
		t.Error("Enqueue accepted a message that has already expired")
	}
}

func TestSuccessDeletes(t *testing.T) {
	eachStore(t, func(t *testing.T, open func() store.Store) {
		clk := newClock()
		st := &spy{Store: open()}
		rec := &recorder{}
		d := newDispatcher(t, dispatch.Config{Store: st, Sender: rec, Now: clk.Now, Rand: seeded(1)})
		m := sms(phone, "246810")
		enqueue(t, d, m, false, t0.Add(3*time.Minute))
		drain(t, d)

		sent := rec.messages()
		if len(sent) != 1 || sent[0] != m {
			t.Fatalf("sent %+v, want exactly %+v", sent, m)
		}
		row := st.claims()[0]
		if row.Destination != "+*******0100" || row.Channel != "sms" || row.Purpose != "sign_in" || row.Decoy || row.Attempts != 1 {
			t.Errorf("stored row %+v: want masked destination, sms, sign_in, real, attempt 1", row)
		}
		if strings.Contains(string(row.Sealed), m.Code) {
			t.Error("the stored message holds the code in clear")
		}
		if got, err := dispatch.Open(testPool.HashKey, row.ID, row.PoolID, row.Sealed); err != nil || got != m {
			t.Errorf("Open(stored row) = %+v, %v; want the message", got, err)
		}
		if n := pending(t, st, t0.Add(2*time.Minute)); n != 0 {
			t.Errorf("%d messages left after delivery", n)
		}
		if s := d.Stats(); s != (dispatch.Stats{Enqueued: 1, Sent: 1}) {
			t.Errorf("Stats = %+v", s)
		}
	})
}

func TestDecoyDroppedUnsent(t *testing.T) {
	eachStore(t, func(t *testing.T, open func() store.Store) {
		clk := newClock()
		st := &spy{Store: open()}
		rec := &recorder{}
		fails := &failures{}
		d := newDispatcher(t, dispatch.Config{Store: st, Sender: rec, Now: clk.Now, Rand: seeded(1), OnFailure: fails.hook})
		enqueue(t, d, sms(phone, "135790"), true, t0.Add(3*time.Minute))
		drain(t, d)

		if sent := rec.messages(); len(sent) != 0 {
			t.Fatalf("a decoy was sent: %v", sent)
		}
		if len(fails.get()) != 0 {
			t.Error("OnFailure was called for a decoy")
		}
		claims := st.claims()
		if len(claims) != 1 || !claims[0].Decoy {
			t.Fatalf("claims = %+v, want the decoy once", claims)
		}
		// A decoy looks like a real message in the store, but cannot be
		// opened as one: flipping its flag does not make it sendable.
		if len(claims[0].Sealed) < 60 || claims[0].Destination != "+*******0100" {
			t.Errorf("decoy row %+v does not look like a real one", claims[0])
		}
		if _, err := dispatch.Open(testPool.HashKey, claims[0].ID, claims[0].PoolID, claims[0].Sealed); !errors.Is(err, dispatch.ErrCannotOpen) {
			t.Errorf("Open(decoy) error = %v, want ErrCannotOpen", err)
		}
		if n := pending(t, st, t0.Add(2*time.Minute)); n != 0 {
			t.Errorf("%d messages left after the decoy", n)
		}
		if s := d.Stats(); s != (dispatch.Stats{Enqueued: 1, Decoys: 1}) {
			t.Errorf("Stats = %+v", s)
		}
	})
}

func TestDecoyFlagFlippedIsNotSent(t *testing.T) {
	clk := newClock()
	open := backends[0].newDB(t)
	base := open()
	if err := base.CreatePool(t.Context(), testPool); err != nil {
		t.Fatal(err)
	}
	st := &spy{Store: base, mutate: func(m *store.OutboxMessage) { m.Decoy = false }}
	rec := &recorder{}
	fails := &failures{}
	d := newDispatcher(t, dispatch.Config{Store: st, Sender: rec, Now: clk.Now, Rand: seeded(1), OnFailure: fails.hook})
	enqueue(t, d, sms(phone, "135790"), true, t0.Add(3*time.Minute))
	drain(t, d)
	if len(rec.messages()) != 0 {
		t.Fatal("a decoy whose flag was cleared was sent")
	}
	if f := fails.get(); len(f) != 1 || !errors.Is(f[0].err, dispatch.ErrCannotOpen) {
		t.Fatalf("OnFailure calls = %+v, want one with ErrCannotOpen", f)
	}
}

func TestTransientThenSuccess(t *testing.T) {
	eachStore(t, func(t *testing.T, open func() store.Store) {
		clk := newClock()
		st := &spy{Store: open()}
		rec := &recorder{fail: func(call int, _ deliver.Message) error {
			if call == 1 {
				return transient("throttled")
			}
			return nil
		}}
		var attempts []int
		d := newDispatcher(t, dispatch.Config{
			Store: st, Sender: rec, Now: clk.Now, Rand: seeded(1),
			Backoff: func(attempt int) time.Duration {
				attempts = append(attempts, attempt) // Drain runs one message at a time here
				return 10 * time.Second
			},
		})
		m := sms(phone, "975310")
		enqueue(t, d, m, false, t0.Add(3*time.Minute))
		drain(t, d)
		if len(rec.messages()) != 1 || d.Stats().Retried != 1 {
			t.Fatalf("after the first drain: %d sends, stats %+v; want 1 send, 1 retry", len(rec.messages()), d.Stats())
		}

		// Not due before its backoff has passed.
		clk.Advance(9 * time.Second)
		drain(t, d)
		if len(rec.messages()) != 1 {
			t.Fatal("retried before the backoff passed")
		}
		clk.Advance(time.Second)
		drain(t, d)

		sent := rec.messages()
		if len(sent) != 2 || sent[1] != m {
			t.Fatalf("sent %d messages, want the message twice", len(sent))
		}
		claims := st.claims()
		if len(claims) != 2 || claims[1].Attempts != 2 {
			t.Fatalf("claims = %+v, want the second with Attempts 2", claims)
		}
		if !strings.Contains(claims[1].LastError, "throttled") {
			t.Errorf("LastError = %q, want the provider's error", claims[1].LastError)
		}
		if fmt.Sprint(attempts) != "[1]" {
			t.Errorf("Backoff called with %v, want [1]", attempts)
		}
		if s := d.Stats(); s != (dispatch.Stats{Enqueued: 1, Sent: 1, Retried: 1}) {
			t.Errorf("Stats = %+v", s)
		}
	})
}

func TestTransientUntilExpiry(t *testing.T) {
	eachStore(t, func(t *testing.T, open func() store.Store) {
		clk := newClock()
		st := &spy{Store: open()}
		rec := &recorder{fail: func(int, deliver.Message) error { return transient("provider is down") }}
		fails := &failures{}
		// The default backoff: 1, 2, 4, 8, 16, 30, 30… seconds, less jitter.
		d := newDispatcher(t, dispatch.Config{Store: st, Sender: rec, Now: clk.Now, Rand: seeded(1), OnFailure: fails.hook})
		m := sms(phone, "864200")
		// Attempts at about 0, 1, 3, 7, 15 and 31s (at least 0, 0.75, 2.25,
		// 5.25, 11.25 and 23.25s with the most jitter): the fifth retry,
		// due before 33s, is tried; the sixth, due after 45.75s, is not.
		expires := t0.Add(40 * time.Second)
		enqueue(t, d, m, false, expires)
		for clk.Now().Before(expires) {
			drain(t, d)
			clk.Advance(500 * time.Millisecond)
		}

		claims := st.claims()
		var gaps []time.Duration
		for i := 1; i < len(claims); i++ {
			gaps = append(gaps, claims[i].NotBefore.Sub(claims[i-1].NotBefore))
		}
		// Each claim leases the message until now+lease; the next claim is
		// after the backoff, rounded up to the 500ms steps of the loop.
		want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}
		if len(claims) != len(want)+1 {
			t.Fatalf("%d attempts (gaps %v), want %d", len(claims), gaps, len(want)+1)
		}
		for i, w := range want {
			if gaps[i] > w+500*time.Millisecond || gaps[i] < w*3/4 {
				t.Errorf("gap %d = %v, want about %v", i, gaps[i], w)
			}
		}
		f := fails.get()
		if len(f) != 1 {
			t.Fatalf("OnFailure called %d times, want once", len(f))
		}
		if !deliver.IsTransient(f[0].err) || !strings.Contains(f[0].err.Error(), "expires") {
			t.Errorf("OnFailure error = %v, want a transient error saying the code expires", f[0].err)
		}
		if f[0].msg.ID != claims[0].ID || f[0].msg.Attempts != 6 || f[0].msg.Sealed != nil {
			t.Errorf("OnFailure message = %+v, want the message, at attempt 6, without its sealed bytes", f[0].msg)
		}
		if n := pending(t, st, expires.Add(-time.Millisecond)); n != 0 {
			t.Errorf("%d messages left after giving up", n)
		}
		if s := d.Stats(); s != (dispatch.Stats{Enqueued: 1, Retried: 5, Failed: 1}) {
			t.Errorf("Stats = %+v", s)
		}
	})
}

func TestPermanentDroppedOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, open func() store.Store) {
		clk := newClock()
		st := &spy{Store: open()}
		rec := &recorder{fail: func(int, deliver.Message) error { return permanent("invalid number") }}
		fails := &failures{}
		d := newDispatcher(t, dispatch.Config{Store: st, Sender: rec, Now: clk.Now, Rand: seeded(1), OnFailure: fails.hook})
		enqueue(t, d, sms(phone, "112233"), false, t0.Add(3*time.Minute))
		for range 3 {
			drain(t, d)
			clk.Advance(time.Minute)
		}
		if n := len(rec.messages()); n != 1 {
			t.Fatalf("sent %d times, want once", n)
		}
		f := fails.get()
		if len(f) != 1 {
			t.Fatalf("OnFailure called %d times, want once", len(f))
		}
		var pe *deliver.ProviderError
		if !errors.As(f[0].err, &pe) || pe.Transient || f[0].msg.LastError != f[0].err.Error() {
			t.Errorf("OnFailure got %+v, %v; want the permanent ProviderError, in LastError too", f[0].msg, f[0].err)
		}
		if s := d.Stats(); s != (dispatch.Stats{Enqueued: 1, Failed: 1}) {
			t.Errorf("Stats = %+v", s)
		}
	})
}

// TestTwoNodesSendOnce runs two dispatchers, each on its own store handle,
// on one database: each of 200 messages is sent exactly once.
func TestTwoNodesSendOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, open func() store.Store) {
		const n = 200
		var mu sync.Mutex
		counts := map[string]int{}
		done := make(chan struct{})
		sender := deliver.SenderFunc(func(ctx context.Context, m deliver.Message) error {
			time.Sleep(time.Millisecond) // let the nodes' sends overlap
			mu.Lock()
			defer mu.Unlock()
			counts[m.Code]++
			if len(counts) == n && counts[m.Code] == 1 {
				close(done)
			}
			return nil
		})
		var nodes []*dispatch.Dispatcher
		for i := range 2 {
			nodes = append(nodes, newDispatcher(t, dispatch.Config{
				Store: open(), Sender: sender, Rand: seeded(byte(10 + i)),
				Batch: 8, Workers: 4, PollInterval: 5 * time.Millisecond,
			}))
		}
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		for _, d := range nodes {
			wg.Go(func() { d.Run(ctx) })
		}
		// Enqueue from both nodes at once while they deliver.
		var enq sync.WaitGroup
		for i := range n {
			enq.Go(func() {
				m := sms(fmt.Sprintf("+1555555%04d", i), fmt.Sprintf("%06d", i))
				if err := nodes[i%2].Enqueue(ctx, testPool, m, false, time.Now().Add(time.Hour)); err != nil {
					t.Error(err)
				}
			})
		}
		enq.Wait()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("timed out waiting for every message")
		}
		// Give a duplicate, if any, time to show.
		time.Sleep(50 * time.Millisecond)
		cancel()
		wg.Wait()

		mu.Lock()
		defer mu.Unlock()
		if len(counts) != n {
			t.Errorf("%d distinct messages sent, want %d", len(counts), n)
		}
		for code, c := range counts {
			if c != 1 {
				t.Errorf("message %s sent %d times", code, c)
			}
		}
		a, b := nodes[0].Stats(), nodes[1].Stats()
		if a.Sent+b.Sent != n || a.Failed+b.Failed+a.Retried+b.Retried != 0 {
			t.Errorf("stats %+v and %+v, want %d sent in all", a, b, n)
		}
		t.Logf("node A sent %d, node B sent %d", a.Sent, b.Sent)
	})
}

// TestCrashedNodeMessageDeliveredLater stops a node in the middle of a send,
// as a crash would: its claim is never resolved. Another node sends the
// message once the lease has run out, and not before.
func TestCrashedNodeMessageDeliveredLater(t *testing.T) {
	eachStore(t, func(t *testing.T, open func() store.Store) {
		clk := newClock()
		const lease = 30 * time.Second
		inSend, resume := make(chan struct{}), make(chan struct{})
		crashing := deliver.SenderFunc(func(ctx context.Context, m deliver.Message) error {
			close(inSend)
			<-resume
			return permanent("the node was frozen")
		})
		fails := &failures{}
		a := newDispatcher(t, dispatch.Config{Store: open(), Sender: crashing, Now: clk.Now, Rand: seeded(1), Lease: lease, OnFailure: fails.hook})
		rec := &recorder{}
		b := newDispatcher(t, dispatch.Config{Store: open(), Sender: rec, Now: clk.Now, Rand: seeded(2), Lease: lease})

		m := sms(phone, "314159")
		enqueue(t, a, m, false, t0.Add(3*time.Minute))
		aDone := make(chan error, 1)
		go func() { aDone <- a.Drain(context.Background()) }()
		<-inSend

		// While A's lease holds, B leaves the message alone.
		clk.Advance(lease - time.Millisecond)
		drain(t, b)
		if len(rec.messages()) != 0 {
			t.Fatal("B sent a message A still holds")
		}
		clk.Advance(time.Millisecond)
		drain(t, b)
		if sent := rec.messages(); len(sent) != 1 || sent[0] != m {
			t.Fatalf("B sent %+v, want the message once", sent)
		}

		// A wakes up long after and fails: its outcome finds the message
		// gone, which is not an error nor a failure to report, and nothing
		// is sent again.
		close(resume)
		if err := <-aDone; err != nil {
			t.Fatalf("A's Drain: %v", err)
		}
		if len(fails.get()) != 0 || a.Stats().Failed != 0 {
			t.Error("A reported a failure for a message B delivered")
		}
		clk.Advance(time.Minute)
		drain(t, b)
		if len(rec.messages()) != 1 {
			t.Fatal("the message was sent again")
		}
	})
}

// TestRunSendsAtOnce checks that Enqueue wakes Run: with an hour between
// polls, the message is still delivered right away.
func TestRunSendsAtOnce(t *testing.T) {
	open := backends[0].newDB(t)
	st := open()
	if err := st.CreatePool(t.Context(), testPool); err != nil {
		t.Fatal(err)
	}
	sent := make(chan deliver.Message, 10)
	d := newDispatcher(t, dispatch.Config{
		Store: st, PollInterval: time.Hour,
		Sender: deliver.SenderFunc(func(_ context.Context, m deliver.Message) error { sent <- m; return nil }),
	})
	ctx, cancel := context.WithCancel(t.Context())
	stopped := make(chan struct{})
	go func() { d.Run(ctx); close(stopped) }()
	defer func() { cancel(); <-stopped }()

	for i := range 3 {
		time.Sleep(20 * time.Millisecond) // let Run go idle
		m := sms(phone, fmt.Sprintf("00000%d", i))
		enqueue(t, d, m, false, time.Now().Add(time.Minute))
		select {
		case got := <-sent:
			if got != m {
				t.Fatalf("sent %+v, want %+v", got, m)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the enqueued message was not sent promptly")
		}
	}
}

// TestRunFinishesSendsOnShutdown cancels Run during a send: Run returns
// only after the send has finished and the message is deleted.
func TestRunFinishesSendsOnShutdown(t *testing.T) {
	open := backends[0].newDB(t)
	st := open()
	if err := st.CreatePool(t.Context(), testPool); err != nil {
		t.Fatal(err)
	}
	inSend, release := make(chan struct{}), make(chan struct{})
	d := newDispatcher(t, dispatch.Config{
		Store: st,
		Sender: deliver.SenderFunc(func(ctx context.Context, _ deliver.Message) error {
			close(inSend)
			<-release
			return ctx.Err() // the send's context outlives Run's
		}),
	})
	enqueue(t, d, sms(phone, "271828"), false, time.Now().Add(time.Minute))
	ctx, cancel := context.WithCancel(t.Context())
	stopped := make(chan struct{})
	go func() { d.Run(ctx); close(stopped) }()
	<-inSend
	cancel()
	select {
	case <-stopped:
		t.Fatal("Run returned during a send")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-stopped
	if s := d.Stats(); s.Sent != 1 {
		t.Fatalf("Stats = %+v, want the message sent", s)
	}
	if n := pending(t, st, time.Now()); n != 0 {
		t.Fatalf("%d messages left after shutdown", n)
	}
}

func BenchmarkEnqueue(b *testing.B) {
	open := backends[0].newDB(b)
	st := open()
	if err := st.CreatePool(b.Context(), testPool); err != nil {
		b.Fatal(err)
	}
	d := newDispatcher(b, dispatch.Config{Store: st, Sender: &recorder{}})
	m := sms(phone, "123456")
	expires := time.Now().Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Enqueue(b.Context(), testPool, m, false, expires); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDrainInterruptedKeepsMessage cancels Drain during a send whose
// sender, like SNS's, calls a cancelled send permanent: the message is
// kept for a later attempt, not dropped.
func TestDrainInterruptedKeepsMessage(t *testing.T) {
	open := backends[0].newDB(t)
	st := open()
	if err := st.CreatePool(t.Context(), testPool); err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	ctx, cancel := context.WithCancel(t.Context())
	fails := &failures{}
	d := newDispatcher(t, dispatch.Config{
		Store: st, Now: clk.Now, Rand: seeded(1), OnFailure: fails.hook,
		Sender: deliver.SenderFunc(func(ctx context.Context, _ deliver.Message) error {
			cancel()
			<-ctx.Done()
			return permanent("cancelled: " + ctx.Err().Error())
		}),
	})
	enqueue(t, d, sms(phone, "161803"), false, t0.Add(3*time.Minute))
	if err := d.Drain(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Drain = %v, want context.Canceled", err)
	}
	if len(fails.get()) != 0 || d.Stats().Failed != 0 {
		t.Fatal("an interrupted send dropped the message")
	}
	clk.Advance(dispatch.DefaultLease)
	if n := pending(t, st, clk.Now()); n != 1 {
		t.Fatalf("%d messages claimable after the lease, want 1", n)
	}
}

// TestFlushWaitsOnlyForEarlierMessages: a reader's Flush waits for the
// messages enqueued before its call, and not for those enqueued after it,
// even while they are still being sent; under load some always are.
func TestFlushWaitsOnlyForEarlierMessages(t *testing.T) {
	eachStore(t, func(t *testing.T, open func() store.Store) {
		clk := newClock()
		inSend := make(chan string, 4)
		release := map[string]chan struct{}{"111111": make(chan struct{}), "222222": make(chan struct{})}
		d := newDispatcher(t, dispatch.Config{
			Store: open(), Now: clk.Now, Rand: seeded(1), PollInterval: time.Hour,
			Sender: deliver.SenderFunc(func(ctx context.Context, m deliver.Message) error {
				inSend <- m.Code
				select {
				case <-release[m.Code]:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}),
		})
		wantSend := func(code string) {
			t.Helper()
			select {
			case got := <-inSend:
				if got != code {
					t.Fatalf("sending %s, want %s", got, code)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s was not sent", code)
			}
		}

		// The reader's code is queued; its Flush starts sending it.
		enqueue(t, d, sms(phone, "111111"), false, t0.Add(3*time.Minute))
		flushed := make(chan error, 1)
		go func() { flushed <- d.Flush(t.Context()) }()
		wantSend("111111")

		// After the call, another request queues a message and the
		// workers start sending it; that send lasts until released.
		clk.Advance(time.Second)
		ctx, cancel := context.WithCancel(t.Context())
		stopped := make(chan struct{})
		go func() { d.Run(ctx); close(stopped) }()
		defer func() { cancel(); <-stopped }()
		enqueue(t, d, sms("+15555550101", "222222"), false, t0.Add(3*time.Minute))
		wantSend("222222")

		close(release["111111"])
		select {
		case err := <-flushed:
			if err != nil {
				t.Fatalf("Flush: %v", err)
			}
		case <-time.After(5 * time.Second):
			close(release["222222"])
			t.Fatal("Flush waited for a message enqueued after it was called")
		}

		// A Flush called now waits for the message in flight.
		short, stop := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer stop()
		if err := d.Flush(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Flush during an earlier send = %v, want it to wait", err)
		}
		close(release["222222"])
		if err := d.Flush(t.Context()); err != nil {
			t.Fatalf("Flush after the send: %v", err)
		}
		if s := d.Stats(); s.Sent != 2 {
			t.Errorf("Stats = %+v, want 2 sent", s)
		}
	})
}

// TestFlushUnderLoad: while other messages keep coming, each reader's Flush
// returns with the reader's own message delivered.
func TestFlushUnderLoad(t *testing.T) {
	open := backends[0].newDB(t)
	st := open()
	if err := st.CreatePool(t.Context(), testPool); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	delivered := map[string]bool{}
	d := newDispatcher(t, dispatch.Config{
		Store: st, Logger: slog.New(slog.DiscardHandler),
		Sender: deliver.SenderFunc(func(_ context.Context, m deliver.Message) error {
			time.Sleep(time.Millisecond) // a provider that takes a moment
			mu.Lock()
			defer mu.Unlock()
			delivered[m.To] = true
			return nil
		}),
	})
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { d.Run(ctx) })
	for p := range 3 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				_ = d.Enqueue(ctx, testPool, sms(fmt.Sprintf("+1555%03d%04d", p, i%10000), "000000"), false, time.Now().Add(time.Minute))
			}
		})
	}
	var readers sync.WaitGroup
	for r := range 4 {
		readers.Go(func() {
			for i := range 5 {
				to := fmt.Sprintf("+1555999%02d%02d", r, i)
				if err := d.Enqueue(t.Context(), testPool, sms(to, "123456"), false, time.Now().Add(time.Minute)); err != nil {
					t.Error(err)
					return
				}
				fctx, stop := context.WithTimeout(t.Context(), 10*time.Second)
				err := d.Flush(fctx)
				stop()
				mu.Lock()
				ok := delivered[to]
				mu.Unlock()
				if err != nil || !ok {
					t.Errorf("reader %d: Flush = %v, own message delivered: %v", r, err, ok)
					return
				}
			}
		})
	}
	readers.Wait()
	cancel()
	wg.Wait()
}
