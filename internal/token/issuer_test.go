package token

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
)

func TestNewSigningKey(t *testing.T) {
	for _, alg := range Algorithms() {
		t.Run(alg, func(t *testing.T) {
			keys := testKeysOf(t, alg, 2)
			for _, k := range keys {
				if k.PoolID != testPool || k.Algorithm != alg || k.RetiredAt != nil || k.CreatedAt.IsZero() {
					t.Errorf("key %q: PoolID %q, Algorithm %q, CreatedAt %v, RetiredAt %v", k.KID, k.PoolID, k.Algorithm, k.CreatedAt, k.RetiredAt)
				}
				block, rest := pem.Decode(k.PrivateKeyPEM)
				if block == nil || block.Type != "PRIVATE KEY" || len(bytes.TrimSpace(rest)) != 0 {
					t.Fatalf("PrivateKeyPEM is not one PKCS#8 PEM block")
				}
				parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
				if err != nil {
					t.Fatalf("ParsePKCS8PrivateKey: %v", err)
				}
				var pub crypto.PublicKey
				switch priv := parsed.(type) {
				case *rsa.PrivateKey:
					if alg != RS256 || priv.N.BitLen() != 2048 {
						t.Fatalf("%s key is %d-bit RSA", alg, priv.N.BitLen())
					}
					pub = priv.Public()
				case *ecdsa.PrivateKey:
					if alg != ES256 || priv.Curve != elliptic.P256() {
						t.Fatalf("%s key is ECDSA on %s", alg, priv.Curve.Params().Name)
					}
					pub = priv.Public()
				case ed25519.PrivateKey:
					if alg != EdDSA {
						t.Fatalf("%s key is Ed25519", alg)
					}
					pub = priv.Public()
				default:
					t.Fatalf("%s key is %T", alg, parsed)
				}
				der, _ := x509.MarshalPKIXPublicKey(pub)
				sum := sha256.Sum256(der)
				if want := base64.RawURLEncoding.EncodeToString(sum[:16]); k.KID != want {
					t.Errorf("KID = %q, want %q (SHA-256 of the public key)", k.KID, want)
				}
			}
			if keys[0].KID == keys[1].KID {
				t.Errorf("two keys share kid %q", keys[0].KID)
			}
		})
	}

	// Anything else is refused, by name: JOSE names are case-sensitive.
	for _, alg := range []string{"", "none", "HS256", "RS512", "PS256", "ES384", "ES256K", "Ed25519", "es256", "eddsa"} {
		if _, err := NewSigningKey(nil, testPool, alg, testNow); err == nil || !strings.Contains(err.Error(), "RS256, ES256, EdDSA") {
			t.Errorf("NewSigningKey(%q) = %v, want an error naming the allowed set", alg, err)
		}
	}
	if got := Algorithms(); !slices.Equal(got, pool.SigningAlgorithms()) || got[0] != DefaultAlgorithm || DefaultAlgorithm != pool.DefaultSigningAlgorithm {
		t.Errorf("Algorithms() = %v, pool.SigningAlgorithms() = %v: the two lists must agree, default first", got, pool.SigningAlgorithms())
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, alg := range Algorithms() {
		t.Run(alg, func(t *testing.T) { testSignVerifyRoundTrip(t, alg) })
	}
}

func testSignVerifyRoundTrip(t *testing.T, alg string) {
	key := testKeysOf(t, alg, 1)[0]
	iss := newTestIssuer(t, key)
	if iss.Issuer() != testIssuer {
		t.Fatalf("Issuer() = %q", iss.Issuer())
	}
	if iss.SigningAlgorithm() != alg || iss.SigningKeyID() != key.KID || !slices.Equal(iss.Algorithms(), []string{alg}) {
		t.Fatalf("SigningAlgorithm() = %q, SigningKeyID() = %q, Algorithms() = %v", iss.SigningAlgorithm(), iss.SigningKeyID(), iss.Algorithms())
	}

	in := validClaims()
	in["cognito:groups"] = []string{"admins", "staff"}
	in["email_verified"] = true
	tok, err := iss.Sign(in)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}

	// Header is exactly Cognito's plus typ; payload is exactly the claims.
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	var header map[string]any
	mustDecodeJSON(t, parts[0], &header)
	if want := map[string]any{"alg": alg, "kid": key.KID, "typ": "JWT"}; !reflect.DeepEqual(header, want) {
		t.Errorf("header = %v, want %v", header, want)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	wantPayload, _ := json.Marshal(in)
	if !bytes.Equal(payload, wantPayload) {
		t.Errorf("payload = %s, want %s", payload, wantPayload)
	}

	for _, use := range []string{"access", ""} {
		got, err := iss.Verify(tok, testNow, use)
		if err != nil {
			t.Fatalf("Verify(wantUse=%q): %v", use, err)
		}
		gotJSON, _ := json.Marshal(got)
		if !bytes.Equal(gotJSON, wantPayload) {
			t.Errorf("claims = %s, want %s", gotJSON, wantPayload)
		}
		if got.String("sub") != in["sub"] {
			t.Errorf("sub = %q", got.String("sub"))
		}
		if exp, ok := got.Time("exp"); !ok || !exp.Equal(testNow.Add(time.Hour)) {
			t.Errorf("exp = %v, %v", exp, ok)
		}
	}

	// A verifier with only the JWK Set and the standard library accepts it.
	if err := verifyWithJWKS(iss.JWKS(), tok); err != nil {
		t.Errorf("independent verification: %v", err)
	}
	tampered := tok[:len(tok)-2] + flipB64(tok[len(tok)-2:])
	if err := verifyWithJWKS(iss.JWKS(), tampered); err == nil {
		t.Error("independent verification accepted a tampered token")
	}
	if _, err := iss.Verify(tampered, testNow, ""); !errors.Is(err, ErrSignature) {
		t.Errorf("Verify(tampered) = %v, want ErrSignature", err)
	}
}

func TestSignRejectsBadClaims(t *testing.T) {
	iss := newTestIssuer(t, testKeys(t, 1)[0])
	if _, err := iss.Sign(nil); err == nil {
		t.Error("Sign(nil) succeeded")
	}
	if _, err := iss.Sign(Claims{"bad": func() {}}); err == nil {
		t.Error("Sign(unencodable) succeeded")
	}
}

func TestJWKS(t *testing.T) {
	keys := testKeys(t, 3)
	retired := testNow
	keys[0].RetiredAt = &retired
	iss := newTestIssuer(t, keys[1], keys[0], keys[2]) // input order must not matter
	set := iss.JWKS()

	// Newest first, retired included.
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KID)
	}
	if want := []string{keys[2].KID, keys[1].KID, keys[0].KID}; !slices.Equal(kids, want) {
		t.Fatalf("kids = %v, want %v", kids, want)
	}

	// On the wire: exactly Cognito's members, no private parts.
	raw, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	var wire struct{ Keys []map[string]string }
	if err := json.Unmarshal(raw, &wire); err != nil {
		t.Fatal(err)
	}
	for i, m := range wire.Keys {
		var names []string
		for name := range m {
			names = append(names, name)
		}
		slices.Sort(names)
		if want := []string{"alg", "e", "kid", "kty", "n", "use"}; !slices.Equal(names, want) {
			t.Errorf("key %d members = %v, want %v", i, names, want)
		}
		if m["alg"] != "RS256" || m["kty"] != "RSA" || m["use"] != "sig" || m["e"] != "AQAB" {
			t.Errorf("key %d = %v", i, m)
		}
	}
	for _, k := range keys {
		if d := rsaKey(t, k).D.Bytes(); bytes.Contains(raw, []byte(b64(d))) {
			t.Error("JWKS contains a private exponent")
		}
	}

	// Each JWK is the public half of its key, and verifies a token through
	// crypto/rsa alone (the way a third-party verifier would).
	tok, err := iss.Sign(validClaims())
	if err != nil {
		t.Fatal(err)
	}
	for i, jwk := range set.Keys {
		k := keys[len(keys)-1-i]
		if pub := jwkPublicKey(t, jwk); !pub.Equal(privateKey(t, k).Public()) {
			t.Errorf("JWK %q is not the public key of %q", jwk.KID, k.KID)
		}
	}
	if err := verifyWithJWKS(set, tok); err != nil {
		t.Errorf("independent verification: %v", err)
	}
	tampered := tok[:len(tok)-2] + flipB64(tok[len(tok)-2:])
	if err := verifyWithJWKS(set, tampered); err == nil {
		t.Error("independent verification accepted a tampered token")
	}

	// Callers may not modify the Issuer's set.
	set.Keys[0].KID = "changed"
	if iss.JWKS().Keys[0].KID == "changed" {
		t.Error("JWKS shares its slice with the Issuer")
	}
}

