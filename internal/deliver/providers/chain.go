package providers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/deliver"
)

// DefaultAttemptTimeout bounds one provider's attempt when
// ChainOptions.AttemptTimeout is zero, so that a hanging provider leaves
// time for the next one within the dispatcher's lease.
const DefaultAttemptTimeout = 10 * time.Second

// chainProvider is the ProviderError.Provider of a Chain's errors.
const chainProvider = "chain"

// Link is one provider of a Chain.
type Link struct {
	// Name identifies the provider in logs and errors, e.g. `sms[1] twilio "backup"`.
	Name string
	// Sender sends through the provider; nil when it could not be built.
	Sender deliver.Sender
	// Err is why the provider could not be built (a missing secret, say).
	// Such a link is never tried and makes no Chain available.
	Err error
	// key identifies the provider's settings, so a rebuilt chain keeps
	// the breaker of a provider whose settings did not change.
	key string
}

// ChainOptions configure a Chain. Zero values take the defaults.
type ChainOptions struct {
	// Now is the breakers' clock; time.Now when nil.
	Now func() time.Time
	// Breaker tunes each provider's circuit breaker.
	Breaker BreakerConfig
	// AttemptTimeout bounds each provider's attempt, within the caller's
	// context. DefaultAttemptTimeout when zero.
	AttemptTimeout time.Duration
	// Logger receives failovers and opened circuits; discarded when nil.
	Logger *slog.Logger
}

// Chain sends through its providers in order: a failure of one, transient
// or permanent, moves on to the next, and the first that delivers wins.
// Each provider has a circuit breaker that skips it after repeated
// transient failures. A Chain is safe for concurrent use.
type Chain struct {
	links    []chainLink
	timeout  time.Duration
	log      *slog.Logger
	breakers BreakerConfig
	now      func() time.Time
}

type chainLink struct {
	Link
	breaker *Breaker
}

var _ deliver.Sender = (*Chain)(nil)

