package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/pool"
)

// FuzzCheckSecretHash feeds the SECRET_HASH and client-secret checks
// arbitrary secrets, client IDs, usernames and given values. They must never
// panic; a client without a secret accepts anything; a client with one
// accepts exactly Base64(HMAC-SHA256(secret, username+clientID)) (and, for
// the clear secret, exactly the secret), and refuses everything else with a
// NotAuthorizedException that quotes neither the given value nor the
// secret. Seeds: testdata/fuzz/FuzzCheckSecretHash.
func FuzzCheckSecretHash(f *testing.F) {
	const secret = "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmno"
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("+14155552671" + "clientid26charsxxxxxxxxxxx"))
	f.Add(secret, "clientid26charsxxxxxxxxxxx", "+14155552671", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	f.Add("", "c", "u", "")
	f.Add(secret, "c", "u", "")
	f.Fuzz(func(t *testing.T, secret, clientID, username, given string) {
		c := pool.Client{ID: clientID, Secret: secret}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(username + clientID))
		want := base64.StdEncoding.EncodeToString(mac.Sum(nil))

		check := func(name string, err error, accept bool) {
			t.Helper()
			if accept {
				if err != nil {
					t.Fatalf("%s refused the right value: %v", name, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("%s accepted %q for secret %q", name, given, secret)
			}
			if pool.KindOf(err) != pool.KindNotAuthorized {
				t.Fatalf("%s: error %v is not NotAuthorized", name, err)
			}
			msg := strings.ReplaceAll(err.Error(), clientID, "")
			for _, s := range []string{given, secret} {
				if len(s) >= 8 && strings.Contains(msg, s) && !strings.Contains(clientID, s) {
					t.Fatalf("%s: message %q quotes %q", name, err.Error(), s)
				}
			}
		}
		check("checkSecretHash", checkSecretHash(c, username, given), secret == "" || given == want)
		check("checkClientSecret", checkClientSecret(c, given), secret == "" || given == secret)
	})
}

// FuzzParseUsername feeds the username parser (USERNAME, Username) any
// string, under each choice of sign-in identifiers. It must never panic, must
// refuse with an InvalidParameterException, and an accepted username must
// be canonical: parsing it again gives it back, and storedIdentifier
// recovers the same identifier from it. Seeds:
// testdata/fuzz/FuzzParseUsername.
func FuzzParseUsername(f *testing.F) {
	f.Add("+1 (415) 555-2671", uint8(0))
	f.Add("Alice@Example.COM", uint8(0))
	f.Add("4155552671", uint8(1))
	f.Add("alice@example.com", uint8(2))
	f.Fuzz(func(t *testing.T, raw string, which uint8) {
		p := pool.Pool{Settings: pool.DefaultSettings()}
		switch which % 3 {
		case 1:
			p.Settings.UsernameAttributes = []string{pool.AttrPhoneNumber}
			p.Settings.DefaultPhoneRegion = "US"
		case 2:
			p.Settings.UsernameAttributes = []string{pool.AttrEmail}
		}
		id, err := parseUsername(p, raw)
		if err != nil {
			if k := pool.KindOf(err); k != pool.KindInvalidParameter {
				t.Fatalf("parseUsername(%q): error %v of kind %d", raw, err, k)
			}
			return
		}
		if id.value == "" || (id.attr != pool.AttrPhoneNumber && id.attr != pool.AttrEmail) || !p.Settings.AllowsUsername(id.attr) {
			t.Fatalf("parseUsername(%q) = %+v", raw, id)
		}
		again, err := parseUsername(p, id.value)
		if err != nil || again != id {
			t.Fatalf("parseUsername(%q) = %+v; again: %+v, %v", raw, id, again, err)
		}
		// The seeds plus_local_part and plus_digits_local_part pin an email
		// whose local part starts with "+", once taken for a phone number.
		if got := storedIdentifier(id.value); got != id {
			t.Fatalf("parseUsername(%q) = %+v, but storedIdentifier(%q) = %+v", raw, id, id.value, got)
		}
	})
}
