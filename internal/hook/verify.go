package hook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Webhook requests are signed with the Standard Webhooks scheme
// (https://www.standardwebhooks.com/): each carries a unique message id, the
// unix time it was sent, and an HMAC-SHA256 over "<id>.<timestamp>.<body>"
// under the pool's secret, so a receiver can reject forgeries and replays.

// The headers of a signed request.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	// HeaderSignature is a space-separated list of "v1,<base64 HMAC>", one
	// per secret in use (two while a secret is being rotated).
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is how far a request's timestamp may be from the
// receiver's clock, either way, when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

const (
	secretPrefix = "whsec_"
	// The Standard Webhooks bounds of a symmetric secret's key.
	minKeyBytes = 24
	maxKeyBytes = 64
	// newKeyBytes is the key size NewSecret makes.
	newKeyBytes = 32
	// maxSignatures bounds the signatures Verify reads from one header.
	maxSignatures = 16
)

// Errors of Verify and ReplayGuard.Verify. Match them with errors.Is.
var (
	ErrInvalidSecret     = errors.New("webhook secret must be whsec_ followed by the base64 of 24 to 64 random bytes")
	ErrMissingHeader     = errors.New("webhook-id, webhook-timestamp or webhook-signature header missing")
	ErrInvalidID         = errors.New("webhook-id must not contain '.' or white space")
	ErrInvalidTimestamp  = errors.New("webhook-timestamp is not a unix time in seconds")
	ErrTimestampTooOld   = errors.New("webhook-timestamp is too old")
	ErrTimestampTooNew   = errors.New("webhook-timestamp is too far in the future")
	ErrNoSignature       = errors.New("webhook-signature has no v1 signature")
	ErrSignatureMismatch = errors.New("webhook-signature does not match")
	ErrReplayed          = errors.New("webhook-id was already received")
)

// NewSecret returns a new signing secret, "whsec_" and the base64 of 32
// bytes read from rand (crypto/rand.Reader in production).
func NewSecret(rand io.Reader) (string, error) {
	key := make([]byte, newKeyBytes)
	if _, err := io.ReadFull(rand, key); err != nil {
		return "", fmt.Errorf("hook: new secret: %w", err)
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// parseSecret returns a secret's key. The whsec_ prefix may be left out,
// as the Standard Webhooks libraries allow.
func parseSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil || len(key) < minKeyBytes || len(key) > maxKeyBytes {
		return nil, ErrInvalidSecret
	}
	return key, nil
}

// Sign returns the signature of a request, "v1,<base64 HMAC-SHA256>" over
// "<msgID>.<unix seconds>.<body>": one entry of the webhook-signature
// header.
func Sign(secret, msgID string, timestamp time.Time, body []byte) (string, error) {
	key, err := parseSecret(secret)
	if err != nil {
		return "", err
	}
	if !validID(msgID) {
		return "", ErrInvalidID
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, msgID, timestamp.Unix(), body)), nil
}

// mac is the HMAC-SHA256 of "<id>.<ts>.<body>" under key.
func mac(key []byte, id string, ts int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write(strconv.AppendInt(nil, ts, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// validID reports whether a message id can be signed unambiguously.
func validID(id string) bool {
	return id != "" && !strings.ContainsFunc(id, func(r rune) bool {
		return r == '.' || r <= ' ' || r == 0x7f
	})
}

// Verify checks a signed request as a receiver: the headers are present,
// the timestamp is within tolerance of now either way (DefaultTolerance
// when tolerance <= 0), and one v1 signature in webhook-signature is the
// HMAC of the exact body under secret, compared in constant time. Entries
// of other versions are ignored; a header with none of version v1 is
// refused. Verify remembers nothing: reject a replayed webhook-id within
// the tolerance with a ReplayGuard.
//
// Pass the body exactly as received, before parsing it as JSON.
func Verify(secret string, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	_, err := verify(secret, header, body, now, tolerance)
	return err
}

// verify is Verify, also returning the request's timestamp.
func verify(secret string, header http.Header, body []byte, now time.Time, tolerance time.Duration) (time.Time, error) {
	key, err := parseSecret(secret)
	if err != nil {
		return time.Time{}, err
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	id, tsText, sigs := header.Get(HeaderID), header.Get(HeaderTimestamp), header.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return time.Time{}, ErrMissingHeader
	}
	if !validID(id) {
		return time.Time{}, ErrInvalidID
	}
	ts, err := parseTimestamp(tsText)
	if err != nil {
		return time.Time{}, err
	}
	sent := time.Unix(ts, 0)
	switch {
	case sent.Before(now.Add(-tolerance)):
		return time.Time{}, ErrTimestampTooOld
	case sent.After(now.Add(tolerance)):
		return time.Time{}, ErrTimestampTooNew
	}
	want := mac(key, id, ts, body)
	found := false
	for i, entry := range strings.Fields(sigs) {
		if i == maxSignatures {
			break
		}
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		found = true
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return sent, nil
		}
	}
	if !found {
		return time.Time{}, ErrNoSignature
	}
	return time.Time{}, ErrSignatureMismatch
}

// parseTimestamp reads unix seconds written as plain digits.
func parseTimestamp(s string) (int64, error) {
	if len(s) > 12 || strings.ContainsFunc(s, func(r rune) bool { return r < '0' || r > '9' }) {
		return 0, ErrInvalidTimestamp
	}
	ts, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, ErrInvalidTimestamp
	}
	return ts, nil
}

// ReplayGuard is a receiver's Verify that also refuses a webhook-id it has
// already accepted while that request's timestamp is within tolerance, so
// a captured request cannot be replayed. It remembers ids in memory: a
// receiver running on several machines needs a shared store instead.
type ReplayGuard struct {
	tolerance time.Duration

	mu        sync.Mutex
	seen      map[string]time.Time // id → when it may be forgotten
	pruneSize int
}

// NewReplayGuard returns a ReplayGuard accepting timestamps within
// tolerance (DefaultTolerance when tolerance <= 0).
func NewReplayGuard(tolerance time.Duration) *ReplayGuard {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	return &ReplayGuard{tolerance: tolerance, seen: make(map[string]time.Time), pruneSize: 1024}
}

// Verify checks a request as Verify does, then refuses it with ErrReplayed
// if its webhook-id was accepted before.
func (g *ReplayGuard) Verify(secret string, header http.Header, body []byte, now time.Time) error {
	sent, err := verify(secret, header, body, now, g.tolerance)
	if err != nil {
		return err
	}
	id := header.Get(HeaderID)
	g.mu.Lock()
	defer g.mu.Unlock()
	if forget, ok := g.seen[id]; ok && now.Before(forget) {
		return ErrReplayed
	}
	if len(g.seen) >= g.pruneSize {
		for k, forget := range g.seen {
			if !now.Before(forget) {
				delete(g.seen, k)
			}
		}
		g.pruneSize = max(1024, 2*len(g.seen))
	}
	// After sent+tolerance the timestamp check refuses the request anyway.
	g.seen[id] = sent.Add(g.tolerance + time.Second)
	return nil
}
