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
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// signingKey is a throwaway private key of the kind a pool signs with.
type signingKey struct {
	alg  jose.SignatureAlgorithm
	key  crypto.Signer
	desc string // e.g. "RSA 2048-bit"
}

// poolKey picks the pool's signing key from its JWKS: the one named kid if
// given, else the first signing key.
func poolKey(jwks []byte, kid string) (jose.JSONWebKey, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("read JWKS: %w", err)
	}
	for _, k := range set.Keys {
		if kid != "" && k.KeyID == kid {
			return k, nil
		}
	}
	for _, k := range set.Keys {
		if k.Use == "" || k.Use == "sig" {
			return k, nil
		}
	}
	return jose.JSONWebKey{}, errors.New("the JWKS has no signing key")
}

// newSigningKey generates a key of k's algorithm and size: RSA of the same
// modulus size for RS256, P-256 for ES256, Ed25519 for EdDSA. A key that
// names no alg is taken by its type.
func newSigningKey(k jose.JSONWebKey) (signingKey, error) {
	alg := jose.SignatureAlgorithm(k.Algorithm)
	if alg == "" {
		switch pub := k.Key.(type) {
		case *rsa.PublicKey:
			alg = jose.RS256
		case *ecdsa.PublicKey:
			if pub.Curve == elliptic.P256() {
				alg = jose.ES256
			}
		case ed25519.PublicKey:
			alg = jose.EdDSA
		}
	}
	switch alg {
	case jose.RS256:
		bits := 2048
		if pub, ok := k.Key.(*rsa.PublicKey); ok && pub.N.BitLen() >= 2048 {
			bits = pub.N.BitLen()
		}
		priv, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			return signingKey{}, err
		}
		return signingKey{alg, priv, fmt.Sprintf("RSA %d-bit", bits)}, nil
	case jose.ES256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return signingKey{}, err
		}
		return signingKey{alg, priv, "ECDSA P-256"}, nil
	case jose.EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return signingKey{}, err
		}
		return signingKey{alg, priv, "Ed25519"}, nil
	}
	return signingKey{}, fmt.Errorf("the pool signs with %q; the load generator knows RS256, ES256 and EdDSA", alg)
}

// tokenClaims are the claims of a Cognito ID token for a phone-number
// user, so the payload signed is as long as a real one.
func tokenClaims(issuer, clientID, username string, now time.Time) map[string]any {
	return map[string]any{
		"sub":                   "6f1c3a52-1d0e-4b7a-9c35-2f6e8d4b7a10",
		"phone_number_verified": true,
		"iss":                   issuer,
		"cognito:username":      username,
		"origin_jti":            "0b6a2d1e-7c4f-4e58-8a93-5d2c1f0e6b47",
		"aud":                   clientID,
		"event_id":              "c2e4f6a8-3b5d-4c7e-9f1a-2b4c6d8e0f13",
		"token_use":             "id",
		"auth_time":             now.Unix(),
		"phone_number":          username,
		"exp":                   now.Add(time.Hour).Unix(),
		"iat":                   now.Unix(),
		"jti":                   "00000000-0000-4000-8000-000000000000",
	}
}

// signingRun is a measurement of signing throughput.
type signingRun struct {
	goroutines int
	count      int64
	elapsed    time.Duration
	cpu        time.Duration // this process's CPU time over the run; 0 if unknown
}

// measureSigning signs tokens with claims on GOMAXPROCS goroutines for d,
// as the server does (encode the claims, sign, serialise compactly), and
// counts them. cpu, if not nil, reads this process's CPU time.
func measureSigning(ctx context.Context, key signingKey, claims map[string]any, d time.Duration, cpu func() (time.Duration, error)) (signingRun, error) {
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: key.alg, Key: jose.JSONWebKey{Key: key.key, KeyID: "loadgen"}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return signingRun{}, err
	}
	run := signingRun{goroutines: runtime.GOMAXPROCS(0)}
	var count atomic.Int64
	var failed atomic.Value
	stop := make(chan struct{})
	var cpu0 time.Duration
	if cpu != nil {
		cpu0, _ = cpu()
	}
	start := time.Now()
	var wg sync.WaitGroup
	for g := range run.goroutines {
		// Each goroutine has its own claims: only the jti changes.
		mine := make(map[string]any, len(claims))
		for k, v := range claims {
			mine[k] = v
		}
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				mine["jti"] = fmt.Sprintf("%08x-0000-4000-8000-%012x", g, i) // a UUID's length
				if err := signOnce(signer, mine); err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
				count.Add(1)
			}
		})
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	close(stop)
	wg.Wait()
	run.elapsed = time.Since(start)
	run.count = count.Load()
	if cpu != nil {
		if cpu1, err := cpu(); err == nil && cpu0 > 0 {
			run.cpu = cpu1 - cpu0
		}
	}
	if err, _ := failed.Load().(error); err != nil {
		return run, fmt.Errorf("sign: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return run, err
	}
	if run.count == 0 {
		return run, errors.New("no token was signed")
	}
	return run, nil
}

func signOnce(signer jose.Signer, claims map[string]any) error {
	payload, err := json.Marshal(claims)
	if err != nil {
		return err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return err
	}
	_, err = jws.CompactSerialize()
	return err
}

// perSignature is the CPU time of one signature: measured when the
// process's CPU time is known, else all goroutines' wall time.
func (r signingRun) perSignature() time.Duration {
	if r.count == 0 {
		return 0
	}
	total := r.cpu
	if total <= 0 {
		total = r.elapsed * time.Duration(r.goroutines)
	}
	return total / time.Duration(r.count)
}

func (r signingRun) perSecond() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.count) / r.elapsed.Seconds()
}

// tokenIssuer reads an ID token's header kid and its iss claim, and the
// pool ID that ends the issuer URL. The token is not verified: it only
// tells which pool and key to look at.
func tokenIssuer(token string) (poolID, issuer, kid string, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", "", "", errors.New("the ID token is not a compact JWS")
	}
	var header struct {
		Kid string `json:"kid"`
	}
	var claims struct {
		Iss string `json:"iss"`
	}
	for i, v := range []any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return "", "", "", fmt.Errorf("the ID token's part %d: %w", i+1, err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			return "", "", "", fmt.Errorf("the ID token's part %d: %w", i+1, err)
		}
	}
	u, err := url.Parse(claims.Iss)
	if err != nil || claims.Iss == "" {
		return "", "", "", fmt.Errorf("the ID token's iss %q is not a URL", claims.Iss)
	}
	path := strings.TrimRight(u.Path, "/")
	poolID = path[strings.LastIndexByte(path, '/')+1:]
	if poolID == "" {
		return "", "", "", fmt.Errorf("the ID token's iss %q names no pool", claims.Iss)
	}
	return poolID, claims.Iss, header.Kid, nil
}
