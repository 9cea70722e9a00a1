package token

import (
	"crypto/rsa"
	"encoding/base64"
	"math/big"
)

// JWKS is a JSON Web Key Set (RFC 7517 §5), as served at
// {issuer}/.well-known/jwks.json.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWK is one public RSA key, with Cognito's members in Cognito's order.
type JWK struct {
	KID string `json:"kid"`
	Alg string `json:"alg"`
	Kty string `json:"kty"`
	E   string `json:"e"`
	N   string `json:"n"`
	Use string `json:"use"`
}

// publicJWK builds the JWK from the public half only, so private parts
// cannot leak into the set by construction.
func publicJWK(kid string, pub *rsa.PublicKey) JWK {
	return JWK{
		KID: kid,
		Alg: Algorithm,
		Kty: "RSA",
		E:   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		N:   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		Use: "sig",
	}
}
