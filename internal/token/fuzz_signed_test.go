package token

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzVerifySigned feeds Verify tokens whose header and payload JSON are
// arbitrary but whose RS256 signature is genuine, made with a key of the
// issuer: mutations of the JSON reach the header policy and the claim
// checks (exp as any number, iss and token_use of any type, duplicate
// members) that FuzzVerify, mutating base64, rarely gets past. Verify must
// never panic, must fail with a sentinel error that does not echo the
// token, and may accept only a header of alg RS256, the signing kid and
// at most typ JWT, with claims of this issuer, token_use access and a
// future exp. Seeds: testdata/fuzz/FuzzVerifySigned, where "{{kid}}" in a
// header stands for the signing key's kid (keys are made per test run).
func FuzzVerifySigned(f *testing.F) {
	key := testKeys(f, 1)[0]
	iss := newTestIssuer(f, key)
	sign := rs256(f, privateKey(f, key))
	header := `{"alg":"RS256","kid":"` + key.KID + `","typ":"JWT"}`
	valid, err := json.Marshal(validClaims())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(header, string(valid))
	f.Add(`{"alg":"RS256","kid":"`+key.KID+`"}`, `{"iss":"`+testIssuer+`","exp":1e12,"token_use":"access"}`)
	sentinels := []error{ErrMalformed, ErrUnsupported, ErrUnknownKey, ErrSignature, ErrExpired, ErrIssuer, ErrTokenUse}

	f.Fuzz(func(t *testing.T, header, payload string) {
		header = strings.ReplaceAll(header, "{{kid}}", key.KID)
		input := b64([]byte(header)) + "." + b64([]byte(payload))
		tok := input + "." + b64(sign([]byte(input)))
		claims, err := iss.Verify(tok, testNow, "access")
		if err != nil {
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
			return
		}
		var h map[string]any
		if err := json.Unmarshal([]byte(header), &h); err != nil {
			t.Fatalf("accepted a header that is not a JSON object: %q", header)
		}
		if h["alg"] != Algorithm || h["kid"] != key.KID {
			t.Fatalf("accepted header %q", header)
		}
		for name, v := range h {
			if name == "typ" && v == typ || name == "alg" || name == "kid" {
				continue
			}
			t.Fatalf("accepted header %q with member %q", header, name)
		}
		exp, ok := claims.Time("exp")
		if claims.String("iss") != testIssuer || claims.String("token_use") != "access" || !ok || !testNow.Before(exp) {
			t.Fatalf("accepted claims %q", payload)
		}
	})
}
