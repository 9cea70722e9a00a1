package token

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
)

// TestJWKSShape checks each algorithm's JWK on the wire: its members in
// order, its kty and crv, and that it is the key's public half.
func TestJWKSShape(t *testing.T) {
	tests := []struct {
		alg, kty, crv string
		members       []string // in wire order
	}{
		{RS256, "RSA", "", []string{"kid", "alg", "kty", "e", "n", "use"}}, // Cognito's order
		{ES256, "EC", "P-256", []string{"kid", "alg", "kty", "crv", "x", "y", "use"}},
		{EdDSA, "OKP", "Ed25519", []string{"kid", "alg", "kty", "crv", "x", "use"}},
	}
	for _, tt := range tests {
		t.Run(tt.alg, func(t *testing.T) {
			key := testKeysOf(t, tt.alg, 1)[0]
			iss := newTestIssuer(t, key)
			raw, err := json.Marshal(iss.JWKS())
			if err != nil {
				t.Fatal(err)
			}
			var wire struct{ Keys []json.RawMessage }
			if err := json.Unmarshal(raw, &wire); err != nil || len(wire.Keys) != 1 {
				t.Fatalf("JWKS %s: %v", raw, err)
			}
			if got := memberOrder(t, wire.Keys[0]); !slices.Equal(got, tt.members) {
				t.Errorf("members = %v, want %v", got, tt.members)
			}
			var m map[string]string
			if err := json.Unmarshal(wire.Keys[0], &m); err != nil {
				t.Fatal(err)
			}
			if m["kid"] != key.KID || m["alg"] != tt.alg || m["kty"] != tt.kty || m["use"] != "sig" || m["crv"] != tt.crv {
				t.Errorf("JWK = %v", m)
			}
			// Full-length coordinates: 32 bytes each for P-256 and Ed25519.
			for _, c := range []string{"x", "y"} {
				if v, ok := m[c]; ok && len(v) != 43 {
					t.Errorf("%s has %d base64url characters, want 43 (32 bytes)", c, len(v))
				}
			}
			jwk := iss.JWKS().Keys[0]
			if pub := jwkPublicKey(t, jwk); !pub.Equal(privateKey(t, key).Public()) {
				t.Errorf("JWK is not the public key of %q", key.KID)
			}
			// No private part: not the RSA exponent or primes, the EC scalar
			// or the Ed25519 seed.
			var secrets [][]byte
			switch priv := privateKey(t, key).(type) {
			case *rsa.PrivateKey:
				secrets = append(secrets, priv.D.Bytes(), priv.Primes[0].Bytes(), priv.Primes[1].Bytes())
			case *ecdsa.PrivateKey:
				d, err := priv.Bytes()
				if err != nil {
					t.Fatal(err)
				}
				secrets = append(secrets, d)
			case ed25519.PrivateKey:
				secrets = append(secrets, priv.Seed())
			}
			for _, secret := range secrets {
				if bytes.Contains(raw, []byte(b64(secret))) {
					t.Fatal("JWKS contains a private part of the key")
				}
			}
			// The kid is derived from the public key alone.
			if kid, err := keyID(privateKey(t, key).Public()); err != nil || kid != key.KID {
				t.Errorf("keyID = %q, %v; want %q", kid, err, key.KID)
			}
		})
	}
}

// memberOrder returns the member names of a JSON object in document order.
func memberOrder(t *testing.T, obj []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", obj)
	}
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return names
}

