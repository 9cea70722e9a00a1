package token

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds Verify arbitrary strings. Seeds: testdata/fuzz/FuzzVerify
// (hostile shapes: alg none, HS256, jku/jwk/x5u/crit headers, bad base64)
// plus tokens signed here at run time, so mutations reach the signature and
// claim checks. Verify must never panic, must fail with one of the sentinel
// errors without echoing the token, and must accept exactly the strings it
// signed: canonical base64url and deterministic RS256 leave each valid token
// a single spelling.
func FuzzVerify(f *testing.F) {
	iss := newTestIssuer(f, testKeys(f, 1)[0])
	signed := map[string]bool{}
	for _, c := range []Claims{
		validClaims(),
		{"iss": testIssuer, "exp": testNow.Add(time.Minute).Unix(), "token_use": "access"},
		{"iss": testIssuer, "exp": testNow.Unix(), "token_use": "access"}, // expired
		{"iss": "https://other.example/pool", "exp": testNow.Add(time.Minute).Unix()},
		{"iss": testIssuer, "exp": testNow.Add(time.Minute).Unix(), "token_use": "id"},
	} {
		tok, err := iss.Sign(c)
		if err != nil {
			f.Fatal(err)
		}
		signed[tok] = true
		f.Add(tok)
	}
	sentinels := []error{ErrMalformed, ErrUnsupported, ErrUnknownKey, ErrSignature, ErrExpired, ErrIssuer, ErrTokenUse}

	f.Fuzz(func(t *testing.T, tok string) {
		claims, err := iss.Verify(tok, testNow, "access")
		if err == nil {
			if !signed[tok] {
				t.Fatalf("accepted a token this issuer never signed")
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
