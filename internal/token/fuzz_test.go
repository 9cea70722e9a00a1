package token

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/pool"
)

// FuzzVerify feeds Verify arbitrary strings. Seeds: testdata/fuzz/FuzzVerify
// (hostile shapes: alg none, HS256, algorithms we do not support, jku/jwk/
// x5u/crit headers, bad base64) plus tokens signed here at run time with a
// key of each algorithm, so mutations reach the signature and claim checks.
// The issuer holds the three keys. Verify must never panic, must fail with
// one of the sentinel errors without echoing the token, and must accept
// only what it signed: for RS256 and EdDSA exactly the strings it signed
// (canonical base64url and deterministic signatures leave each valid token
// a single spelling); for ES256, whose signatures are randomised, a token
// whose header and payload are those of a token it signed.
func FuzzVerify(f *testing.F) {
	var set []pool.SigningKey
	var signers []*Issuer
	for _, alg := range Algorithms() {
		k := testKeysOf(f, alg, 1)[0]
		set = append(set, k)
		signers = append(signers, newTestIssuer(f, k))
	}
	iss := newTestIssuer(f, set...)
	signed := map[string]string{} // signing input → token
	for _, signer := range signers {
		for _, c := range []Claims{
			validClaims(),
			{"iss": testIssuer, "exp": testNow.Add(time.Minute).Unix(), "token_use": "access"},
			{"iss": testIssuer, "exp": testNow.Unix(), "token_use": "access"}, // expired
			{"iss": "https://other.example/pool", "exp": testNow.Add(time.Minute).Unix()},
			{"iss": testIssuer, "exp": testNow.Add(time.Minute).Unix(), "token_use": "id"},
		} {
			tok, err := signer.Sign(c)
			if err != nil {
				f.Fatal(err)
			}
			signed[tok[:strings.LastIndexByte(tok, '.')]] = tok
			f.Add(tok)
		}
	}
	sentinels := []error{ErrMalformed, ErrUnsupported, ErrUnknownKey, ErrSignature, ErrExpired, ErrIssuer, ErrTokenUse}

	f.Fuzz(func(t *testing.T, tok string) {
		claims, err := iss.Verify(tok, testNow, "access")
		if err == nil {
			input := tok[:strings.LastIndexByte(tok, '.')]
			ours, ok := signed[input]
			if !ok {
				t.Fatalf("accepted a token this issuer never signed")
			}
			var h struct{ Alg string }
			mustDecodeJSON(t, strings.Split(tok, ".")[0], &h)
			if h.Alg != ES256 && tok != ours {
				t.Fatalf("accepted a second spelling of a %s token", h.Alg)
			}
			if claims.String("iss") != testIssuer || claims.String("token_use") != "access" {
				t.Fatalf("accepted claims %v", claims)
			}
			return
		}
		if claims != nil {
			t.Errorf("claims %v returned with error %v", claims, err)
		}
		known := false
		for _, s := range sentinels {
			known = known || errors.Is(err, s)
		}
		if !known {
			t.Errorf("error %v wraps no sentinel", err)
		}
		for _, part := range strings.Split(tok, ".") {
			if len(part) >= 16 && strings.Contains(err.Error(), part) {
				t.Errorf("error %q echoes token text", err)
			}
		}
	})
}
