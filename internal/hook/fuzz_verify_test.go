package hook

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds a receiver's check arbitrary headers and bodies, as an
// attacker may send them: Verify must never panic, and must accept only
// what a signature over exactly that id, timestamp and body allows.
func FuzzVerify(f *testing.F) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"version":"1","triggerSource":"PreSignUp_SignUp"}`)
	sig, err := Sign(secret, "msg_1", now, body)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("msg_1", "1700000000", sig, body)
	f.Add("msg_1", "1700000000", "v1,AAAA v2,BBBB", body)
	f.Add("", "", "", []byte{})
	f.Add("msg.1", "-1", "v1,", []byte("x"))
	f.Add("msg_1", "99999999999999999999", "v1,"+sig, body)
	f.Fuzz(func(t *testing.T, id, timestamp, signature string, body []byte) {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, timestamp)
		h.Set(HeaderSignature, signature)
		if err := Verify(secret, h, body, now, 5*time.Minute); err != nil {
			return
		}
		// Accepted: then the timestamp is a time within tolerance, and the
		// signature made here over the same id, time and body is among
		// those offered.
		secs, err := strconv.ParseInt(timestamp, 10, 64)
		if err != nil {
			t.Fatalf("Verify accepted timestamp %q", timestamp)
		}
		want, err := Sign(secret, id, time.Unix(secs, 0), body)
		if err != nil {
			t.Fatalf("Verify accepted what Sign refuses: id %q: %v", id, err)
		}
		if !slices.Contains(strings.Fields(signature), want) {
			t.Fatalf("Verify accepted signatures %q; the right one is %q", signature, want)
		}
	})
}
