package token

import "testing"

// BenchmarkSign measures Issuer.Sign (one access token's claims) for each
// algorithm: the CPU a sign-in spends on each of its two tokens.
//
//	go test -run '^$' -bench 'Sign|Verify' ./internal/token/
func BenchmarkSign(b *testing.B) {
	for _, alg := range Algorithms() {
		b.Run(alg, func(b *testing.B) {
			iss := newTestIssuer(b, testKeysOf(b, alg, 1)[0])
			claims := validClaims()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := iss.Sign(claims); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify measures Issuer.Verify of an access token for each
// algorithm: what every GetUser or sign-out pays.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range Algorithms() {
		b.Run(alg, func(b *testing.B) {
			iss := newTestIssuer(b, testKeysOf(b, alg, 1)[0])
			tok, err := iss.Sign(validClaims())
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := iss.Verify(tok, testNow, "access"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
