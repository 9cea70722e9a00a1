package token

import (
	"cmp"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/latchkey/latchkey/internal/pool"
)

// Errors Verify returns, wrapped with detail. Callers map them to messages
// with errors.Is; no error text ever contains the token or key material.
var (
	// ErrMalformed: not a compact JWS, not canonical base64url, not UTF-8
	// JSON objects, or a required claim (exp) missing or mistyped.
	ErrMalformed = errors.New("token: malformed")
	// ErrUnsupported: an algorithm other than RS256, ES256 and EdDSA, an
	// algorithm other than the one of the key the kid names, or a header
	// parameter other than alg, kid and typ.
	ErrUnsupported = errors.New("token: unsupported algorithm or header")
	// ErrUnknownKey: no kid, or a kid that is not one of the pool's keys.
	ErrUnknownKey = errors.New("token: unknown signing key")
	ErrSignature  = errors.New("token: invalid signature")
	ErrExpired    = errors.New("token: expired")
	ErrIssuer     = errors.New("token: wrong issuer")
	ErrTokenUse   = errors.New("token: wrong token_use")
)

// maxTokenLen caps the work an anonymous caller can ask of Verify. Cognito
// ID tokens with many groups and attributes stay well under it.
const maxTokenLen = 64 << 10

// typ is the JOSE "typ" header of every token we sign.
const typ = "JWT"

// allowedHeaders is the allow-list of protected header parameters (RFC 8725
// §3.1, §3.10): anything else, notably jku, x5u, x5c, jwk and crit, would
// let the token pick its own key or change how it is processed.
var allowedHeaders = map[string]bool{"alg": true, "kid": true, "typ": true}

// verifyingKey is a public key with the one algorithm it verifies.
type verifyingKey struct {
	alg  string
	jose jose.SignatureAlgorithm
	pub  crypto.PublicKey
}

// Issuer signs and verifies one pool's tokens. It is immutable and safe for
// concurrent use; build it once per key set and cache it.
type Issuer struct {
	issuer  string
	signer  jose.Signer
	signKID string
	signAlg string
	byKID   map[string]verifyingKey
	jwks    []JWK // newest first
}

// Option changes how NewIssuer picks the signing key.
type Option func(*options)

type options struct {
	pendingAfter *time.Time
}

// PendingAfter makes keys created after cutoff pending: they are in the
// JWK Set and verify, but sign only if no key created at or before cutoff
// can. A new key is then published before anything is signed with it, so
// verifiers that cache the key set (other nodes, relying parties) know it
// by the time its first token reaches them: pass now minus the longest
// such cache.
func PendingAfter(cutoff time.Time) Option {
	return func(o *options) { o.pendingAfter = &cutoff }
}

