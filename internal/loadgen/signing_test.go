package loadgen

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// jwks is a key set of the public halves of keys, each with its alg (""
// leaves alg out) and kid.
func jwks(t *testing.T, keys ...jose.JSONWebKey) []byte {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSigningKeyFromJWKS(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		name     string
		set      []jose.JSONWebKey
		kid      string
		wantAlg  jose.SignatureAlgorithm
		wantDesc string
		wantErr  string
	}{
		{"RS256 as Latchkey serves it", []jose.JSONWebKey{{Key: &rsaKey.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}, "", jose.RS256, "RSA 2048-bit", ""},
		{"RSA without alg", []jose.JSONWebKey{{Key: &rsaKey.PublicKey, KeyID: "k1"}}, "", jose.RS256, "RSA 2048-bit", ""},
		{"ES256", []jose.JSONWebKey{{Key: &ecKey.PublicKey, KeyID: "e", Algorithm: "ES256", Use: "sig"}}, "", jose.ES256, "ECDSA P-256", ""},
		{"EC P-256 without alg", []jose.JSONWebKey{{Key: &ecKey.PublicKey, KeyID: "e"}}, "", jose.ES256, "ECDSA P-256", ""},
		{"EdDSA", []jose.JSONWebKey{{Key: edPub, KeyID: "d", Algorithm: "EdDSA", Use: "sig"}}, "", jose.EdDSA, "Ed25519", ""},
		{"the token's kid wins", []jose.JSONWebKey{
			{Key: &rsaKey.PublicKey, KeyID: "old", Algorithm: "RS256", Use: "sig"},
			{Key: edPub, KeyID: "new", Algorithm: "EdDSA", Use: "sig"},
		}, "new", jose.EdDSA, "Ed25519", ""},
		{"encryption keys are passed over", []jose.JSONWebKey{
			{Key: &rsaKey.PublicKey, KeyID: "enc", Algorithm: "RSA-OAEP", Use: "enc"},
			{Key: &ecKey.PublicKey, KeyID: "e", Algorithm: "ES256", Use: "sig"},
		}, "", jose.ES256, "ECDSA P-256", ""},
		{"unknown alg", []jose.JSONWebKey{{Key: &rsaKey.PublicKey, KeyID: "p", Algorithm: "PS512"}}, "", "", "", `signs with "PS512"`},
		{"empty set", nil, "", "", "", "no signing key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := poolKey(jwks(t, tt.set...), tt.kid)
			var key signingKey
			if err == nil {
				key, err = newSigningKey(k)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if key.alg != tt.wantAlg || key.desc != tt.wantDesc {
				t.Errorf("key = %s %s, want %s %s", key.alg, key.desc, tt.wantAlg, tt.wantDesc)
			}
		})
	}
	if _, err := poolKey([]byte("not json"), ""); err == nil {
		t.Error("a JWKS that is not JSON was read")
	}
}

// TestMeasureSigning signs for a moment with each algorithm and checks the
// tokens verify and the counts add up.
func TestMeasureSigning(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	claims := tokenClaims("http://127.0.0.1:8080/local_AbCdEf123", "client", "+15550000001", time.Unix(1_800_000_000, 0))
	for _, key := range []signingKey{
		{jose.RS256, rsaKey, "RSA 2048-bit"},
		{jose.ES256, ecKey, "ECDSA P-256"},
		{jose.EdDSA, edKey, "Ed25519"},
	} {
		t.Run(string(key.alg), func(t *testing.T) {
			run, err := measureSigning(context.Background(), key, claims, 50*time.Millisecond, func() (time.Duration, error) {
				return newProcReader().cpu("self")
			})
			if err != nil {
				t.Fatal(err)
			}
			if run.count < 1 || run.goroutines < 1 || run.elapsed < 50*time.Millisecond || run.perSecond() <= 0 || run.perSignature() <= 0 {
				t.Errorf("run = %+v, per second %v, per signature %v", run, run.perSecond(), run.perSignature())
			}
			// One token as measured: it verifies, and is about as long as
			// a Cognito ID token.
			signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: key.alg, Key: key.key}, nil)
			payload, _ := json.Marshal(claims)
			jws, _ := signer.Sign(payload)
			tok, _ := jws.CompactSerialize()
			parsed, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{key.alg})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := parsed.Verify(key.key.(crypto.Signer).Public()); err != nil {
				t.Errorf("verify: %v", err)
			}
			if len(payload) < 420 {
				t.Errorf("payload is %d bytes, shorter than a Cognito ID token's", len(payload))
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := measureSigning(ctx, signingKey{jose.EdDSA, edKey, ""}, claims, time.Minute, nil); err == nil {
			t.Error("a cancelled measurement succeeded")
		}
	})
}

func TestSigningRunPerSignature(t *testing.T) {
	tests := []struct {
		run  signingRun
		want time.Duration
	}{
		{signingRun{goroutines: 2, count: 1000, elapsed: time.Second, cpu: 1900 * time.Millisecond}, 1900 * time.Microsecond},
		{signingRun{goroutines: 2, count: 1000, elapsed: time.Second}, 2 * time.Millisecond}, // CPU unknown: wall × goroutines
		{signingRun{goroutines: 2}, 0},
	}
	for _, tt := range tests {
		if got := tt.run.perSignature(); got != tt.want {
			t.Errorf("%+v: perSignature = %v, want %v", tt.run, got, tt.want)
		}
	}
}

func TestTokenIssuer(t *testing.T) {
	enc := func(v string) string { return base64.RawURLEncoding.EncodeToString([]byte(v)) }
	tok := func(header, claims string) string { return enc(header) + "." + enc(claims) + ".c2ln" }
	tests := []struct {
		name            string
		token           string
		pool, iss, kid  string
		wantErrContains string
	}{
		{"Latchkey", tok(`{"alg":"RS256","kid":"k1","typ":"JWT"}`, `{"iss":"http://127.0.0.1:8080/local_AbCdEf123","token_use":"id"}`),
			"local_AbCdEf123", "http://127.0.0.1:8080/local_AbCdEf123", "k1", ""},
		{"behind a path", tok(`{"kid":"k"}`, `{"iss":"https://auth.example.com/latchkey/us-east-1_Xy/"}`),
			"us-east-1_Xy", "https://auth.example.com/latchkey/us-east-1_Xy/", "k", ""},
		{"no pool in iss", tok(`{}`, `{"iss":"https://auth.example.com"}`), "", "", "", "names no pool"},
		{"no iss", tok(`{}`, `{}`), "", "", "", "is not a URL"},
		{"two parts", "a.b", "", "", "", "not a compact JWS"},
		{"bad base64", "!!.e30.x", "", "", "", "part 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool, iss, kid, err := tokenIssuer(tt.token)
			if tt.wantErrContains != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrContains) {
					t.Fatalf("error = %v, want %q", err, tt.wantErrContains)
				}
				return
			}
			if err != nil || pool != tt.pool || iss != tt.iss || kid != tt.kid {
				t.Errorf("tokenIssuer = %q, %q, %q, %v; want %q, %q, %q", pool, iss, kid, err, tt.pool, tt.iss, tt.kid)
			}
		})
	}
}
