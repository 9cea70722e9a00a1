// Package token mints and checks a pool's JWTs (Cognito-shaped ID and access
// tokens) and publishes the pool's public keys as a JWK Set.
//
// Only RS256 is issued and accepted: it is what Cognito clients and verifiers
// such as aws-jwt-verify expect. Verification follows RFC 8725: an allow-list
// of one algorithm, an allow-list of header parameters (no jku, x5u, jwk or
// crit), keys chosen only from this pool's set, and canonical base64url.
package token

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
)

const (
	// Algorithm is the only JWS algorithm this package signs or accepts.
	Algorithm = "RS256"
	// keyBits is the RSA modulus size of new keys and the minimum accepted.
	keyBits = 2048
	// pemType is the PEM block type of a PKCS#8 private key.
	pemType = "PRIVATE KEY"
)

// NewSigningKey makes an RSA-2048 signing key for a pool. random is the
// entropy source (crypto/rand.Reader when nil); note that since Go 1.26
// crypto/rsa ignores it and always uses the system's secure source unless
// GODEBUG=cryptocustomrand=1 is set.
func NewSigningKey(random io.Reader, poolID string, now time.Time) (pool.SigningKey, error) {
	if random == nil {
		random = rand.Reader
	}
	priv, err := rsa.GenerateKey(random, keyBits)
	if err != nil {
		return pool.SigningKey{}, fmt.Errorf("token: generating RSA key: %w", err)
	}
	kid, err := keyID(&priv.PublicKey)
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
		Algorithm:     Algorithm,
		PrivateKeyPEM: pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der}),
		CreatedAt:     now,
	}, nil
}

// keyID derives a kid from the public key alone, so the same key always has
// the same id and ids do not collide in practice: base64url of the first 16
// bytes of the SHA-256 of the PKIX DER.
func keyID(pub *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("token: encoding public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:16]), nil
}

// parsePrivateKey reads a PKCS#8 PEM RSA key. Errors name the kid, never
// the key material.
func parsePrivateKey(k pool.SigningKey) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(k.PrivateKeyPEM)
	if block == nil || block.Type != pemType {
		return nil, fmt.Errorf("token: key %q: private key is not a PKCS#8 %q PEM block", k.KID, pemType)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("token: key %q: parsing private key: %w", k.KID, err)
	}
	priv, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("token: key %q: private key is %T, want RSA", k.KID, parsed)
	}
	if bits := priv.N.BitLen(); bits < keyBits {
		return nil, fmt.Errorf("token: key %q: RSA key has %d bits, want at least %d", k.KID, bits, keyBits)
	}
	return priv, nil
}
