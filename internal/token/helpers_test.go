package token

import (
	"crypto"
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

// generatedKeys makes a few keys once per test binary: RSA key generation is
// slow, more so under -race.
var generatedKeys = sync.OnceValues(func() ([]pool.SigningKey, error) {
	keys := make([]pool.SigningKey, 4)
	for i := range keys {
		k, err := NewSigningKey(rand.Reader, testPool, testNow.Add(-time.Duration(len(keys)-i)*time.Hour))
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	return keys, nil
})

// testKeys returns n distinct keys, oldest first, each a fresh copy.
func testKeys(t testing.TB, n int) []pool.SigningKey {
	t.Helper()
	keys, err := generatedKeys()
	if err != nil {
		t.Fatalf("generating keys: %v", err)
	}
	if n > len(keys) {
		t.Fatalf("testKeys: want %d keys, have %d", n, len(keys))
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

func privateKey(t testing.TB, k pool.SigningKey) *rsa.PrivateKey {
	t.Helper()
	priv, err := parsePrivateKey(k)
	if err != nil {
		t.Fatalf("parsePrivateKey: %v", err)
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