// TestMixedKeySet: a pool that moved from RS256 to ES256 to EdDSA signs
// with its newest key and verifies tokens of every key still in its set,
// each through its own algorithm, and publishes each key with its own kty.
func TestMixedKeySet(t *testing.T) {
	rs := testKeysOf(t, RS256, 1)[0]
	ec := testKeysOf(t, ES256, 1)[0]
	ed := testKeysOf(t, EdDSA, 1)[0]
	rs.CreatedAt = testNow.Add(-3 * time.Hour)
	ec.CreatedAt = testNow.Add(-2 * time.Hour)
	ed.CreatedAt = testNow.Add(-1 * time.Hour)

	// Tokens each stage of the pool signed.
	var old []string
	for _, set := range [][]pool.SigningKey{{rs}, {rs, ec}} {
		tok, err := newTestIssuer(t, set...).Sign(validClaims())
		if err != nil {
			t.Fatal(err)
		}
		old = append(old, tok)
	}
	if h := headerAlg(t, old[0]); h != RS256 {
		t.Fatalf("first token alg = %s", h)
	}
	if h := headerAlg(t, old[1]); h != ES256 {
		t.Fatalf("second token alg = %s, want the newer key's ES256", h)
	}

	iss := newTestIssuer(t, ec, rs, ed) // input order must not matter
	if iss.SigningKeyID() != ed.KID || iss.SigningAlgorithm() != EdDSA {
		t.Fatalf("signs with %q (%s), want the newest key %q (EdDSA)", iss.SigningKeyID(), iss.SigningAlgorithm(), ed.KID)
	}
	if got, want := iss.Algorithms(), []string{EdDSA, ES256, RS256}; !slices.Equal(got, want) {
		t.Errorf("Algorithms() = %v, want %v", got, want)
	}
	tok, err := iss.Sign(validClaims())
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range append(old, tok) {
		if _, err := iss.Verify(tk, testNow, "access"); err != nil {
			t.Errorf("%s token: %v", headerAlg(t, tk), err)
		}
		if err := verifyWithJWKS(iss.JWKS(), tk); err != nil {
			t.Errorf("%s token through the JWKS alone: %v", headerAlg(t, tk), err)
		}
	}
	var ktys []string
	for _, k := range iss.JWKS().Keys {
		ktys = append(ktys, k.Alg+"/"+k.Kty)
	}
	if want := []string{"EdDSA/OKP", "ES256/EC", "RS256/RSA"}; !slices.Equal(ktys, want) {
		t.Errorf("JWKS = %v, want %v (newest first)", ktys, want)
	}

	// The newest key retired: the newest active one signs again, and the
	// retired key's tokens still verify.
	retired := testNow
	ed.RetiredAt = &retired
	back := newTestIssuer(t, rs, ec, ed)
	if back.SigningAlgorithm() != ES256 || back.SigningKeyID() != ec.KID {
		t.Errorf("with the EdDSA key retired, signs with %q (%s)", back.SigningKeyID(), back.SigningAlgorithm())
	}
	if got := back.Algorithms(); !slices.Equal(got, []string{ES256, EdDSA, RS256}) {
		t.Errorf("Algorithms() = %v, want the signing key's first", got)
	}
	if _, err := back.Verify(tok, testNow, "access"); err != nil {
		t.Errorf("token of the retired EdDSA key: %v", err)
	}

	// Once the old key is dropped from the set, its tokens stop verifying.
	if _, err := newTestIssuer(t, ec, ed).Verify(old[0], testNow, "access"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("RS256 token after its key is gone: %v, want ErrUnknownKey", err)
	}
}

// TestAlgorithmConfusion: the allow-list is per key. A token whose alg is
// not exactly the algorithm of the key its kid names is refused before any
// signature check, whatever signed it, and even when the pool holds a key
// of the claimed algorithm.
func TestAlgorithmConfusion(t *testing.T) {
	keys := map[string]pool.SigningKey{}
	var set []pool.SigningKey
	for i, alg := range Algorithms() {
		k := testKeysOf(t, alg, 1)[0]
		k.CreatedAt = testNow.Add(-time.Duration(i+1) * time.Hour)
		keys[alg] = k
		set = append(set, k)
	}
	iss := newTestIssuer(t, set...)
	hmacWith := func(key []byte) func([]byte) []byte {
		return func(input []byte) []byte {
			m := hmac.New(sha256.New, key)
			m.Write(input)
			return m.Sum(nil)
		}
	}

	for _, keyAlg := range Algorithms() {
		key := keys[keyAlg]
		pubDER, err := x509.MarshalPKIXPublicKey(privateKey(t, key).Public())
		if err != nil {
			t.Fatal(err)
		}
		jwk := jwkFor(t, key)
		// Every way to sign a token that names this key.
		signers := map[string]func([]byte) []byte{
			"its own key":                       signWith(t, key),
			"HMAC keyed with its public DER":    hmacWith(pubDER),
			"HMAC keyed with its JWK x or n":    hmacWith([]byte(jwk.X + jwk.N)),
			"no signature":                      func([]byte) []byte { return nil },
			"another algorithm's key, " + RS256: signWith(t, keys[RS256]),
			"another algorithm's key, " + ES256: signWith(t, keys[ES256]),
			"another algorithm's key, " + EdDSA: signWith(t, keys[EdDSA]),
		}
		for _, headerAlg := range append(Algorithms(), "none", "HS256", "RS512", "PS256", "ES384", "ES256K", "Ed25519", "Ed448") {
			if headerAlg == keyAlg {
				continue
			}
			for how, sign := range signers {
				name := headerAlg + " header on " + keyAlg + " key, signed with " + how
				tok := craft(t, map[string]string{"alg": headerAlg, "kid": key.KID, "typ": "JWT"}, validClaims(), sign)
				if _, err := iss.Verify(tok, testNow, "access"); !errors.Is(err, ErrUnsupported) {
					t.Errorf("%s: %v, want ErrUnsupported", name, err)
				}
			}
		}
		// Control: the right header on the same key is accepted.
		tok := craft(t, map[string]string{"alg": keyAlg, "kid": key.KID, "typ": "JWT"}, validClaims(), signWith(t, key))
		if _, err := iss.Verify(tok, testNow, "access"); err != nil {
			t.Errorf("control %s: %v", keyAlg, err)
		}
	}
}

