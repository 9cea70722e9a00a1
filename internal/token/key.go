// Package token mints and checks a pool's JWTs (Cognito-shaped ID and access
// tokens) and publishes the pool's public keys as a JWK Set.
//
// Each signing key has one algorithm, fixed when the key is made: RS256
// (RSA-2048, the default: what Cognito clients and verifiers such as
// aws-jwt-verify expect), ES256 (ECDSA on P-256) or EdDSA (Ed25519, RFC
// 8037). A pool's set may mix them, so a pool that changes algorithm keeps
// verifying its earlier tokens for as long as their key stays in the set.
//
// Verification follows RFC 8725: the allow-list of algorithms is per key (a
// token's alg must be exactly the algorithm of the key its kid names, so no
// none, no HMAC, no RS256 header on an EC key), an allow-list of header
// parameters (no jku, x5u, jwk or crit), keys chosen only from this pool's
// set, and canonical base64url.
package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/latchkey/latchkey/internal/pool"
)

// The JWS algorithms this package signs and accepts, as they appear in a
// token's "alg" header and a JWK's "alg" member.
const (
	// RS256 is RSASSA-PKCS1-v1_5 with SHA-256 over an RSA-2048 key.
	RS256 = "RS256"
	// ES256 is ECDSA over P-256 with SHA-256 (RFC 7518 §3.4).
	ES256 = "ES256"
	// EdDSA is Ed25519 (RFC 8037 §3.1).
	EdDSA = "EdDSA"
	// DefaultAlgorithm is what a pool signs with unless it chooses otherwise.
	DefaultAlgorithm = RS256
)

const (
	// keyBits is the RSA modulus size of new keys and the minimum accepted.
	keyBits = 2048
	// pemType is the PEM block type of a PKCS#8 private key.
	pemType = "PRIVATE KEY"
)

// Algorithms returns every supported algorithm, the default first.
func Algorithms() []string { return []string{RS256, ES256, EdDSA} }

// joseAlgorithm maps an algorithm to go-jose's name for it; ok is false for
// anything this package does not support.
func joseAlgorithm(alg string) (jose.SignatureAlgorithm, bool) {
	switch alg {
	case RS256:
		return jose.RS256, true
	case ES256:
		return jose.ES256, true
	case EdDSA:
		return jose.EdDSA, true
	}
	return "", false
}

// NewSigningKey makes a signing key of algorithm alg (RS256, ES256 or
// EdDSA) for a pool. random is the entropy source (crypto/rand.Reader when
// nil); note that since Go 1.26 crypto/rsa, crypto/ecdsa and crypto/ed25519
// ignore it and always use the system's secure source unless
// GODEBUG=cryptocustomrand=1 is set.
func NewSigningKey(random io.Reader, poolID, alg string, now time.Time) (pool.SigningKey, error) {
	if random == nil {
		random = rand.Reader
	}
	var priv crypto.Signer
	var err error
	switch alg {
	case RS256:
		priv, err = rsa.GenerateKey(random, keyBits)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), random)
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(random)
	default:
		return pool.SigningKey{}, fmt.Errorf("token: signing algorithm %q is not one of %s", alg, strings.Join(Algorithms(), ", "))
	}
	if err != nil {
		return pool.SigningKey{}, fmt.Errorf("token: generating %s key: %w", alg, err)
	}
	kid, err := keyID(priv.Public())
	if err != nil {
		return pool.SigningKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return pool.SigningKey{}, fmt.Errorf("token: encoding private key: %w", err)
	}
	return pool.SigningKey{
		PoolID:        poolID,
		KID:           kid,
		Algorithm:     alg,
		PrivateKeyPEM: pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der}),
		CreatedAt:     now,
	}, nil
}

// keyID derives a kid from the public key alone, so the same key always has
// the same id and ids do not collide in practice: base64url of the first 16
// bytes of the SHA-256 of the PKIX DER.
func keyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("token: encoding public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:16]), nil
}

// parsePrivateKey reads a PKCS#8 PEM key and checks that it is a key of the
// algorithm k.Algorithm names: an RSA key of at least 2048 bits for RS256,
// a P-256 key for ES256, an Ed25519 key for EdDSA. Errors name the kid,
// never the key material.
func parsePrivateKey(k pool.SigningKey) (crypto.Signer, error) {
	block, _ := pem.Decode(k.PrivateKeyPEM)
	if block == nil || block.Type != pemType {
		return nil, fmt.Errorf("token: key %q: private key is not a PKCS#8 %q PEM block", k.KID, pemType)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("token: key %q: parsing private key: %w", k.KID, err)
	}
	switch priv := parsed.(type) {
	case *rsa.PrivateKey:
		if k.Algorithm != RS256 {
			break
		}
		if bits := priv.N.BitLen(); bits < keyBits {
			return nil, fmt.Errorf("token: key %q: RSA key has %d bits, want at least %d", k.KID, bits, keyBits)
		}
		return priv, nil
	case *ecdsa.PrivateKey:
		if k.Algorithm != ES256 {
			break
		}
		if priv.Curve != elliptic.P256() {
			return nil, fmt.Errorf("token: key %q: EC key is on %s, want P-256", k.KID, priv.Curve.Params().Name)
		}
		return priv, nil
	case ed25519.PrivateKey:
		if k.Algorithm != EdDSA {
			break
		}
		return priv, nil
	}
	return nil, fmt.Errorf("token: key %q: private key is %T, not a key for %s", k.KID, parsed, k.Algorithm)
}