func TestKeyRotation(t *testing.T) {
	keys := testKeys(t, 3) // oldest first
	old, mid, newest := keys[0], keys[1], keys[2]

	// Before rotation the old key signs.
	before := newTestIssuer(t, old)
	oldTok, err := before.Sign(validClaims())
	if err != nil {
		t.Fatal(err)
	}

	// The newest active key signs; a newer retired one does not.
	retired := testNow
	newest.RetiredAt = &retired
	old.RetiredAt = &retired
	after := newTestIssuer(t, newest, old, mid)
	if after.SigningKeyID() != mid.KID {
		t.Fatalf("signing kid = %q, want the newest active %q", after.SigningKeyID(), mid.KID)
	}
	tok, err := after.Sign(validClaims())
	if err != nil {
		t.Fatal(err)
	}
	if kid := headerKID(t, tok); kid != mid.KID {
		t.Errorf("token kid = %q, want %q", kid, mid.KID)
	}

	// Retired keys still verify.
	if _, err := after.Verify(oldTok, testNow, "access"); err != nil {
		t.Errorf("token of a retired key: %v", err)
	}
	newestTok := craft(t, map[string]string{"alg": "RS256", "kid": newest.KID, "typ": "JWT"}, validClaims(), signWith(t, newest))
	if _, err := after.Verify(newestTok, testNow, "access"); err != nil {
		t.Errorf("token of a newer retired key: %v", err)
	}

	// An Issuer that no longer lists a key rejects its tokens.
	if _, err := newTestIssuer(t, mid).Verify(oldTok, testNow, "access"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("token of a dropped key: %v, want ErrUnknownKey", err)
	}
}