// NewIssuer parses keys once. issuer is the exact "iss" value. The newest
// key (by CreatedAt) that is not retired signs, with its own algorithm (see
// PendingAfter for an exception); every key verifies, each only its own
// algorithm. All keys must belong to the same pool; their algorithms may
// differ.
func NewIssuer(issuer string, keys []pool.SigningKey, opts ...Option) (*Issuer, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if issuer == "" {
		return nil, errors.New("token: empty issuer")
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("token: issuer %q has no signing keys", issuer)
	}
	sorted := slices.Clone(keys)
	slices.SortStableFunc(sorted, func(a, b pool.SigningKey) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.KID, b.KID) // a stable order for keys made at the same instant
	})

	i := &Issuer{issuer: issuer, byKID: make(map[string]verifyingKey, len(sorted))}
	var active, pending crypto.Signer // the newest active and the oldest pending unretired key
	var activeKey, pendingKey pool.SigningKey
	for _, k := range sorted {
		if k.KID == "" {
			return nil, fmt.Errorf("token: issuer %q: signing key with empty kid", issuer)
		}
		if k.PoolID != sorted[0].PoolID {
			// A key of another pool must never verify this pool's tokens (RFC 8725 §3.8).
			return nil, fmt.Errorf("token: issuer %q: key %q belongs to pool %q, not %q", issuer, k.KID, k.PoolID, sorted[0].PoolID)
		}
		alg, ok := joseAlgorithm(k.Algorithm)
		if !ok {
			return nil, fmt.Errorf("token: key %q: algorithm %q is not supported, want one of %s", k.KID, k.Algorithm, strings.Join(Algorithms(), ", "))
		}
		if _, dup := i.byKID[k.KID]; dup {
			return nil, fmt.Errorf("token: issuer %q: duplicate kid %q", issuer, k.KID)
		}
		priv, err := parsePrivateKey(k)
		if err != nil {
			return nil, err
		}
		jwk, err := publicJWK(k.KID, k.Algorithm, priv.Public())
		if err != nil {
			return nil, err
		}
		i.byKID[k.KID] = verifyingKey{alg: k.Algorithm, jose: alg, pub: priv.Public()}
		i.jwks = append(i.jwks, jwk)
		switch {
		case k.RetiredAt != nil || active != nil:
		case o.pendingAfter != nil && k.CreatedAt.After(*o.pendingAfter):
			pending, pendingKey = priv, k // sorted newest first: the last one is the oldest
		default:
			active, activeKey = priv, k
		}
	}
	if active == nil {
		active, activeKey = pending, pendingKey
	}
	if active == nil {
		return nil, fmt.Errorf("token: issuer %q: every signing key is retired", issuer)
	}
	i.signKID, i.signAlg = activeKey.KID, activeKey.Algorithm

	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: i.byKID[i.signKID].jose, Key: jose.JSONWebKey{Key: active, KeyID: i.signKID}},
		(&jose.SignerOptions{}).WithType(typ),
	)
	if err != nil {
		return nil, fmt.Errorf("token: key %q: making signer: %w", i.signKID, err)
	}
	i.signer = signer
	return i, nil
}

// Issuer returns the "iss" value this Issuer signs and requires.
func (i *Issuer) Issuer() string { return i.issuer }

// SigningKeyID returns the kid of the key Sign uses.
func (i *Issuer) SigningKeyID() string { return i.signKID }

// SigningAlgorithm returns the algorithm of the key Sign uses.
func (i *Issuer) SigningAlgorithm() string { return i.signAlg }

// Algorithms returns the algorithms of the issuer's keys, each once: the
// signing key's first, then the others' from the newest key to the oldest.
func (i *Issuer) Algorithms() []string {
	algs := []string{i.signAlg}
	for _, k := range i.jwks {
		if !slices.Contains(algs, k.Alg) {
			algs = append(algs, k.Alg)
		}
	}
	return algs
}

// Sign serialises claims as a compact JWS with the protected header
// {"alg":<the signing key's algorithm>,"kid":...,"typ":"JWT"}. It does not
// add or change claims.
func (i *Issuer) Sign(claims Claims) (string, error) {
	if claims == nil {
		return "", errors.New("token: signing nil claims")
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("token: encoding claims: %w", err)
	}
	jws, err := i.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("token: signing with key %q: %w", i.signKID, err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("token: serialising JWS: %w", err)
	}
	return out, nil
}

// Verify checks token and returns its claims. In order: compact form and
// canonical base64url; alg is RS256, ES256 or EdDSA; no header parameter but
// alg, kid and typ (typ, if present, is "JWT"); kid is one of this issuer's
// keys; alg is exactly that key's algorithm; the signature; iss equals Issuer(); exp is present and now is before it (no
// leeway: pass an earlier now to allow clock skew); token_use equals wantUse
// unless wantUse is "". Callers check aud / client_id themselves.
func (i *Issuer) Verify(token string, now time.Time, wantUse string) (Claims, error) {
	rawHeader, err := decodeCompact(token)
	if err != nil {
		return nil, err
	}
	alg, kid, err := checkHeader(rawHeader)
	if err != nil {
		return nil, err
	}
	key, ok := i.byKID[kid]
	if !ok {
		return nil, fmt.Errorf("%w: kid is not in this pool's key set", ErrUnknownKey)
	}
	// The allow-list is per key (RFC 8725 §3.1): a key verifies only the
	// algorithm it was made for, whatever else the pool's set holds.
	if alg != key.alg {
		return nil, fmt.Errorf("%w: alg %s is not the algorithm of key %q (%s)", ErrUnsupported, alg, kid, key.alg)
	}

	// The checks above already pin the form go-jose parses; it does the
	// cryptography, again restricted to the key's one algorithm.
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{key.jose})
	if err != nil {
		return nil, fmt.Errorf("%w: parsing JWS: %w", ErrMalformed, err)
	}
	payload, err := jws.Verify(key.pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %s signature does not match key %q", ErrSignature, key.alg, kid)
	}

	// The payload is parsed only once it is known to be ours.
	var claims Claims
	if err := json.Unmarshal(payload, &claims); err != nil || claims == nil {
		return nil, fmt.Errorf("%w: payload is not a JSON object", ErrMalformed)
	}
	if claims.String("iss") != i.issuer {
		return nil, fmt.Errorf("%w: want %q", ErrIssuer, i.issuer)
	}
	exp, ok := claims.Time("exp")
	if !ok {
		return nil, fmt.Errorf("%w: exp claim missing or not a NumericDate", ErrMalformed)
	}
	if !now.Before(exp) {
		return nil, fmt.Errorf("%w: at %s", ErrExpired, exp.Format(time.RFC3339))
	}
	if wantUse != "" && claims.String("token_use") != wantUse {
		return nil, fmt.Errorf("%w: want %q", ErrTokenUse, wantUse)
	}
	return claims, nil
}

