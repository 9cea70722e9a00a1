package auth

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
	"github.com/latchkey/latchkey/internal/token"
)

// How a node keeps its pools' signing keys current. Each node parses a
// pool's keys into a token.Issuer and caches it; it rereads the key list
// (one small query) at most every IssuerRecheck and builds a new Issuer only
// when the list changed, so a key added on another node or by `latchkey
// pools update` is picked up without a restart.
//
// A new key is published at once (the JWK Set, verification) but signs
// only KeyActivationDelay after it was made, unless the pool has no older
// key that can sign: by then every node has reread its key list and every
// relying party that honours the JWKS document's Cache-Control (max-age
// 300 s) has fetched it, so no token reaches a verifier that does not yet
// know its key.
const (
	IssuerRecheck      = 5 * time.Second
	KeyActivationDelay = 5*time.Minute + 2*IssuerRecheck
)

// issuerCache holds each pool's Issuer and what it was built from.
type issuerCache struct {
	mu      sync.Mutex
	entries map[string]issuerEntry
}

type issuerEntry struct {
	iss *token.Issuer
	// keys identifies the key set the Issuer was built from.
	keys string
	// checked is when the key set was last read.
	checked time.Time
	// rebuild, when not zero, is when a pending key starts signing.
	rebuild time.Time
}

func (c *issuerCache) get(poolID string) (issuerEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ent, ok := c.entries[poolID]
	return ent, ok
}

func (c *issuerCache) put(poolID string, ent issuerEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[string]issuerEntry)
	}
	c.entries[poolID] = ent
}

// fresh reports whether the entry may be used at now without rereading.
func (ent issuerEntry) fresh(now time.Time) bool {
	return now.Before(ent.checked.Add(IssuerRecheck)) && ent.current(now)
}

// current reports whether the entry's choice of signing key still holds.
func (ent issuerEntry) current(now time.Time) bool {
	return ent.rebuild.IsZero() || now.Before(ent.rebuild)
}

// Issuer returns the pool's token issuer (its signing and verifying keys).
// An unknown pool is an error wrapping pool.ErrNotFound.
func (e *Engine) Issuer(ctx context.Context, poolID string) (*token.Issuer, error) {
	now := e.now()
	cached, ok := e.issuers.get(poolID)
	if ok && cached.fresh(now) {
		return cached.iss, nil
	}
	if !ok {
		if _, err := e.store.GetPool(ctx, poolID); err != nil {
			return nil, fmt.Errorf("load pool %s: %w", poolID, err)
		}
	}
	keys, err := e.store.ListSigningKeys(ctx, poolID)
	if err != nil {
		if ok && cached.current(now) {
			// Keep serving the keys we have; the next call tries again.
			e.log.WarnContext(ctx, "rereading signing keys failed; using the cached ones", "pool", poolID, "err", err)
			return cached.iss, nil
		}
		return nil, fmt.Errorf("load signing keys of pool %s: %w", poolID, err)
	}
	id := keySetID(keys)
	if ok && id == cached.keys && cached.current(now) {
		cached.checked = now
		e.issuers.put(poolID, cached)
		return cached.iss, nil
	}
	iss, err := token.NewIssuer(e.IssuerURL(poolID), keys, token.PendingAfter(now.Add(-KeyActivationDelay)))
	if err != nil {
		return nil, fmt.Errorf("signing keys of pool %s: %w", poolID, err)
	}
	ent := issuerEntry{iss: iss, keys: id, checked: now}
	for _, k := range keys {
		if at := k.CreatedAt.Add(KeyActivationDelay); k.RetiredAt == nil && at.After(now) && (ent.rebuild.IsZero() || at.Before(ent.rebuild)) {
			ent.rebuild = at
		}
	}
	e.issuers.put(poolID, ent)
	return iss, nil
}

// keySetID names a key set by what decides how it signs and verifies:
// each key's kid, creation time and retirement.
func keySetID(keys []pool.SigningKey) string {
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k.KID)
		b.WriteByte('/')
		b.WriteString(strconv.FormatInt(k.CreatedAt.UnixMilli(), 10))
		if k.RetiredAt != nil {
			b.WriteByte('/')
			b.WriteString(strconv.FormatInt(k.RetiredAt.UnixMilli(), 10))
		}
		b.WriteByte(' ')
	}
	return b.String()
}
