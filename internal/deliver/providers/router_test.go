package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/pool"
)

// fakePools is a store of pools whose settings tests change.
type fakePools struct {
	mu    sync.Mutex
	pools map[string]pool.Pool
	reads int
	err   error
}

func (f *fakePools) GetPool(_ context.Context, id string) (pool.Pool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.err != nil {
		return pool.Pool{}, f.err
	}
	p, ok := f.pools[id]
	if !ok {
		return pool.Pool{}, fmt.Errorf("pool %s: %w", id, pool.ErrNotFound)
	}
	return p, nil
}

func (f *fakePools) setDelivery(id string, d *pool.Delivery) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.pools[id]
	p.ID = id
	p.Settings.Delivery = d
	f.pools[id] = p
}

// fakeKinds registers "fake" providers whose config names a fakeSender:
// {"sender": "a"}. The secret "token" must resolve, so tests can check
// that secrets reach the builder.
type fakeKinds struct {
	mu      sync.Mutex
	senders map[string]*fakeSender
	builds  int
	tokens  []string
}

func (k *fakeKinds) sender(name string) *fakeSender {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.senders[name] == nil {
		k.senders[name] = &fakeSender{name: name}
	}
	return k.senders[name]
}

func (k *fakeKinds) kinds() map[string]Kind {
	return map[string]Kind{"fake": {
		Channels: []deliver.Channel{deliver.ChannelSMS, deliver.ChannelEmail},
		Secrets:  []string{"token"},
		Check: func(raw json.RawMessage, _ map[string]string) error {
			var c struct {
				Sender string `json:"sender"`
			}
			if err := decodeStrict(raw, &c, []string{"token"}); err != nil {
				return err
			}
			if c.Sender == "" {
				return errors.New("sender is required")
			}
			return nil
		},
		New: func(_ context.Context, raw json.RawMessage, sec map[string]string) (deliver.Sender, error) {
			var c struct {
				Sender string `json:"sender"`
			}
			if err := json.Unmarshal(raw, &c); err != nil {
				return nil, err
			}
			k.mu.Lock()
			k.builds++
			k.tokens = append(k.tokens, sec["token"])
			k.mu.Unlock()
			return k.sender(c.Sender), nil
		},
	}}
}

func fake(sender string) pool.Provider {
	return pool.Provider{Type: "fake", Config: json.RawMessage(`{"sender":"` + sender + `"}`)}
}

type routerEnv struct {
	clock    *fakeClock
	pools    *fakePools
	kinds    *fakeKinds
	env      map[string]string
	router   *Router
	fallback *fakeSender
}