func TestNewIssuerErrors(t *testing.T) {
	keys := testKeys(t, 2)
	retired := testNow
	withRetired := keys[0]
	withRetired.RetiredAt = &retired

	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	rsaPriv := rsaKey(t, keys[0])
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaPriv)})

	with := func(mod func(*pool.SigningKey)) pool.SigningKey {
		k := keys[0]
		mod(&k)
		return k
	}
	tests := []struct {
		name   string
		issuer string
		keys   []pool.SigningKey
	}{
		{"empty issuer", "", keys[:1]},
		{"no keys", testIssuer, nil},
		{"all retired", testIssuer, []pool.SigningKey{withRetired}},
		{"empty kid", testIssuer, []pool.SigningKey{with(func(k *pool.SigningKey) { k.KID = "" })}},
		{"duplicate kid", testIssuer, []pool.SigningKey{keys[0], with(func(k *pool.SigningKey) { k.CreatedAt = testNow })}},
		{"other algorithm", testIssuer, []pool.SigningKey{with(func(k *pool.SigningKey) { k.Algorithm = "HS256" })}},
		{"not PEM", testIssuer, []pool.SigningKey{with(func(k *pool.SigningKey) { k.PrivateKeyPEM = []byte("not a key") })}},
		{"PKCS#1 PEM", testIssuer, []pool.SigningKey{with(func(k *pool.SigningKey) { k.PrivateKeyPEM = pkcs1 })}},
		{"corrupt DER", testIssuer, []pool.SigningKey{with(func(k *pool.SigningKey) {
			k.PrivateKeyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{0x30, 0x01}})
		})}},
		{"EC key", testIssuer, []pool.SigningKey{with(func(k *pool.SigningKey) {
			k.PrivateKeyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})
		})}},
		{"keys of two pools", testIssuer, []pool.SigningKey{keys[0], func() pool.SigningKey { k := keys[1]; k.PoolID = "local_Other0000"; return k }()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewIssuer(tt.issuer, tt.keys)
			if err == nil {
				t.Fatal("NewIssuer succeeded")
			}
			for _, k := range keys {
				if strings.Contains(err.Error(), string(k.PrivateKeyPEM)) || strings.Contains(err.Error(), "PRIVATE KEY-----") {
					t.Errorf("error shows key material: %v", err)
				}
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	keys := testKeys(t, 2)
	ours, stranger := keys[0], keys[1]
	iss := newTestIssuer(t, ours)
	priv := rsaKey(t, ours)
	signOurs := rs256(t, priv)
	signStranger := rs256(t, rsaKey(t, stranger))
	hdr := func(extra ...string) map[string]any {
		h := map[string]any{"alg": "RS256", "kid": ours.KID, "typ": "JWT"}
		for i := 0; i+1 < len(extra); i += 2 {
			h[extra[i]] = extra[i+1]
		}
		return h
	}
	claims := func(mod func(Claims)) Claims {
		c := validClaims()
		mod(c)
		return c
	}
	good, err := iss.Sign(validClaims())
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")

	// HS/RS confusion: an HMAC keyed with the public key as published.
	pubDER, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hmacWith := func(key []byte) func([]byte) []byte {
		return func(input []byte) []byte {
			m := hmac.New(sha256.New, key)
			m.Write(input)
			return m.Sum(nil)
		}
	}
	none := func([]byte) []byte { return nil }
	jwk := map[string]any{"kty": "RSA", "e": "AQAB", "n": jwkFor(t, stranger).N}

	sigBytes, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sigBytes[10] ^= 0x01

	tests := []struct {
		name  string
		token string
		use   string
		want  error
	}{
		// Shape and encoding.
		{"empty", "", "", ErrMalformed},
		{"garbage", "not a token", "", ErrMalformed},
		{"one dot", "abc.def", "", ErrMalformed},
		{"two parts", parts[0] + "." + parts[1], "", ErrMalformed},
		{"four parts", good + "." + parts[2], "", ErrMalformed},
		{"five parts (JWE shape)", parts[0] + ".." + parts[1] + ".." + parts[2], "", ErrMalformed},
		{"only dots", "..", "", ErrMalformed},
		{"standard base64 alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(good) + "+/", "", ErrMalformed},
		{"padding", parts[0] + "=." + parts[1] + "." + parts[2], "", ErrMalformed},
		{"newline in segment", parts[0][:4] + "\n" + parts[0][4:] + "." + parts[1] + "." + parts[2], "", ErrMalformed},
		{"CRLF in signature", parts[0] + "." + parts[1] + "." + parts[2][:8] + "\r\n" + parts[2][8:], "", ErrMalformed},
		{"space around", " " + good + " ", "", ErrMalformed},
		{"non-canonical trailing bits", parts[0] + "." + parts[1] + "." + nonCanonical(t, parts[2]), "", ErrMalformed},
		{"impossible length", parts[0] + "." + parts[1] + "." + lenMod4(parts[2], 1), "", ErrMalformed},
		{"JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, "", ErrMalformed},
		{"too long", parts[0] + "." + strings.Repeat("A", maxTokenLen) + "." + parts[2], "", ErrMalformed},
		{"header not JSON", craft(t, "alg=RS256", validClaims(), signOurs), "", ErrMalformed},
		{"header is an array", craft(t, `["RS256"]`, validClaims(), signOurs), "", ErrMalformed},
		{"header is null", craft(t, `null`, validClaims(), signOurs), "", ErrMalformed},
		{"header not UTF-8", craft(t, "{\"alg\":\"RS256\",\"kid\":\"\xff\"}", validClaims(), signOurs), "", ErrMalformed},

		// Algorithm and header policy (RFC 8725 §3.1, §3.10).
		{"alg none", craft(t, map[string]any{"alg": "none", "kid": ours.KID}, validClaims(), none), "", ErrUnsupported},
		{"alg none with signature", craft(t, map[string]any{"alg": "none", "kid": ours.KID}, validClaims(), signOurs), "", ErrUnsupported},
		{"alg missing", craft(t, map[string]any{"kid": ours.KID}, validClaims(), signOurs), "", ErrUnsupported},
		{"alg lowercase", craft(t, hdr("alg", "rs256"), validClaims(), signOurs), "", ErrUnsupported},
		{"alg not a string", craft(t, map[string]any{"alg": []string{"RS256"}, "kid": ours.KID}, validClaims(), signOurs), "", ErrUnsupported},
		{"alg RS512", craft(t, hdr("alg", "RS512"), validClaims(), signOurs), "", ErrUnsupported},
		{"alg PS256", craft(t, hdr("alg", "PS256"), validClaims(), signOurs), "", ErrUnsupported},
		{"HS256 keyed with public PEM", craft(t, hdr("alg", "HS256"), validClaims(), hmacWith(pubPEM)), "", ErrUnsupported},
		{"HS256 keyed with public DER", craft(t, hdr("alg", "HS256"), validClaims(), hmacWith(pubDER)), "", ErrUnsupported},
		{"HS256 keyed with modulus", craft(t, hdr("alg", "HS256"), validClaims(), hmacWith(priv.N.Bytes())), "", ErrUnsupported},
		{"duplicate alg, last none", craft(t, `{"alg":"RS256","alg":"none","kid":"`+ours.KID+`"}`, validClaims(), signOurs), "", ErrUnsupported},
		{"jku header", craft(t, hdr("jku", "https://attacker.example/jwks.json"), validClaims(), signOurs), "", ErrUnsupported},
		{"x5u header", craft(t, hdr("x5u", "https://attacker.example/cert.pem"), validClaims(), signOurs), "", ErrUnsupported},
		{"x5c header", craft(t, map[string]any{"alg": "RS256", "kid": ours.KID, "x5c": []string{"MIIB"}}, validClaims(), signOurs), "", ErrUnsupported},
		{"embedded jwk of attacker", craft(t, map[string]any{"alg": "RS256", "kid": ours.KID, "jwk": jwk}, validClaims(), signStranger), "", ErrUnsupported},
		{"embedded jwk without kid", craft(t, map[string]any{"alg": "RS256", "jwk": jwk}, validClaims(), signStranger), "", ErrUnsupported},
		{"crit header", craft(t, map[string]any{"alg": "RS256", "kid": ours.KID, "crit": []string{"exp"}, "exp": 1}, validClaims(), signOurs), "", ErrUnsupported},
		{"b64 false", craft(t, map[string]any{"alg": "RS256", "kid": ours.KID, "b64": false, "crit": []string{"b64"}}, validClaims(), signOurs), "", ErrUnsupported},
		{"zip header", craft(t, hdr("zip", "DEF"), validClaims(), signOurs), "", ErrUnsupported},
		{"typ at+jwt", craft(t, hdr("typ", "at+jwt"), validClaims(), signOurs), "", ErrUnsupported},
		{"typ not a string", craft(t, map[string]any{"alg": "RS256", "kid": ours.KID, "typ": 1}, validClaims(), signOurs), "", ErrUnsupported},

		// Key selection.
		{"unknown kid", craft(t, hdr("kid", stranger.KID), validClaims(), signStranger), "", ErrUnknownKey},
		{"kid missing", craft(t, map[string]any{"alg": "RS256"}, validClaims(), signOurs), "", ErrUnknownKey},
		{"kid empty", craft(t, hdr("kid", ""), validClaims(), signOurs), "", ErrUnknownKey},
		{"kid not a string", craft(t, map[string]any{"alg": "RS256", "kid": 7}, validClaims(), signOurs), "", ErrUnknownKey},
		{"kid path traversal", craft(t, hdr("kid", "../../etc/passwd"), validClaims(), signOurs), "", ErrUnknownKey},

		// Signature.
		{"our kid, stranger's signature", craft(t, hdr(), validClaims(), signStranger), "", ErrSignature},
		{"tampered payload", parts[0] + "." + jsonSegment(t, claims(func(c Claims) { c["sub"] = "someone-else" })) + "." + parts[2], "", ErrSignature},
		{"tampered header", jsonSegment(t, map[string]any{"alg": "RS256", "kid": ours.KID}) + "." + parts[1] + "." + parts[2], "", ErrSignature},
		{"tampered signature", parts[0] + "." + parts[1] + "." + b64(sigBytes), "", ErrSignature},
		{"empty signature", parts[0] + "." + parts[1] + ".", "", ErrSignature},
		{"truncated signature", parts[0] + "." + parts[1] + "." + b64(sigBytes[:128]), "", ErrSignature},

		// Payload, once authentic.
		{"payload not JSON", craft(t, hdr(), "not json", signOurs), "", ErrMalformed},
		{"payload is an array", craft(t, hdr(), `[1,2]`, signOurs), "", ErrMalformed},
		{"payload is null", craft(t, hdr(), `null`, signOurs), "", ErrMalformed},
		{"payload not UTF-8", craft(t, hdr(), "{\"iss\":\"\xff\"}", signOurs), "", ErrMalformed},

		// Claims.
		{"wrong iss", craft(t, hdr(), claims(func(c Claims) { c["iss"] = "https://cognito-idp.us-east-1.amazonaws.com/" + testPool }), signOurs), "", ErrIssuer},
		{"iss with trailing slash", craft(t, hdr(), claims(func(c Claims) { c["iss"] = testIssuer + "/" }), signOurs), "", ErrIssuer},
		{"iss missing", craft(t, hdr(), claims(func(c Claims) { delete(c, "iss") }), signOurs), "", ErrIssuer},
		{"iss not a string", craft(t, hdr(), claims(func(c Claims) { c["iss"] = []string{testIssuer} }), signOurs), "", ErrIssuer},
		{"exp missing", craft(t, hdr(), claims(func(c Claims) { delete(c, "exp") }), signOurs), "", ErrMalformed},
		{"exp a string", craft(t, hdr(), claims(func(c Claims) { c["exp"] = fmt.Sprint(testNow.Add(time.Hour).Unix()) }), signOurs), "", ErrMalformed},
		{"exp huge", craft(t, hdr(), claims(func(c Claims) { c["exp"] = 1e300 }), signOurs), "", ErrMalformed},
		{"exp equals now", craft(t, hdr(), claims(func(c Claims) { c["exp"] = testNow.Unix() }), signOurs), "", ErrExpired},
		{"exp in the past", craft(t, hdr(), claims(func(c Claims) { c["exp"] = testNow.Add(-time.Second).Unix() }), signOurs), "", ErrExpired},
		{"exp fraction before now", craft(t, hdr(), claims(func(c Claims) { c["exp"] = float64(testNow.Unix()) - 0.5 }), signOurs), "", ErrExpired},
		{"exp negative", craft(t, hdr(), claims(func(c Claims) { c["exp"] = -1 }), signOurs), "", ErrExpired},
		{"wrong token_use", good, "id", ErrTokenUse},
		{"token_use missing", craft(t, hdr(), claims(func(c Claims) { delete(c, "token_use") }), signOurs), "access", ErrTokenUse},
	}
	allSentinels := []error{ErrMalformed, ErrUnsupported, ErrUnknownKey, ErrSignature, ErrExpired, ErrIssuer, ErrTokenUse}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := iss.Verify(tt.token, testNow, tt.use)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			if got != nil {
				t.Errorf("claims = %v, want nil on error", got)
			}
			for _, other := range allSentinels {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("error %v also matches %v", err, other)
				}
			}
			assertNoTokenText(t, err, tt.token)
		})
	}

	// Control: the same helpers make an accepted token, so each rejection
	// above is down to the one thing it changes.
	for name, tok := range map[string]string{
		"crafted":           craft(t, hdr(), validClaims(), signOurs),
		"crafted, no typ":   craft(t, map[string]any{"alg": "RS256", "kid": ours.KID}, validClaims(), signOurs),
		"exp one second on": craft(t, hdr(), claims(func(c Claims) { c["exp"] = testNow.Add(time.Second).Unix() }), signOurs),
		"exp fraction on":   craft(t, hdr(), claims(func(c Claims) { c["exp"] = float64(testNow.Unix()) + 0.5 }), signOurs),
	} {
		if _, err := iss.Verify(tok, testNow, "access"); err != nil {
			t.Errorf("control %s: %v", name, err)
		}
	}
}