// JWKS returns the public keys, newest first, retired keys included.
func (i *Issuer) JWKS() JWKS {
	return JWKS{Keys: slices.Clone(i.jwks)}
}

// decodeCompact checks that token is a compact JWS whose three segments
// each have exactly one spelling (RFC 8725bis: reject what is not base64url,
// to avoid format confusion), and returns the decoded header.
func decodeCompact(token string) ([]byte, error) {
	if len(token) > maxTokenLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, maxTokenLen)
	}
	if n := strings.Count(token, "."); n != 2 {
		return nil, fmt.Errorf("%w: compact JWS has %d parts, want 3", ErrMalformed, n+1)
	}
	h, rest, _ := strings.Cut(token, ".")
	p, s, _ := strings.Cut(rest, ".")
	header, err := decodeSegment(h)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrMalformed, err)
	}
	payload, err := decodeSegment(p)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %w", ErrMalformed, err)
	}
	if _, err := decodeSegment(s); err != nil {
		return nil, fmt.Errorf("%w: signature: %w", ErrMalformed, err)
	}
	if !utf8.Valid(header) || !utf8.Valid(payload) {
		return nil, fmt.Errorf("%w: header or payload is not UTF-8", ErrMalformed)
	}
	return header, nil
}

var errAlphabet = errors.New("character outside the base64url alphabet")

// decodeSegment decodes unpadded base64url. encoding/base64 skips CR and LF
// even in Strict mode, so the alphabet is checked first; Strict then rejects
// non-zero trailing bits.
func decodeSegment(s string) ([]byte, error) {
	for _, c := range []byte(s) {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return nil, errAlphabet
		}
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, errors.New("not canonical unpadded base64url")
	}
	return b, nil
}

// checkHeader enforces the header policy and returns alg (one of
// Algorithms) and kid. Whether alg is the kid's algorithm is for the caller.
func checkHeader(raw []byte) (alg, kid string, err error) {
	var h map[string]json.RawMessage
	if err := json.Unmarshal(raw, &h); err != nil || h == nil {
		return "", "", fmt.Errorf("%w: header is not a JSON object", ErrMalformed)
	}
	if err := json.Unmarshal(h["alg"], &alg); err != nil || !slices.Contains(Algorithms(), alg) {
		return "", "", fmt.Errorf("%w: alg must be one of %s", ErrUnsupported, strings.Join(Algorithms(), ", "))
	}
	for name := range h {
		if !allowedHeaders[name] {
			return "", "", fmt.Errorf("%w: only alg, kid and typ header parameters are allowed", ErrUnsupported)
		}
	}
	if t, present := h["typ"]; present {
		var s string
		if err := json.Unmarshal(t, &s); err != nil || s != typ {
			return "", "", fmt.Errorf("%w: typ must be %s", ErrUnsupported, typ)
		}
	}
	if err := json.Unmarshal(h["kid"], &kid); err != nil || kid == "" {
		return "", "", fmt.Errorf("%w: kid missing or not a string", ErrUnknownKey)
	}
	return alg, kid, nil
}
