package providers

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/deliver"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeSender answers every Send with its current error and counts calls.
type fakeSender struct {
	name string
	mu   sync.Mutex
	err  error
	sent []deliver.Message
	// calls counts every Send, failed or not.
	calls int
}

func (f *fakeSender) Send(_ context.Context, m deliver.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return f.err
	}
	f.sent = append(f.sent, m)
	return nil
}

func (f *fakeSender) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeSender) count() (calls, sent int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, len(f.sent)
}

var (
	errDown     = &deliver.ProviderError{Provider: "fake", Transient: true, Err: errors.New("HTTP 503")}
	errRejected = &deliver.ProviderError{Provider: "fake", Transient: false, Err: errors.New("HTTP 400: invalid number")}
)

func testMessage() deliver.Message {
	return deliver.Message{PoolID: "local_pool", Channel: deliver.ChannelSMS, To: "+14155552671",
		Body: "Your code is 123456", Code: "123456", Purpose: "sign_in"}
}

func links(senders ...*fakeSender) []Link {
	out := make([]Link, len(senders))
	for i, s := range senders {
		out[i] = Link{Name: s.name, Sender: s}
	}
	return out
}

func TestChainSend(t *testing.T) {
	tests := []struct {
		name          string
		errs          []error // each provider's answer
		wantDelivered int     // index of the provider that delivers; -1 for none
		wantTransient bool
		wantCalls     []int
	}{
		{"first delivers", []error{nil, nil}, 0, false, []int{1, 0}},
		{"first down, second delivers", []error{errDown, nil}, 1, false, []int{1, 1}},
		{"first rejects, second delivers", []error{errRejected, nil}, 1, false, []int{1, 1}},
		{"plain error fails over", []error{errors.New("not E.164"), nil}, 1, false, []int{1, 1}},
		{"all down: transient", []error{errDown, errDown}, -1, true, []int{1, 1}},
		{"all reject: permanent", []error{errRejected, errRejected}, -1, false, []int{1, 1}},
		{"one transient is enough to retry", []error{errRejected, errDown}, -1, true, []int{1, 1}},
		{"third of three", []error{errDown, errRejected, nil}, 2, false, []int{1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var senders []*fakeSender
			for i, err := range tt.errs {
				senders = append(senders, &fakeSender{name: string(rune('a' + i)), err: err})
			}
			c := NewChain(links(senders...), ChainOptions{})
			attempts, err := c.Deliver(context.Background(), testMessage())
			for i, s := range senders {
				if calls, _ := s.count(); calls != tt.wantCalls[i] {
					t.Errorf("provider %d called %d times, want %d", i, calls, tt.wantCalls[i])
				}
			}
			if tt.wantDelivered >= 0 {
				if err != nil {
					t.Fatalf("Send = %v, want delivered", err)
				}
				if last := attempts[len(attempts)-1]; last.Provider != senders[tt.wantDelivered].name || last.Err != nil {
					t.Errorf("last attempt %+v, want delivered by %s", last, senders[tt.wantDelivered].name)
				}
				return
			}
			if err == nil {
				t.Fatal("Send = nil, want an error")
			}
			if got := deliver.IsTransient(err); got != tt.wantTransient {
				t.Errorf("IsTransient = %v, want %v (%v)", got, tt.wantTransient, err)
			}
			var ce *ChainError
			if !errors.As(err, &ce) || len(ce.Attempts) != len(senders) {
				t.Fatalf("error %v is not a ChainError with %d attempts", err, len(senders))
			}
			if strings.Contains(err.Error(), "123456") {
				t.Errorf("error %q contains the code", err)
			}
		})
	}
}

func TestChainSkipsUnbuiltLinks(t *testing.T) {
	ok := &fakeSender{name: "ok"}
	c := NewChain([]Link{{Name: "broken", Err: errors.New("secret auth_token: environment variable X is not set or empty")}, {Name: "ok", Sender: ok}}, ChainOptions{})
	attempts, err := c.Deliver(context.Background(), testMessage())
	if err != nil || len(attempts) != 2 || !attempts[0].Skipped || !strings.Contains(attempts[0].Err.Error(), "not set") {
		t.Fatalf("Deliver = %+v, %v", attempts, err)
	}
	only := NewChain([]Link{{Name: "broken", Err: errors.New("no")}}, ChainOptions{})
	if only.Available() {
		t.Error("a chain whose only provider could not be built is available")
	}
	if err := only.Send(context.Background(), testMessage()); err == nil || deliver.IsTransient(err) {
		t.Errorf("Send through an unbuilt provider = %v, want a permanent error", err)
	}
}