func newRouterEnv(t *testing.T, fallback deliver.Sender) *routerEnv {
	t.Helper()
	e := &routerEnv{
		clock: newClock(),
		pools: &fakePools{pools: map[string]pool.Pool{}},
		kinds: &fakeKinds{senders: map[string]*fakeSender{}},
		env:   map[string]string{},
	}
	if fallback == nil {
		e.fallback = &fakeSender{name: "fallback"}
		fallback = e.fallback
	}
	var mu sync.Mutex
	b := &Builder{Kinds: e.kinds.kinds(), Getenv: func(k string) string {
		mu.Lock()
		defer mu.Unlock()
		return e.env[k]
	}}
	r, err := NewRouter(RouterConfig{
		Pools: e.pools, Builder: b, Fallback: fallback, Now: e.clock.Now,
		Reload: 5 * time.Second, Breaker: BreakerConfig{Threshold: 2, CoolOff: time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.router = r
	return e
}

func msgFor(poolID string, ch deliver.Channel, to string) deliver.Message {
	return deliver.Message{PoolID: poolID, Channel: ch, To: to, Subject: "s", Body: "Your code is 123456", Code: "123456", Purpose: "sign_in"}
}

func TestRouterSendsThroughThePoolsChain(t *testing.T) {
	e := newRouterEnv(t, nil)
	e.pools.setDelivery("p1", &pool.Delivery{SMS: []pool.Provider{fake("a"), fake("b")}})
	e.pools.setDelivery("p2", &pool.Delivery{SMS: []pool.Provider{fake("c")}})
	ctx := context.Background()

	e.kinds.sender("a").set(errDown)
	if err := e.router.Send(ctx, msgFor("p1", deliver.ChannelSMS, "+14155552671")); err != nil {
		t.Fatal(err)
	}
	if err := e.router.Send(ctx, msgFor("p2", deliver.ChannelSMS, "+14155552671")); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"a": 0, "b": 1, "c": 1} {
		if _, sent := e.kinds.sender(name).count(); sent != want {
			t.Errorf("sender %s delivered %d, want %d", name, sent, want)
		}
	}
	// Email is not configured for p1: the fallback sends it.
	if err := e.router.Send(ctx, msgFor("p1", deliver.ChannelEmail, "a@example.com")); err != nil {
		t.Fatal(err)
	}
	if _, sent := e.fallback.count(); sent != 1 {
		t.Errorf("fallback delivered %d, want 1", sent)
	}
}

func TestRouterPicksUpConfigChanges(t *testing.T) {
	e := newRouterEnv(t, nil)
	e.pools.setDelivery("p1", &pool.Delivery{SMS: []pool.Provider{fake("a")}})
	ctx := context.Background()
	send := func() {
		t.Helper()
		if err := e.router.Send(ctx, msgFor("p1", deliver.ChannelSMS, "+14155552671")); err != nil {
			t.Fatal(err)
		}
	}
	send()
	e.pools.setDelivery("p1", &pool.Delivery{SMS: []pool.Provider{fake("b")}})
	send() // within the reload interval: still a
	if _, sent := e.kinds.sender("a").count(); sent != 2 {
		t.Fatalf("a delivered %d, want 2 before the reload interval passed", sent)
	}
	e.clock.Advance(5 * time.Second)
	send()
	if _, sent := e.kinds.sender("b").count(); sent != 1 {
		t.Fatalf("b delivered %d, want 1 after the reload", sent)
	}
	// A reload that changes nothing about the providers builds nothing.
	builds := e.kinds.builds
	e.pools.setDelivery("p1", &pool.Delivery{SMS: []pool.Provider{fake("b")}, DefaultLocale: "fr"})
	e.clock.Advance(5 * time.Second)
	send()
	if e.kinds.builds != builds {
		t.Errorf("an unrelated change rebuilt the chain (%d builds, want %d)", e.kinds.builds, builds)
	}
	// Removing the providers goes back to the fallback.
	e.pools.setDelivery("p1", nil)
	e.clock.Advance(5 * time.Second)
	send()
	if _, sent := e.fallback.count(); sent != 1 {
		t.Errorf("fallback delivered %d, want 1 once the providers are removed", sent)
	}
}

func TestRouterRebuildsWhenASecretRotates(t *testing.T) {
	e := newRouterEnv(t, nil)
	p := fake("a")
	p.Secrets = map[string]pool.SecretRef{"token": {Env: "FAKE_TOKEN"}}
	e.pools.setDelivery("p1", &pool.Delivery{SMS: []pool.Provider{p}})
	e.env["FAKE_TOKEN"] = "one"
	ctx := context.Background()
	m := msgFor("p1", deliver.ChannelSMS, "+14155552671")
	if err := e.router.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	e.env["FAKE_TOKEN"] = "two"
	e.clock.Advance(5 * time.Second)
	if err := e.router.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	if got := e.kinds.tokens; len(got) != 2 || got[0] != "one" || got[1] != "two" {
		t.Errorf("builds saw tokens %q, want [one two]", got)
	}
	// A secret that disappears leaves the provider unbuilt: nothing can
	// send, and the engine is told so.
	delete(e.env, "FAKE_TOKEN")
	e.clock.Advance(5 * time.Second)
	if e.router.CanSend("p1", deliver.ChannelSMS) {
		t.Error("CanSend with the only provider's secret missing")
	}
	err := e.router.Send(ctx, m)
	if err == nil || deliver.IsTransient(err) {
		t.Errorf("Send with a missing secret = %v, want a permanent error", err)
	}
}

func TestRouterKeepsBreakersAcrossUnrelatedReloads(t *testing.T) {
	e := newRouterEnv(t, nil)
	e.pools.setDelivery("p1", &pool.Delivery{SMS: []pool.Provider{fake("a"), fake("b")}})
	e.kinds.sender("a").set(errDown)
	ctx := context.Background()
	m := msgFor("p1", deliver.ChannelSMS, "+14155552671")
	for range 2 {
		if err := e.router.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	// Reorder nothing, add a provider: a's breaker stays open.
	e.pools.setDelivery("p1", &pool.Delivery{SMS: []pool.Provider{fake("a"), fake("b"), fake("c")}})
	e.clock.Advance(5 * time.Second)
	c, err := e.router.Chain(ctx, "p1", deliver.ChannelSMS)
	if err != nil || c.Len() != 3 {
		t.Fatalf("Chain = %v, %v", c, err)
	}
	if st := c.Breaker(0).State(); st != Open {
		t.Errorf("a's breaker is %v after the reload, want still open", st)
	}
}

func TestRouterCanSend(t *testing.T) {
	tests := []struct {
		name     string
		fallback deliver.Sender
		delivery *pool.Delivery
		ch       deliver.Channel
		down     []string // senders failing transiently, twice each
		want     bool
	}{
		{"provider configured", deliver.Unavailable(), &pool.Delivery{SMS: []pool.Provider{fake("a")}}, deliver.ChannelSMS, nil, true},
		{"no provider, no fallback", deliver.Unavailable(), &pool.Delivery{SMS: []pool.Provider{fake("a")}}, deliver.ChannelEmail, nil, false},
		{"no delivery settings, no fallback", deliver.Unavailable(), nil, deliver.ChannelSMS, nil, false},
		{"no provider, dev fallback", nil, nil, deliver.ChannelSMS, nil, true},
		{"one of two circuits open", deliver.Unavailable(), &pool.Delivery{SMS: []pool.Provider{fake("a"), fake("b")}}, deliver.ChannelSMS, []string{"a"}, true},
		{"every circuit open", deliver.Unavailable(), &pool.Delivery{SMS: []pool.Provider{fake("a"), fake("b")}}, deliver.ChannelSMS, []string{"a", "b"}, false},
		{"every circuit open, fallback not used", nil, &pool.Delivery{SMS: []pool.Provider{fake("a")}}, deliver.ChannelSMS, []string{"a"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newRouterEnv(t, tt.fallback)
			e.pools.setDelivery("p1", tt.delivery)
			for _, name := range tt.down {
				e.kinds.sender(name).set(errDown)
			}
			if len(tt.down) > 0 {
				for range 2 {
					_ = e.router.Send(context.Background(), msgFor("p1", tt.ch, "+14155552671"))
				}
			}
			if got := e.router.CanSend("p1", tt.ch); got != tt.want {
				t.Errorf("CanSend = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRouterCanSendRecoversAfterCoolOff(t *testing.T) {
	e := newRouterEnv(t, deliver.Unavailable())
	e.pools.setDelivery("p1", &pool.Delivery{SMS: []pool.Provider{fake("a")}})
	a := e.kinds.sender("a")
	a.set(errDown)
	m := msgFor("p1", deliver.ChannelSMS, "+14155552671")
	for range 2 {
		_ = e.router.Send(context.Background(), m)
	}
	if e.router.CanSend("p1", deliver.ChannelSMS) {
		t.Fatal("CanSend with the circuit open")
	}
	e.clock.Advance(time.Minute)
	if !e.router.CanSend("p1", deliver.ChannelSMS) {
		t.Fatal("CanSend false after the cool-off")
	}
	a.set(nil)
	if err := e.router.Send(context.Background(), m); err != nil {
		t.Fatalf("trial send: %v", err)
	}
	if st := e.router.mustChain(t, "p1").Breaker(0).State(); st != Closed {
		t.Errorf("breaker %v after a good trial, want closed", st)
	}
}

func (r *Router) mustChain(t *testing.T, poolID string) *Chain {
	t.Helper()
	c, err := r.Chain(context.Background(), poolID, deliver.ChannelSMS)
	if err != nil || c == nil {
		t.Fatalf("Chain = %v, %v", c, err)
	}
	return c
}

func TestRouterStoreErrors(t *testing.T) {
	e := newRouterEnv(t, deliver.Unavailable())
	ctx := context.Background()
	// Unknown pool: nothing can be sent, and it is not worth retrying.
	if e.router.CanSend("gone", deliver.ChannelSMS) {
		t.Error("CanSend for an unknown pool")
	}
	if err := e.router.Send(ctx, msgFor("gone", deliver.ChannelSMS, "+14155552671")); err == nil || deliver.IsTransient(err) {
		t.Errorf("Send for an unknown pool = %v, want permanent", err)
	}
	// The store fails before anything was loaded: CanSend lets the
	// message be queued, Send asks to be retried.
	e.pools.setDelivery("p1", &pool.Delivery{SMS: []pool.Provider{fake("a")}})
	e.pools.err = errors.New("connection refused")
	if !e.router.CanSend("p1", deliver.ChannelSMS) {
		t.Error("CanSend false on a store error")
	}
	if err := e.router.Send(ctx, msgFor("p1", deliver.ChannelSMS, "+14155552671")); !deliver.IsTransient(err) {
		t.Errorf("Send on a store error = %v, want transient", err)
	}
	// Once loaded, a failing reload keeps the settings loaded before.
	e.pools.err = nil
	if err := e.router.Send(ctx, msgFor("p1", deliver.ChannelSMS, "+14155552671")); err != nil {
		t.Fatal(err)
	}
	e.pools.err = errors.New("connection refused")
	e.clock.Advance(5 * time.Second)
	if err := e.router.Send(ctx, msgFor("p1", deliver.ChannelSMS, "+14155552671")); err != nil {
		t.Errorf("Send with a failing reload = %v, want the cached chain to deliver", err)
	}
}

func TestRouterCachesPoolReads(t *testing.T) {
	e := newRouterEnv(t, nil)
	e.pools.setDelivery("p1", &pool.Delivery{SMS: []pool.Provider{fake("a")}})
	for range 50 {
		e.router.CanSend("p1", deliver.ChannelSMS)
	}
	if e.pools.reads != 1 {
		t.Errorf("%d pool reads for 50 CanSend calls within the reload interval, want 1", e.pools.reads)
	}
}

func TestRouterNeverSendsToTestIdentities(t *testing.T) {
	e := newRouterEnv(t, nil)
	e.pools.setDelivery("p1", &pool.Delivery{
		SMS:            []pool.Provider{fake("a")},
		TestIdentities: []pool.TestIdentity{{Destination: "+14155550100", Code: "000000"}, {Destination: "review@example.com", Code: "000000"}},
	})
	ctx := context.Background()
	if err := e.router.Send(ctx, msgFor("p1", deliver.ChannelSMS, "+14155550100")); err != nil {
		t.Fatal(err)
	}
	if err := e.router.Send(ctx, msgFor("p1", deliver.ChannelEmail, "review@example.com")); err != nil {
		t.Fatal(err)
	}
	if calls, _ := e.kinds.sender("a").count(); calls != 0 {
		t.Errorf("provider called %d times for a test identity", calls)
	}
	if calls, _ := e.fallback.count(); calls != 0 {
		t.Errorf("fallback called %d times for a test identity", calls)
	}
}

func TestRouterConcurrentUse(t *testing.T) {
	e := newRouterEnv(t, nil)
	e.pools.setDelivery("p1", &pool.Delivery{SMS: []pool.Provider{fake("a"), fake("b")}})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 50 {
				if j%10 == 0 {
					e.clock.Advance(time.Second)
				}
				if i%2 == 0 {
					e.router.CanSend("p1", deliver.ChannelSMS)
				} else if err := e.router.Send(context.Background(), msgFor("p1", deliver.ChannelSMS, "+14155552671")); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if _, sent := e.kinds.sender("a").count(); sent != 8*50 {
		t.Errorf("a delivered %d, want %d", sent, 8*50)
	}
}
