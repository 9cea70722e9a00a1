package providers

import (
	"sync"
	"time"
)

// Defaults of BreakerConfig's zero values.
const (
	DefaultBreakerThreshold = 5
	DefaultBreakerCoolOff   = 30 * time.Second
)

// BreakerConfig tunes the circuit breaker each provider has on each node.
type BreakerConfig struct {
	// Threshold is how many transient failures in a row open the circuit.
	// DefaultBreakerThreshold when zero.
	Threshold int
	// CoolOff is how long an open circuit skips the provider before one
	// trial send may go through. DefaultBreakerCoolOff when zero.
	CoolOff time.Duration
}

func (c BreakerConfig) withDefaults() BreakerConfig {
	if c.Threshold <= 0 {
		c.Threshold = DefaultBreakerThreshold
	}
	if c.CoolOff <= 0 {
		c.CoolOff = DefaultBreakerCoolOff
	}
	return c
}

// BreakerState is where a Breaker is in its cycle.
type BreakerState int

const (
	// Closed: sends go through.
	Closed BreakerState = iota
	// Open: the provider failed Threshold times in a row; sends skip it
	// until the cool-off has passed.
	Open
	// HalfOpen: the cool-off has passed; one trial send may go through,
	// and its outcome closes or reopens the circuit.
	HalfOpen
)

func (s BreakerState) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return "unknown"
}

// Breaker is a circuit breaker for one provider on one node. It is safe
// for concurrent use. Its state is in memory only: each node learns for
// itself that a provider is down, which costs a few failed sends per node
// and needs no shared state.
type Breaker struct {
	cfg BreakerConfig
	now func() time.Time

	mu       sync.Mutex
	failures int       // transient failures in a row
	openedAt time.Time // zero while closed
	probing  bool      // a half-open trial send is in flight
}

// NewBreaker returns a closed breaker; now is its clock (time.Now when nil).
func NewBreaker(cfg BreakerConfig, now func() time.Time) *Breaker {
	if now == nil {
		now = time.Now
	}
	return &Breaker{cfg: cfg.withDefaults(), now: now}
}

// State returns the breaker's state now.
func (b *Breaker) State() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state()
}

func (b *Breaker) state() BreakerState {
	switch {
	case b.openedAt.IsZero():
		return Closed
	case b.now().Sub(b.openedAt) < b.cfg.CoolOff:
		return Open
	}
	return HalfOpen
}

// Allow reports whether a send may try the provider now, and if so the
// caller must report its outcome with Success, Failure or Release. In the
// half-open state only one trial send is allowed at a time.
func (b *Breaker) Allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state() {
	case Closed:
		return true
	case HalfOpen:
		if b.probing {
			return false
		}
		b.probing = true
		return true
	}
	return false
}

// Success records a delivered message: the circuit closes.
func (b *Breaker) Success() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures, b.openedAt, b.probing = 0, time.Time{}, false
}

// Failure records a transient failure. It reports whether it opened the
// circuit (the Threshold-th failure in a row, or a failed trial send).
func (b *Breaker) Failure() (opened bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	wasProbing := b.probing
	b.probing = false
	if wasProbing || (b.openedAt.IsZero() && b.failures >= b.cfg.Threshold) {
		b.openedAt = b.now()
		return true
	}
	return false
}

// Release ends an allowed send that says nothing about the provider's
// health (the caller gave up, or the provider refused this one message).
func (b *Breaker) Release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
}