// NewChain returns a Chain over links, each with a closed breaker.
func NewChain(links []Link, opts ChainOptions) *Chain {
	c := &Chain{
		timeout:  opts.AttemptTimeout,
		log:      opts.Logger,
		breakers: opts.Breaker.withDefaults(),
		now:      opts.Now,
	}
	if c.timeout <= 0 {
		c.timeout = DefaultAttemptTimeout
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	for _, l := range links {
		c.links = append(c.links, chainLink{Link: l, breaker: NewBreaker(c.breakers, c.now)})
	}
	return c
}

// inherit takes over old's breakers for the links whose settings are
// unchanged, so a reload that changes nothing about a provider does not
// forget that it is down.
func (c *Chain) inherit(old *Chain) {
	if old == nil {
		return
	}
	prev := make(map[string]*Breaker, len(old.links))
	for _, l := range old.links {
		if l.key != "" {
			prev[l.key] = l.breaker
		}
	}
	for i, l := range c.links {
		if b, ok := prev[l.key]; ok && l.key != "" {
			c.links[i].breaker = b
		}
	}
}

// Breaker returns the breaker of the i-th link (for tests and status).
func (c *Chain) Breaker(i int) *Breaker { return c.links[i].breaker }

// Len returns the number of links.
func (c *Chain) Len() int { return len(c.links) }

// Available reports whether a send could go anywhere now: some provider
// was built and its circuit is not open. The engine asks before it makes
// any state, so a pool whose providers are all down refuses new codes
// (CodeDeliveryFailureException) rather than queueing them to fail.
func (c *Chain) Available() bool {
	for _, l := range c.links {
		if l.Sender != nil && l.breaker.State() != Open {
			return true
		}
	}
	return false
}

// Attempt is what happened at one provider during a send.
type Attempt struct {
	// Provider is the link's Name.
	Provider string
	// Err is nil when the provider delivered the message.
	Err error
	// Skipped is true when the provider was not tried: it could not be
	// built, or its circuit was open.
	Skipped  bool
	Duration time.Duration
}

// Send delivers m through the first provider that can. When all fail it
// returns a *deliver.ProviderError wrapping a *ChainError, transient if
// any failure was (so the dispatcher tries again while the code lives).
func (c *Chain) Send(ctx context.Context, m deliver.Message) error {
	_, err := c.Deliver(ctx, m)
	return err
}

// Deliver is Send that also reports each provider's attempt, in order;
// the last attempt is the one that delivered, if any did.
func (c *Chain) Deliver(ctx context.Context, m deliver.Message) ([]Attempt, error) {
	attempts := make([]Attempt, 0, len(c.links))
	for _, l := range c.links {
		if err := ctx.Err(); err != nil {
			// We gave up, not the providers: worth another try later.
			attempts = append(attempts, Attempt{Provider: l.Name, Skipped: true,
				Err: &deliver.ProviderError{Provider: "context", Transient: true, Err: err}})
			continue
		}
		if l.Sender == nil {
			attempts = append(attempts, Attempt{Provider: l.Name, Skipped: true, Err: fmt.Errorf("not configured: %w", l.Err)})
			continue
		}
		if !l.breaker.Allow() {
			attempts = append(attempts, Attempt{Provider: l.Name, Skipped: true,
				Err: &deliver.ProviderError{Provider: "breaker", Transient: true, Err: ErrCircuitOpen}})
			continue
		}
		start := c.now()
		actx, cancel := context.WithTimeout(ctx, c.timeout)
		err := l.Sender.Send(actx, m)
		cancel()
		attempts = append(attempts, Attempt{Provider: l.Name, Err: err, Duration: c.now().Sub(start)})
		switch {
		case err == nil:
			l.breaker.Success()
			return attempts, nil
		case ctx.Err() != nil:
			// The caller's deadline says nothing about the provider.
			l.breaker.Release()
		case deliver.IsTransient(err):
			// Only transient failures (timeouts, 5xx, throttling) speak
			// for the provider's health. A permanent one is usually about
			// this message (an invalid number), and counting it would let
			// anyone who asks for codes to bad numbers take the provider
			// down for everybody.
			if l.breaker.Failure() {
				c.log.LogAttrs(ctx, slog.LevelWarn, "delivery provider circuit opened",
					slog.String("provider", l.Name), slog.String("pool", m.PoolID),
					slog.Duration("cool_off", c.breakers.CoolOff))
			}
		default:
			l.breaker.Release()
		}
		if len(attempts) < len(c.links) {
			c.log.LogAttrs(ctx, slog.LevelWarn, "delivery provider failed; trying the next one",
				slog.Any("message", m), slog.String("provider", l.Name), slog.String("error", err.Error()))
		}
	}
	return attempts, chainFailure(attempts)
}

// ErrCircuitOpen is the failure of a provider skipped by its breaker.
var ErrCircuitOpen = errors.New("circuit open after repeated failures; not tried")

func chainFailure(attempts []Attempt) error {
	if len(attempts) == 0 {
		return &deliver.ProviderError{Provider: chainProvider, Err: errors.New("no provider is configured")}
	}
	transient := false
	for _, a := range attempts {
		transient = transient || deliver.IsTransient(a.Err)
	}
	return &deliver.ProviderError{Provider: chainProvider, Transient: transient, Err: &ChainError{Attempts: attempts}}
}

// ChainError is a send that every provider of a Chain failed.
type ChainError struct {
	Attempts []Attempt
}

func (e *ChainError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "all %d providers failed", len(e.Attempts))
	for i, a := range e.Attempts {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %v", a.Provider, a.Err)
	}
	return b.String()
}

// Unwrap returns each provider's failure.
func (e *ChainError) Unwrap() []error {
	errs := make([]error, 0, len(e.Attempts))
	for _, a := range e.Attempts {
		errs = append(errs, a.Err)
	}
	return errs
}