func TestChainBreakerOpensAndHalfOpens(t *testing.T) {
	clk := newClock()
	primary, backup := &fakeSender{name: "primary", err: errDown}, &fakeSender{name: "backup"}
	c := NewChain(links(primary, backup), ChainOptions{Now: clk.Now, Breaker: BreakerConfig{Threshold: 3, CoolOff: time.Minute}})
	ctx := context.Background()

	for range 3 {
		if err := c.Send(ctx, testMessage()); err != nil {
			t.Fatal(err)
		}
	}
	if st := c.Breaker(0).State(); st != Open {
		t.Fatalf("after 3 failures the breaker is %v, want open", st)
	}
	// While open, the primary is not tried at all.
	if err := c.Send(ctx, testMessage()); err != nil {
		t.Fatal(err)
	}
	if calls, _ := primary.count(); calls != 3 {
		t.Errorf("primary called %d times, want 3 (skipped while open)", calls)
	}
	if !c.Available() {
		t.Error("chain unavailable although the backup works")
	}

	// After the cool-off one trial send goes through; it fails: open again.
	clk.Advance(time.Minute)
	if st := c.Breaker(0).State(); st != HalfOpen {
		t.Fatalf("after the cool-off the breaker is %v, want half-open", st)
	}
	if err := c.Send(ctx, testMessage()); err != nil {
		t.Fatal(err)
	}
	if calls, _ := primary.count(); calls != 4 {
		t.Errorf("primary called %d times, want 4 (one trial)", calls)
	}
	if st := c.Breaker(0).State(); st != Open {
		t.Fatalf("after a failed trial the breaker is %v, want open", st)
	}

	// The provider recovers: the next trial closes the circuit.
	primary.set(nil)
	clk.Advance(time.Minute)
	if err := c.Send(ctx, testMessage()); err != nil {
		t.Fatal(err)
	}
	if _, sent := primary.count(); sent != 1 {
		t.Errorf("primary delivered %d messages, want 1", sent)
	}
	if st := c.Breaker(0).State(); st != Closed {
		t.Errorf("after a good trial the breaker is %v, want closed", st)
	}
}

func TestChainAllOpenIsUnavailableAndTransient(t *testing.T) {
	clk := newClock()
	a, b := &fakeSender{name: "a", err: errDown}, &fakeSender{name: "b", err: errDown}
	c := NewChain(links(a, b), ChainOptions{Now: clk.Now, Breaker: BreakerConfig{Threshold: 2, CoolOff: time.Minute}})
	ctx := context.Background()
	for range 2 {
		if err := c.Send(ctx, testMessage()); !deliver.IsTransient(err) {
			t.Fatalf("Send = %v, want a transient error", err)
		}
	}
	if c.Available() {
		t.Fatal("chain available with every circuit open")
	}
	err := c.Send(ctx, testMessage())
	if !deliver.IsTransient(err) || !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("Send with every circuit open = %v, want transient ErrCircuitOpen", err)
	}
	clk.Advance(time.Minute)
	if !c.Available() {
		t.Error("chain unavailable after the cool-off (half-open)")
	}
}

func TestChainPermanentFailuresDoNotOpenTheCircuit(t *testing.T) {
	// Codes asked for invalid numbers must not take the provider down
	// for everyone.
	a := &fakeSender{name: "a", err: errRejected}
	c := NewChain(links(a), ChainOptions{Breaker: BreakerConfig{Threshold: 2}})
	for range 10 {
		_ = c.Send(context.Background(), testMessage())
	}
	if st := c.Breaker(0).State(); st != Closed {
		t.Errorf("breaker %v after permanent failures, want closed", st)
	}
}

func TestChainCallerCancelDoesNotCount(t *testing.T) {
	a := &fakeSender{name: "a"}
	a.set(context.Canceled)
	c := NewChain(links(a, &fakeSender{name: "b"}), ChainOptions{Breaker: BreakerConfig{Threshold: 1}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.Send(ctx, testMessage())
	if !deliver.IsTransient(err) {
		t.Errorf("Send with a cancelled context = %v, want transient", err)
	}
	if calls, _ := a.count(); calls != 0 {
		t.Errorf("provider called %d times after the caller gave up", calls)
	}
	if st := c.Breaker(0).State(); st != Closed {
		t.Errorf("breaker %v after the caller gave up, want closed", st)
	}
}

func TestChainAttemptTimeout(t *testing.T) {
	slow := deliver.SenderFunc(func(ctx context.Context, _ deliver.Message) error {
		<-ctx.Done()
		return &deliver.ProviderError{Provider: "slow", Transient: true, Err: ctx.Err()}
	})
	fast := &fakeSender{name: "fast"}
	c := NewChain([]Link{{Name: "slow", Sender: slow}, {Name: "fast", Sender: fast}}, ChainOptions{AttemptTimeout: 20 * time.Millisecond})
	start := time.Now()
	if err := c.Send(context.Background(), testMessage()); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("a hanging provider held up the chain")
	}
	if _, sent := fast.count(); sent != 1 {
		t.Error("the next provider did not deliver after the first timed out")
	}
}

func TestBreakerHalfOpenAllowsOneTrial(t *testing.T) {
	clk := newClock()
	b := NewBreaker(BreakerConfig{Threshold: 1, CoolOff: time.Second}, clk.Now)
	if !b.Allow() {
		t.Fatal("closed breaker refused")
	}
	if !b.Failure() {
		t.Fatal("Failure at the threshold did not open the circuit")
	}
	if b.Allow() {
		t.Fatal("open breaker allowed a send")
	}
	clk.Advance(time.Second)
	if !b.Allow() {
		t.Fatal("half-open breaker refused the trial")
	}
	if b.Allow() {
		t.Fatal("half-open breaker allowed a second trial at once")
	}
	b.Release()
	if !b.Allow() {
		t.Fatal("a released trial did not free the half-open slot")
	}
	b.Success()
	if b.State() != Closed || !b.Allow() || !b.Allow() {
		t.Fatal("breaker not closed after a good trial")
	}
}
