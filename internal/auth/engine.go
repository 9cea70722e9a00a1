// Package auth is Latchkey's engine: sign-up, the sign-in state machine and
// token issuance. It is pure Go with no transport and no SQL: front doors
// (the Cognito API, OIDC, web pages) call it, and it talks to persistence
// and delivery only through the store.Store and deliver.Sender interfaces.
package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/hook"
	"github.com/latchkey/latchkey/internal/limit"
	"github.com/latchkey/latchkey/internal/message"
	"github.com/latchkey/latchkey/internal/otp"
	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/store"
)

// Config holds what an Engine is built from.
type Config struct {
	Store store.Store
	// Sender delivers codes by SMS and email.
	Sender deliver.Sender
	// Queue, when set, takes every code message (and every decoy) and
	// delivers it in the background, so no response waits on a provider.
	// Without it codes are sent before the response, and responses for
	// known and unknown users differ by the provider's latency.
	Queue Queue
	// PublicURL is the base URL of the server; a pool's issuer ("iss") is
	// PublicURL + "/" + pool ID.
	PublicURL string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of codes, session strings and keys; nil means
	// crypto/rand.Reader.
	Rand   io.Reader
	Logger *slog.Logger
	// Webhooks carries the pools' webhook hooks (one per process, so
	// connections are reused); nil when no pool may use webhooks.
	Webhooks *hook.Webhooks
	// HookFuncs are in-process hooks by trigger name, for every pool, when
	// Latchkey is embedded in a Go program; they take precedence over a
	// pool's webhook for the same trigger. HookVersions gives a trigger's
	// event version (hook.LambdaV2 for PreTokenGeneration V2).
	HookFuncs    hook.Funcs
	HookVersions map[string]string
}

// Engine runs the sign-up and sign-in flows. It is safe for concurrent use
// and keeps no state that other nodes need: everything lives in the store.
type Engine struct {
	entropy
	store  store.Store
	sender deliver.Sender
	queue  Queue
	guard  *limit.Guard
	// resolver finds the pools' hooks: the Config's functions, then the
	// pools' webhooks (the delivery router's custom senders use the same).
	resolver *hook.Resolver
	// templates renders code messages; nil renders the built-in ones.
	// Per-pool templates come with the pool's delivery settings.
	templates *message.Templates
	// tmplCache holds pools' own templates (see templatesOf).
	tmplCache *templateCache
	publicURL string
	now       func() time.Time
	log       *slog.Logger
	admin     *Admin

	// issuers caches each pool's parsed signing keys (issuers.go).
	issuers *issuerCache

	// unit is the step's unit of work when this Engine is bound to one
	// (see bound): store and guard then write through its transaction.
	unit *unitOfWork
}

// New returns an Engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil {
		return nil, errors.New("auth: a store is required")
	}
	if cfg.Sender == nil {
		return nil, errors.New("auth: a sender is required")
	}
	if cfg.PublicURL == "" {
		return nil, errors.New("auth: a public URL is required")
	}
	e := &Engine{
		store:     cfg.Store,
		sender:    cfg.Sender,
		queue:     cfg.Queue,
		resolver:  &hook.Resolver{Webhooks: cfg.Webhooks, Funcs: cfg.HookFuncs, Versions: cfg.HookVersions},
		publicURL: strings.TrimRight(cfg.PublicURL, "/"),
		now:       cfg.Now,
		entropy:   entropy{rand: cfg.Rand},
		log:       cfg.Logger,
		issuers:   &issuerCache{},
		tmplCache: &templateCache{},
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.rand == nil {
		e.rand = rand.Reader
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.guard = limit.New(e.store, e.now)
	e.admin = NewAdmin(e.store, e.rand, e.now)
	return e, nil
}

// IssuerURL returns the "iss" of a pool's tokens.
func (e *Engine) IssuerURL(poolID string) string { return e.publicURL + "/" + poolID }

// hasher returns the keyed code hasher of a pool.
func hasher(p pool.Pool) (*otp.Hasher, error) {
	h, err := otp.NewHasher(p.HashKey)
	if err != nil {
		return nil, fmt.Errorf("pool %s: %w", p.ID, err)
	}
	return h, nil
}

// internal wraps an unexpected failure: the client sees a generic
// InternalErrorException, the log sees the cause.
func internal(op string, err error) error {
	return &pool.Error{Kind: pool.KindInternal, Message: "An internal error occurred; try again.", Err: fmt.Errorf("%s: %w", op, err)}
}

// clientAndPool loads an app client and its pool, mapping a missing client
// to Cognito's ResourceNotFoundException.
func (e *Engine) clientAndPool(ctx context.Context, clientID string) (pool.Client, pool.Pool, error) {
	c, err := e.store.GetClient(ctx, clientID)
	if errors.Is(err, pool.ErrNotFound) {
		return pool.Client{}, pool.Pool{}, pool.Errorf(pool.KindResourceNotFound, "User pool client %s does not exist.", clientID)
	}
	if err != nil {
		return pool.Client{}, pool.Pool{}, internal("load client", err)
	}
	p, err := e.store.GetPool(ctx, c.PoolID)
	if err != nil {
		return pool.Client{}, pool.Pool{}, internal("load pool", err)
	}
	return c, p, nil
}