// TestVerifyRejectsCurveSignatures: the signature encodings ES256 and
// EdDSA tokens must have.
func TestVerifyRejectsCurveSignatures(t *testing.T) {
	for _, alg := range []string{ES256, EdDSA} {
		t.Run(alg, func(t *testing.T) {
			keys := testKeysOf(t, alg, 2)
			ours, stranger := keys[0], keys[1]
			iss := newTestIssuer(t, ours)
			hdr := map[string]string{"alg": alg, "kid": ours.KID, "typ": "JWT"}
			good := craft(t, hdr, validClaims(), signWith(t, ours))
			if _, err := iss.Verify(good, testNow, "access"); err != nil {
				t.Fatalf("control: %v", err)
			}
			parts := strings.Split(good, ".")
			sig := mustB64(t, parts[2])
			flipped := bytes.Clone(sig)
			flipped[5] ^= 1
			input := []byte(parts[0] + "." + parts[1])
			tests := map[string]string{
				"stranger's signature": craft(t, hdr, validClaims(), signWith(t, stranger)),
				"flipped bit":          parts[0] + "." + parts[1] + "." + b64(flipped),
				"truncated":            parts[0] + "." + parts[1] + "." + b64(sig[:63]),
				"one byte long":        parts[0] + "." + parts[1] + "." + b64(append(bytes.Clone(sig), 0)),
				"doubled":              parts[0] + "." + parts[1] + "." + b64(append(bytes.Clone(sig), sig...)),
				"empty":                parts[0] + "." + parts[1] + ".",
				"zeros":                parts[0] + "." + parts[1] + "." + b64(make([]byte, 64)),
				"tampered payload":     parts[0] + "." + jsonSegment(t, Claims{"iss": testIssuer, "exp": testNow.Add(time.Hour).Unix(), "token_use": "access", "sub": "x"}) + "." + parts[2],
			}
			if alg == ES256 {
				// ASN.1 DER, what crypto/ecdsa and OpenSSL produce, is not the
				// JWS form (RFC 7518 §3.4 wants r || s).
				priv := privateKey(t, ours).(*ecdsa.PrivateKey)
				sum := sha256.Sum256(input)
				der, err := ecdsa.SignASN1(rand.Reader, priv, sum[:])
				if err != nil {
					t.Fatal(err)
				}
				tests["ASN.1 DER signature"] = parts[0] + "." + parts[1] + "." + b64(der)
			}
			for name, tok := range tests {
				if _, err := iss.Verify(tok, testNow, "access"); !errors.Is(err, ErrSignature) {
					t.Errorf("%s: %v, want ErrSignature", name, err)
				}
			}
		})
	}
}

