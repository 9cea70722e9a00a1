package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
)

const (
	testPool   = "local_AbCdEf123"
	testIssuer = "http://127.0.0.1:8080/" + testPool
)

// testNow is the fixed clock of these tests.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// generatedKeys makes a few keys of each algorithm once per test binary:
// RSA key generation is slow, more so under -race. Keys of one algorithm
// are an hour apart, oldest first, all before testNow.
var generatedKeys = sync.OnceValues(func() (map[string][]pool.SigningKey, error) {
	const n = 4
	out := make(map[string][]pool.SigningKey)
	for _, alg := range Algorithms() {
		keys := make([]pool.SigningKey, n)
		for i := range keys {
			k, err := NewSigningKey(rand.Reader, testPool, alg, testNow.Add(-time.Duration(n-i)*time.Hour))
			if err != nil {
				return nil, err
			}
			keys[i] = k
		}
		out[alg] = keys
	}
	return out, nil
})

// testKeys returns n distinct RS256 keys, oldest first, each a fresh copy.
func testKeys(t testing.TB, n int) []pool.SigningKey {
	t.Helper()
	return testKeysOf(t, RS256, n)
}

// testKeysOf returns n distinct keys of algorithm alg, oldest first, each
// a fresh copy.
func testKeysOf(t testing.TB, alg string, n int) []pool.SigningKey {
	t.Helper()
	all, err := generatedKeys()
	if err != nil {
		t.Fatalf("generating keys: %v", err)
	}
	keys := all[alg]
	if n > len(keys) {
		t.Fatalf("testKeys: want %d %s keys, have %d", n, alg, len(keys))
	}
	out := make([]pool.SigningKey, n)
	copy(out, keys)
	return out
}

func newTestIssuer(t testing.TB, keys ...pool.SigningKey) *Issuer {
	t.Helper()
	iss, err := NewIssuer(testIssuer, keys)
	if err != nil {
		t.Fatalf("NewIssuer: %v", err)
	}
	return iss
}

func privateKey(t testing.TB, k pool.SigningKey) crypto.Signer {
	t.Helper()
	priv, err := parsePrivateKey(k)
	if err != nil {
		t.Fatalf("parsePrivateKey: %v", err)
	}
	return priv
}

// rsaKey is privateKey for an RS256 key.
func rsaKey(t testing.TB, k pool.SigningKey) *rsa.PrivateKey {
	t.Helper()
	priv, ok := privateKey(t, k).(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("key %q is not an RSA key", k.KID)
	}
	return priv
}

// validClaims are the claims of a Cognito access token valid at testNow.
func validClaims() Claims {
	return Claims{
		"sub":       "0f3b6c1e-5a0d-4c59-9b1e-2a4f3e6d7c8b",
		"iss":       testIssuer,
		"client_id": "abcdefghijklmnopqrstuvwxyz",
		"token_use": "access",
		"scope":     "aws.cognito.signin.user.admin",
		"auth_time": testNow.Unix(),
		"iat":       testNow.Unix(),
		"exp":       testNow.Add(time.Hour).Unix(),
		"jti":       "5c1d2a8e-7f0b-4e3a-9d6c-1b2a3c4d5e6f",
		"username":  "0f3b6c1e-5a0d-4c59-9b1e-2a4f3e6d7c8b",
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jsonSegment encodes v as a base64url JSON segment; a string is taken as
// raw JSON text so tests can write exact (even invalid) headers.
func jsonSegment(t testing.TB, v any) string {
	t.Helper()
	if s, ok := v.(string); ok {
		return b64([]byte(s))
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return b64(b)
}

// craft builds a compact JWS by hand so tests can make tokens Sign never
// would; sign gets the signing input and returns the raw signature.
func craft(t testing.TB, header, payload any, sign func(input []byte) []byte) string {
	t.Helper()
	input := jsonSegment(t, header) + "." + jsonSegment(t, payload)
	return input + "." + b64(sign([]byte(input)))
}

// signWith returns a signing function for k's own algorithm, made with the
// standard library independently of go-jose.
func signWith(t testing.TB, k pool.SigningKey) func([]byte) []byte {
	t.Helper()
	switch priv := privateKey(t, k).(type) {
	case *rsa.PrivateKey:
		return rs256(t, priv)
	case *ecdsa.PrivateKey:
		return es256(t, priv)
	case ed25519.PrivateKey:
		return eddsa(priv)
	}
	t.Fatalf("key %q: no signer", k.KID)
	return nil
}

// es256 signs with crypto/ecdsa directly: the JWS form is r || s, each
// left-padded to 32 bytes (RFC 7518 §3.4), not ASN.1 DER.
func es256(t testing.TB, priv *ecdsa.PrivateKey) func([]byte) []byte {
	return func(input []byte) []byte {
		sum := sha256.Sum256(input)
		r, s, err := ecdsa.Sign(rand.Reader, priv, sum[:])
		if err != nil {
			t.Fatalf("ecdsa.Sign: %v", err)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig
	}
}

// eddsa signs with crypto/ed25519 directly.
func eddsa(priv ed25519.PrivateKey) func([]byte) []byte {
	return func(input []byte) []byte { return ed25519.Sign(priv, input) }
}

// rs256 signs with crypto/rsa directly, independently of go-jose.
func rs256(t testing.TB, priv *rsa.PrivateKey) func([]byte) []byte {
	return func(input []byte) []byte {
		sum := sha256.Sum256(input)
		sig, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatalf("SignPKCS1v15: %v", err)
		}
		return sig
	}
}
