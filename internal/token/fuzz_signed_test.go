package token

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/pool"
)

// FuzzVerifySigned feeds Verify tokens whose header and payload JSON are
// arbitrary but whose signature is genuine, made with a key of the issuer:
// mutations of the JSON reach the header policy and the claim checks (exp
// as any number, iss and token_use of any type, duplicate members) that
// FuzzVerify, mutating base64, rarely gets past. The issuer holds one key
// of each algorithm. Verify must never panic, must fail with a sentinel
// error that does not echo the token, and may accept only a header whose
// alg is the algorithm of the key that signed, whose kid is that key's,
// and with at most typ JWT besides, with claims of this issuer, token_use
// access and a future exp. Seeds: testdata/fuzz/FuzzVerifySigned, where
// "{{kid}}" in a header stands for the RS256 key's kid, "{{kid:ES256}}"
// and "{{kid:EdDSA}}" for the other keys' (keys are made per test run);
// the key whose placeholder the header holds signs, with its own
// algorithm, and the RS256 key signs when there is none.
func FuzzVerifySigned(f *testing.F) {
	keys := map[string]pool.SigningKey{}
	var set []pool.SigningKey
	for _, alg := range Algorithms() {
		k := testKeysOf(f, alg, 1)[0]
		keys[alg] = k
		set = append(set, k)
	}
	iss := newTestIssuer(f, set...)
	signers := map[string]func([]byte) []byte{}
	for alg, k := range keys {
		signers[alg] = signWith(f, k)
	}
	valid, err := json.Marshal(validClaims())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(`{"alg":"RS256","kid":"{{kid}}","typ":"JWT"}`, string(valid))
	f.Add(`{"alg":"RS256","kid":"{{kid}}"}`, `{"iss":"`+testIssuer+`","exp":1e12,"token_use":"access"}`)
	for _, alg := range []string{ES256, EdDSA} {
		f.Add(`{"alg":"`+alg+`","kid":"{{kid:`+alg+`}}","typ":"JWT"}`, string(valid))
		f.Add(`{"alg":"RS256","kid":"{{kid:`+alg+`}}","typ":"JWT"}`, string(valid))
	}
	sentinels := []error{ErrMalformed, ErrUnsupported, ErrUnknownKey, ErrSignature, ErrExpired, ErrIssuer, ErrTokenUse}

	f.Fuzz(func(t *testing.T, header, payload string) {
		signer := RS256
		for _, alg := range []string{ES256, EdDSA} {
			if strings.Contains(header, "{{kid:"+alg+"}}") {
				signer = alg
				break
			}
		}
		for alg, k := range keys {
			header = strings.ReplaceAll(header, "{{kid:"+alg+"}}", k.KID)
		}
		header = strings.ReplaceAll(header, "{{kid}}", keys[RS256].KID)
		input := b64([]byte(header)) + "." + b64([]byte(payload))
		tok := input + "." + b64(signers[signer]([]byte(input)))
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
		if h["alg"] != keys[signer].Algorithm || h["kid"] != keys[signer].KID {
			t.Fatalf("accepted header %q signed by the %s key", header, signer)
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