// TestPendingAfter: a key newer than the cutoff is published and verifies
// but does not sign while an older key can.
func TestPendingAfter(t *testing.T) {
	old := testKeysOf(t, RS256, 1)[0]
	older := testKeysOf(t, ES256, 1)[0]
	fresh := testKeysOf(t, EdDSA, 1)[0]
	older.CreatedAt = testNow.Add(-2 * time.Hour)
	old.CreatedAt = testNow.Add(-time.Hour)
	fresh.CreatedAt = testNow.Add(-time.Minute)
	cutoff := testNow.Add(-5 * time.Minute)

	iss, err := NewIssuer(testIssuer, []pool.SigningKey{older, old, fresh}, PendingAfter(cutoff))
	if err != nil {
		t.Fatal(err)
	}
	if iss.SigningKeyID() != old.KID {
		t.Errorf("signs with %s, want the newest key made before the cutoff (RS256)", iss.SigningAlgorithm())
	}
	if len(iss.JWKS().Keys) != 3 || iss.JWKS().Keys[0].KID != fresh.KID {
		t.Errorf("JWKS does not publish the pending key first")
	}
	if got := iss.Algorithms(); !slices.Equal(got, []string{RS256, EdDSA, ES256}) {
		t.Errorf("Algorithms() = %v", got)
	}
	pendingTok := craft(t, map[string]string{"alg": EdDSA, "kid": fresh.KID}, validClaims(), signWith(t, fresh))
	if _, err := iss.Verify(pendingTok, testNow, "access"); err != nil {
		t.Errorf("token of the pending key: %v", err)
	}

	// Once the cutoff passes the key, it signs.
	later, err := NewIssuer(testIssuer, []pool.SigningKey{older, old, fresh}, PendingAfter(fresh.CreatedAt))
	if err != nil {
		t.Fatal(err)
	}
	if later.SigningKeyID() != fresh.KID {
		t.Errorf("at the cutoff, signs with %s, want EdDSA", later.SigningAlgorithm())
	}

	// Retired keys never sign; when every unretired key is pending, the
	// oldest of them (published longest) signs.
	retired := testNow
	old.RetiredAt = &retired
	older.CreatedAt = testNow.Add(-2 * time.Minute)
	allPending, err := NewIssuer(testIssuer, []pool.SigningKey{fresh, older, old}, PendingAfter(cutoff))
	if err != nil {
		t.Fatal(err)
	}
	if allPending.SigningKeyID() != older.KID {
		t.Errorf("all pending: signs with %s, want the oldest unretired key (ES256)", allPending.SigningAlgorithm())
	}
	// A new pool's only key signs at once.
	single, err := NewIssuer(testIssuer, []pool.SigningKey{fresh}, PendingAfter(cutoff))
	if err != nil || single.SigningKeyID() != fresh.KID {
		t.Errorf("single pending key: %v", err)
	}
}

// TestNewIssuerKeyTypes: a key must be of the type its algorithm names.
func TestNewIssuerKeyTypes(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384DER, _ := x509.MarshalPKCS8PrivateKey(p384)
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	pemOf := func(k pool.SigningKey) []byte { return k.PrivateKeyPEM }
	rsaPEM := pemOf(testKeysOf(t, RS256, 1)[0])
	ecPEM := pemOf(testKeysOf(t, ES256, 1)[0])
	edPEM := pemOf(testKeysOf(t, EdDSA, 1)[0])
	edDER, _ := x509.MarshalPKCS8PrivateKey(edPriv)
	tests := []struct {
		name, alg string
		pem       []byte
	}{
		{"RSA key labelled ES256", ES256, rsaPEM},
		{"RSA key labelled EdDSA", EdDSA, rsaPEM},
		{"EC key labelled RS256", RS256, ecPEM},
		{"EC key labelled EdDSA", EdDSA, ecPEM},
		{"Ed25519 key labelled RS256", RS256, edPEM},
		{"Ed25519 key labelled ES256", ES256, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: edDER})},
		{"P-384 key labelled ES256", ES256, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p384DER})},
		{"lower-case algorithm", "es256", ecPEM},
		{"fully-specified Ed25519", "Ed25519", edPEM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := pool.SigningKey{PoolID: testPool, KID: "k1", Algorithm: tt.alg, PrivateKeyPEM: tt.pem, CreatedAt: testNow}
			_, err := NewIssuer(testIssuer, []pool.SigningKey{k})
			if err == nil {
				t.Fatal("NewIssuer succeeded")
			}
			if strings.Contains(err.Error(), "PRIVATE KEY-----") {
				t.Errorf("error shows key material: %v", err)
			}
		})
	}
}

func headerAlg(t *testing.T, tok string) string {
	t.Helper()
	var h struct{ Alg string }
	mustDecodeJSON(t, strings.Split(tok, ".")[0], &h)
	return h.Alg
}