func TestVerifyConcurrent(t *testing.T) {
	iss := newTestIssuer(t, testKeys(t, 1)[0])
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			c := validClaims()
			c["jti"] = fmt.Sprint(g)
			tok, err := iss.Sign(c)
			if err != nil {
				t.Error(err)
				return
			}
			if got, err := iss.Verify(tok, testNow, "access"); err != nil || got.String("jti") != fmt.Sprint(g) {
				t.Errorf("Verify = %v, %v", got, err)
			}
		})
	}
	wg.Wait()
}

func TestClaimsAccessors(t *testing.T) {
	c := Claims{
		"s":        "x",
		"n":        1.0,
		"float":    float64(1700000000),
		"frac":     1700000000.25,
		"int64":    int64(1700000000),
		"int":      1700000000,
		"number":   json.Number("1700000000"),
		"numfrac":  json.Number("1700000000.5"),
		"numbad":   json.Number("x"),
		"huge":     1e300,
		"hugeint":  int64(1) << 62,
		"hugenum":  json.Number("99999999999999999999999"),
		"str":      "1700000000",
		"boolean":  true,
		"negative": -1.0,
	}
	if c.String("s") != "x" || c.String("n") != "" || c.String("absent") != "" {
		t.Errorf("String: %q %q %q", c.String("s"), c.String("n"), c.String("absent"))
	}
	base := time.Unix(1700000000, 0).UTC()
	tests := []struct {
		name string
		want time.Time
		ok   bool
	}{
		{"float", base, true},
		{"frac", base.Add(250 * time.Millisecond), true},
		{"int64", base, true},
		{"int", base, true},
		{"number", base, true},
		{"numfrac", base.Add(500 * time.Millisecond), true},
		{"negative", time.Unix(-1, 0).UTC(), true},
		{"numbad", time.Time{}, false},
		{"huge", time.Time{}, false},
		{"hugeint", time.Time{}, false},
		{"hugenum", time.Time{}, false},
		{"str", time.Time{}, false},
		{"boolean", time.Time{}, false},
		{"absent", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := c.Time(tt.name)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("Time(%q) = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

// assertNoTokenText fails if err's message contains any sizeable piece of
// the token: errors end up in logs.
func assertNoTokenText(t *testing.T, err error, token string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, part := range strings.Split(token, ".") {
		if len(part) >= 16 && strings.Contains(msg, part) {
			t.Errorf("error message contains token text: %q", msg)
		}
	}
}

func mustDecodeJSON(t *testing.T, segment string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		t.Fatalf("decode segment: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("unmarshal segment: %v", err)
	}
}

func headerKID(t *testing.T, tok string) string {
	t.Helper()
	var h struct{ Kid string }
	mustDecodeJSON(t, strings.Split(tok, ".")[0], &h)
	return h.Kid
}

func jwkFor(t *testing.T, k pool.SigningKey) JWK {
	t.Helper()
	jwk, err := publicJWK(k.KID, k.Algorithm, privateKey(t, k).Public())
	if err != nil {
		t.Fatal(err)
	}
	return jwk
}

// publicKeyOf is any public key that can say whether it equals another.
type publicKeyOf interface {
	Equal(crypto.PublicKey) bool
}

// jwkPublicKey rebuilds a public key from its JWK members, as a relying
// party does; it fails the test for a JWK it cannot read.
func jwkPublicKey(t *testing.T, k JWK) publicKeyOf {
	t.Helper()
	pub, err := parseJWK(k)
	if err != nil {
		t.Fatalf("JWK %q: %v", k.KID, err)
	}
	return pub
}

// parseJWK reads an RSA, EC P-256 or Ed25519 JWK with the standard library.
func parseJWK(k JWK) (publicKeyOf, error) {
	dec := base64.RawURLEncoding.Strict().DecodeString
	switch k.Kty {
	case "RSA":
		n, err := dec(k.N)
		if err != nil {
			return nil, fmt.Errorf("n: %w", err)
		}
		e, err := dec(k.E)
		if err != nil {
			return nil, fmt.Errorf("e: %w", err)
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
	case "EC":
		x, errX := dec(k.X)
		y, errY := dec(k.Y)
		if errX != nil || errY != nil || k.Crv != "P-256" || len(x) != 32 || len(y) != 32 {
			return nil, fmt.Errorf("EC key: crv %q, x %d bytes, y %d bytes", k.Crv, len(x), len(y))
		}
		return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	case "OKP":
		x, err := dec(k.X)
		if err != nil || k.Crv != "Ed25519" || len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("OKP key: crv %q, x %d bytes", k.Crv, len(x))
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, fmt.Errorf("kty %q", k.Kty)
}

// verifyWithJWKS checks a compact JWS against a JWK Set using only the
// standard library, as a relying party would: the key is the one the kid
// names, and the header's alg must be that key's alg.
func verifyWithJWKS(set JWKS, tok string) error {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return errors.New("not three parts")
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return err
	}
	var h struct{ Alg, Kid string }
	if err := json.Unmarshal(hb, &h); err != nil {
		return err
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	input := []byte(parts[0] + "." + parts[1])
	sum := sha256.Sum256(input)
	for _, k := range set.Keys {
		if k.KID != h.Kid {
			continue
		}
		if k.Alg != h.Alg {
			return fmt.Errorf("alg %q, key's alg %q", h.Alg, k.Alg)
		}
		pub, err := parseJWK(k)
		if err != nil {
			return err
		}
		switch pub := pub.(type) {
		case *rsa.PublicKey:
			if h.Alg != "RS256" {
				break
			}
			return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
		case *ecdsa.PublicKey:
			if h.Alg != "ES256" || len(sig) != 64 {
				break
			}
			if !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
				return errors.New("ES256 signature does not verify")
			}
			return nil
		case ed25519.PublicKey:
			if h.Alg != "EdDSA" {
				break
			}
			if !ed25519.Verify(pub, input, sig) {
				return errors.New("EdDSA signature does not verify")
			}
			return nil
		}
		return fmt.Errorf("alg %q does not fit a %s key", h.Alg, k.Kty)
	}
	return errors.New("no matching key")
}

// flipB64 changes the first character of s to another base64url character.
func flipB64(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// nonCanonical re-spells a segment whose length leaves spare bits with those
// bits set: it decodes to the same bytes under lax base64.
func nonCanonical(t *testing.T, seg string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	if len(seg)%4 == 0 {
		t.Fatalf("segment of length %d has no spare bits", len(seg))
	}
	last := strings.IndexByte(alphabet, seg[len(seg)-1])
	spare := 2 // two chars left over carry 4 spare bits, three carry 2
	if len(seg)%4 == 2 {
		spare = 4
	}
	out := seg[:len(seg)-1] + string(alphabet[last|(1<<spare-1)])
	if lax, _ := base64.RawURLEncoding.DecodeString(out); !bytes.Equal(lax, mustB64(t, seg)) {
		t.Fatalf("nonCanonical changed the decoded bytes")
	}
	return out
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lenMod4 pads s with 'A' until its length is r modulo 4; a length of 1
// modulo 4 is never valid unpadded base64.
func lenMod4(s string, r int) string {
	for len(s)%4 != r {
		s += "A"
	}
	return s
}
