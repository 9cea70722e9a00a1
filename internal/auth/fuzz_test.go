package auth

import (
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzPoolOfToken feeds arbitrary strings to the unverified peek at an
// access token's issuer. It must never panic, and may only name a pool
// whose issuer is exactly this server's public URL plus a single segment.
func FuzzPoolOfToken(f *testing.F) {
	const public = "http://127.0.0.1:8080"
	payload := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	f.Add("e30." + payload(`{"iss":"`+public+`/local_AbCdEf123"}`) + ".c2ln")
	f.Add("e30." + payload(`{"iss":"`+public+`/a/b"}`) + ".x")
	f.Add("e30." + payload(`{"iss":"http://evil.example/local_X"}`) + ".x")
	f.Add("e30." + payload(`{"iss":5}`) + ".x")
	f.Add("a.b.c")
	f.Add("..")
	f.Add("")
	e := &Engine{publicURL: public}
	f.Fuzz(func(t *testing.T, tok string) {
		poolID, ok := e.poolOfToken(tok)
		if !ok {
			if poolID != "" {
				t.Fatalf("rejected token named pool %q", poolID)
			}
			return
		}
		if poolID == "" || strings.Contains(poolID, "/") {
			t.Fatalf("accepted pool id %q", poolID)
		}
	})
}
