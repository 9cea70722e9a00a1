package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"math/big"
)

// JWKS is a JSON Web Key Set (RFC 7517 §5), as served at
// {issuer}/.well-known/jwks.json.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWK is one public key. An RSA key has Cognito's members in Cognito's
// order (kid, alg, kty, e, n, use); an EC key has kty "EC", crv "P-256",
// x and y (RFC 7518 §6.2.1); an Ed25519 key has kty "OKP", crv "Ed25519"
// and x (RFC 8037 §2). Members a key type does not use are left out.
type JWK struct {
	KID string `json:"kid"`
	Alg string `json:"alg"`
	Kty string `json:"kty"`
	E   string `json:"e,omitempty"`
	N   string `json:"n,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	Use string `json:"use"`
}

// publicJWK builds the JWK from the public half only, so private parts
// cannot leak into the set by construction.
func publicJWK(kid, alg string, pub crypto.PublicKey) (JWK, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	k := JWK{KID: kid, Alg: alg, Use: "sig"}
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		k.Kty = "RSA"
		k.E = b64(big.NewInt(int64(pub.E)).Bytes())
		k.N = b64(pub.N.Bytes())
	case *ecdsa.PublicKey:
		// The uncompressed point 0x04 || X || Y, each coordinate full
		// length (32 bytes on P-256), as RFC 7518 §6.2.1.2 requires.
		point, err := pub.Bytes()
		if err != nil || len(point) != 65 {
			return JWK{}, fmt.Errorf("token: key %q: encoding EC public key: not a P-256 point", kid)
		}
		k.Kty, k.Crv = "EC", "P-256"
		k.X, k.Y = b64(point[1:33]), b64(point[33:])
	case ed25519.PublicKey:
		k.Kty, k.Crv = "OKP", "Ed25519"
		k.X = b64(pub)
	default:
		return JWK{}, fmt.Errorf("token: key %q: public key is %T", kid, pub)
	}
	return k, nil
}
