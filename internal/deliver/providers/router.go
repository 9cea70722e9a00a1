package providers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/pool"
)

// DefaultReload is how long a Router trusts a pool's delivery settings
// before reading them from the store again, when RouterConfig.Reload is
// zero: a change made on any node reaches every node within this time.
const DefaultReload = 5 * time.Second

// capableTimeout bounds the store read CanSend may make (its interface
// takes no context).
const capableTimeout = 5 * time.Second

// Pools is where a Router reads pools' settings.
type Pools interface {
	GetPool(ctx context.Context, id string) (pool.Pool, error)
}

// RouterConfig configures a Router. Pools is required.
type RouterConfig struct {
	Pools Pools
	// Builder builds the providers; nil is the zero Builder (the real
	// providers, the process's environment). Its Webhooks and Users, when
	// nil, are taken from Webhooks and Users below.
	Builder *Builder
	// Fallback sends for a pool that configures no provider for a
	// channel: the dev outbox and log with --dev. nil means
	// deliver.Unavailable(), which can send nothing.
	Fallback deliver.Sender
	// Reload is how long a pool's settings are cached; DefaultReload when
	// zero.
	Reload time.Duration
	// Now is the clock of the cache and the breakers; time.Now when nil.
	Now func() time.Time
	// Breaker and AttemptTimeout configure each chain (see ChainOptions).
	Breaker        BreakerConfig
	AttemptTimeout time.Duration
	// Logger receives provider build errors, failovers and opened
	// circuits; discarded when nil.
	Logger *slog.Logger
	// Webhooks is the transport of the pools' CustomSMSSender and
	// CustomEmailSender webhooks (the process's one *hook.Webhooks, shared
	// with the engine). nil: a pool whose hooks configure a custom sender
	// as a webhook cannot send on that channel. It is also the transport of
	// the "webhook" delivery providers, unless Builder has its own.
	Webhooks *hook.Webhooks
	// HookFuncs are in-process custom senders for every pool, by trigger
	// name (hook.CustomSMSSender, hook.CustomEmailSender), for a program
	// that embeds Latchkey; they take precedence over a pool's webhook, as
	// the engine's HookFuncs do. Other triggers in it are ignored.
	HookFuncs hook.Funcs
	// Users finds the user a custom sender's event is for (its userName
	// and userAttributes), and a webhook provider's unless Builder has its
	// own. nil uses Pools when it implements Users (the store does);
	// otherwise events carry only the destination.
	Users Users
}

// Router is the server's deliver.Sender and deliver.Capable: it sends
// each message through its pool's chain of providers for the channel, or
// through the fallback when the pool configures none. It is safe for
// concurrent use. Chains and their breakers live in memory on each node.
type Router struct {
	pools    Pools
	builder  *Builder
	fallback deliver.Sender
	reload   time.Duration
	now      func() time.Time
	opts     ChainOptions
	log      *slog.Logger
	// webhooks and users: see RouterConfig.
	webhooks *hook.Webhooks
	// resolver finds the pools' custom sender hooks, as the engine finds
	// its hooks: the program's functions, then the pools' webhooks.
	resolver *hook.Resolver
	users    Users

	mu      sync.Mutex
	entries map[string]*poolEntry
}

var (
	_ deliver.Sender  = (*Router)(nil)
	_ deliver.Capable = (*Router)(nil)
)

// poolEntry is a pool's delivery as this node last loaded it.
type poolEntry struct {
	mu       sync.Mutex
	loadedAt time.Time // zero: never loaded
	delivery *pool.Delivery
	chains   map[deliver.Channel]*chainEntry
	// custom is the pool's custom senders; nil until loaded.
	custom *customSenders
}

type chainEntry struct {
	key   string // the channel's providers and secrets, hashed
	chain *Chain // nil: the pool configures no provider: use the fallback
}

// NewRouter returns a Router for cfg.
func NewRouter(cfg RouterConfig) (*Router, error) {
	if cfg.Pools == nil {
		return nil, errors.New("providers: RouterConfig.Pools is required")
	}
	r := &Router{
		pools:    cfg.Pools,
		fallback: cfg.Fallback,
		reload:   cfg.Reload,
		now:      cfg.Now,
		log:      cfg.Logger,
		entries:  make(map[string]*poolEntry),

		webhooks: cfg.Webhooks,
		resolver: &hook.Resolver{Webhooks: cfg.Webhooks, Funcs: cfg.HookFuncs},
		users:    cfg.Users,
	}
	if r.users == nil {
		r.users, _ = cfg.Pools.(Users)
	}
	// The Builder's webhook providers use the Router's transport and users
	// unless it has its own. A copy: the caller's Builder is not changed.
	b := Builder{}
	if cfg.Builder != nil {
		b = *cfg.Builder
	}
	if b.Webhooks == nil {
		b.Webhooks = r.webhooks
	}
	if b.Users == nil {
		b.Users = r.users
	}
	r.builder = &b
	if r.fallback == nil {
		r.fallback = deliver.Unavailable()
	}
	if r.reload <= 0 {
		r.reload = DefaultReload
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.opts = ChainOptions{Now: r.now, Breaker: cfg.Breaker, AttemptTimeout: cfg.AttemptTimeout, Logger: r.log}
	return r, nil
}

// Send delivers m through its pool's custom sender hook for m.Channel, if
// its hooks configure one, else through its providers for m.Channel. A
// message to one of the pool's test identities is dropped unsent: the
// engine never queues one, and this makes sure no provider or hook ever
// sees one.
func (r *Router) Send(ctx context.Context, m deliver.Message) error {
	rt, err := r.route(ctx, m.PoolID, m.Channel)
	if err != nil {
		return &deliver.ProviderError{Provider: chainProvider, Transient: !errors.Is(err, pool.ErrNotFound),
			Err: fmt.Errorf("load delivery settings of pool %s: %w", m.PoolID, err)}
	}
	d, c := rt.delivery, rt.chain
	if _, ok := d.TestCode(m.To); ok {
		r.log.LogAttrs(ctx, slog.LevelWarn, "test identity: message not sent", slog.Any("message", m))
		return nil
	}
	if rt.customErr != nil {
		// Transient: the pool's hooks may be fixed while the code lives.
		return &deliver.ProviderError{Provider: customSenderTrigger(m.Channel) + " hook", Transient: true,
			Err: fmt.Errorf("pool %s: %w", m.PoolID, rt.customErr)}
	}
	if rt.custom != nil {
		return rt.custom.Send(ctx, m)
	}
	if c == nil {
		return r.fallback.Send(ctx, m)
	}
	return c.Send(ctx, m)
}

// CanSend reports whether a code for the pool could be delivered on ch
// now: the pool has a custom sender hook for ch, or a provider for ch (or
// the fallback can send) and not every provider's circuit is open. When
// the pool's settings cannot be read it says yes, and the message waits in
// the outbox as any other. A pool whose hooks cannot be built cannot send.
func (r *Router) CanSend(poolID string, ch deliver.Channel) bool {
	ctx, cancel := context.WithTimeout(context.Background(), capableTimeout)
	defer cancel()
	rt, err := r.route(ctx, poolID, ch)
	c := rt.chain
	switch {
	case errors.Is(err, pool.ErrNotFound):
		return false
	case err != nil:
		return true
	case rt.customErr != nil:
		return false
	case rt.custom != nil:
		return true
	case c == nil:
		if f, ok := r.fallback.(deliver.Capable); ok {
			return f.CanSend(poolID, ch)
		}
		return true
	}
	return c.Available()
}

// Chain returns the pool's current chain for ch, nil when the pool
// configures no provider for it (for tests and status pages).
func (r *Router) Chain(ctx context.Context, poolID string, ch deliver.Channel) (*Chain, error) {
	rt, err := r.route(ctx, poolID, ch)
	return rt.chain, err
}

// routed is where a pool's messages on one channel go.
type routed struct {
	delivery *pool.Delivery
	// chain is nil when the pool configures no provider for the channel.
	chain *Chain
	// custom is the pool's custom sender hook for the channel, if any; it
	// replaces the chain and the fallback.
	custom *customSender
	// customErr is why the pool's hooks cannot be built.
	customErr error
}

// route returns the pool's delivery settings, its chain and its custom
// sender for ch, reloading them when they are older than the reload
// interval. When a reload fails, the settings loaded before are used, if
// any.
func (r *Router) route(ctx context.Context, poolID string, ch deliver.Channel) (routed, error) {
	r.mu.Lock()
	e, ok := r.entries[poolID]
	if !ok {
		e = &poolEntry{chains: map[deliver.Channel]*chainEntry{}}
		r.entries[poolID] = e
	}
	r.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	now := r.now()
	if e.loadedAt.IsZero() || now.Sub(e.loadedAt) >= r.reload {
		p, err := r.pools.GetPool(ctx, poolID)
		switch {
		case err == nil:
			e.delivery, e.loadedAt = p.Settings.Delivery, now
			r.refreshCustom(ctx, p, e)
		case e.loadedAt.IsZero() || errors.Is(err, pool.ErrNotFound):
			if errors.Is(err, pool.ErrNotFound) {
				r.forget(poolID, e)
			}
			return routed{}, err
		default:
			r.log.LogAttrs(ctx, slog.LevelWarn, "delivery settings not reloaded; using the ones loaded before",
				slog.String("pool", poolID), slog.String("error", err.Error()))
		}
		r.refresh(ctx, poolID, e)
	}
	rt := routed{delivery: e.delivery}
	if ce := e.chains[ch]; ce != nil {
		rt.chain = ce.chain
	}
	if e.custom != nil {
		rt.custom, rt.customErr = e.custom.byChannel[ch], e.custom.errFor(ch)
	}
	return rt, nil
}

// refreshCustom rebuilds the pool's custom senders when its hooks changed
// since they were built.
func (r *Router) refreshCustom(ctx context.Context, p pool.Pool, e *poolEntry) {
	if e.custom != nil && e.custom.key == hooksKey(p) {
		return
	}
	cs := r.buildCustomSenders(p)
	for _, ch := range []deliver.Channel{deliver.ChannelSMS, deliver.ChannelEmail} {
		if err := cs.errFor(ch); err != nil {
			r.log.LogAttrs(ctx, slog.LevelError, "custom sender hook cannot be built; the pool's codes are held until it is fixed",
				slog.String("pool", p.ID), slog.String("channel", string(ch)), slog.String("error", err.Error()))
		}
	}
	if len(cs.byChannel) > 0 || (e.custom != nil && len(e.custom.byChannel) > 0) {
		var channels []string
		for _, ch := range []deliver.Channel{deliver.ChannelSMS, deliver.ChannelEmail} {
			if cs.byChannel[ch] != nil {
				channels = append(channels, string(ch))
			}
		}
		r.log.LogAttrs(ctx, slog.LevelInfo, "custom sender hooks loaded",
			slog.String("pool", p.ID), slog.Any("channels", channels))
	}
	e.custom = cs
}

// forget drops a deleted pool's entry.
func (r *Router) forget(poolID string, e *poolEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.entries[poolID] == e {
		delete(r.entries, poolID)
	}
}

// refresh rebuilds the chain of each channel whose providers or secrets
// changed since it was built; breakers of unchanged providers carry over.
func (r *Router) refresh(ctx context.Context, poolID string, e *poolEntry) {
	for _, ch := range []deliver.Channel{deliver.ChannelSMS, deliver.ChannelEmail} {
		ps := e.delivery.Providers(string(ch))
		old := e.chains[ch]
		if len(ps) == 0 {
			if old != nil && old.chain != nil {
				r.log.LogAttrs(ctx, slog.LevelInfo, "delivery providers removed; using the server's default sender",
					slog.String("pool", poolID), slog.String("channel", string(ch)))
			}
			e.chains[ch] = &chainEntry{}
			continue
		}
		key := providersKey(ps) + r.builder.secretsFingerprint(ps)
		if old != nil && old.key == key {
			continue
		}
		links := r.builder.Links(ctx, ch, ps)
		c := NewChain(links, r.opts)
		if old != nil {
			c.inherit(old.chain)
		}
		for _, l := range links {
			if l.Err != nil {
				r.log.LogAttrs(ctx, slog.LevelError, "delivery provider cannot be built; it is skipped",
					slog.String("pool", poolID), slog.String("provider", l.Name), slog.String("error", l.Err.Error()))
			}
		}
		r.log.LogAttrs(ctx, slog.LevelInfo, "delivery providers loaded",
			slog.String("pool", poolID), slog.String("channel", string(ch)), slog.Int("providers", len(links)))
		e.chains[ch] = &chainEntry{key: key, chain: c}
	}
}

// providerKey identifies one provider's stored settings.
func providerKey(p pool.Provider) string {
	b, _ := json.Marshal(p) // cannot fail: plain strings, maps and valid raw JSON
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// providersKey identifies a channel's stored provider list.
func providersKey(ps []pool.Provider) string {
	b, _ := json.Marshal(ps)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
