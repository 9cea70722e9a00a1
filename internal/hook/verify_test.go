package hook_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/latchkey/latchkey/internal/hook"
)

// The test vector of the Standard Webhooks reference libraries
// (libraries/go/webhook_test.go, TestWebhookSign).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignMatchesStandardWebhooksVector(t *testing.T) {
	for _, secret := range []string{vectorSecret, strings.TrimPrefix(vectorSecret, "whsec_")} {
		got, err := hook.Sign(secret, vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorBody))
		if err != nil {
			t.Fatal(err)
		}
		if got != vectorSignature {
			t.Errorf("Sign = %s, want %s", got, vectorSignature)
		}
		h := signedHeader(vectorID, vectorTimestamp, vectorSignature)
		if err := hook.Verify(secret, h, []byte(vectorBody), time.Unix(vectorTimestamp+10, 0), 0); err != nil {
			t.Errorf("Verify of the vector: %v", err)
		}
	}
}

func signedHeader(id string, ts int64, sig string) http.Header {
	h := http.Header{}
	h.Set(hook.HeaderID, id)
	h.Set(hook.HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(hook.HeaderSignature, sig)
	return h
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"version":"1","triggerSource":"PreSignUp_SignUp"}`)
	sign := func(secret, id string, ts time.Time, body []byte) string {
		t.Helper()
		s, err := hook.Sign(secret, id, ts, body)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := sign(vectorSecret, "msg_1", now, body)
	otherSecret := "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))

	tests := []struct {
		name   string
		secret string
		header http.Header
		body   []byte
		want   error
	}{
		{"valid", vectorSecret, signedHeader("msg_1", now.Unix(), good), body, nil},
		{"valid among others and unknown versions", vectorSecret,
			signedHeader("msg_1", now.Unix(), "v1a,AAAA v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "+good+" v2,xyz"), body, nil},
		{"signed with the previous secret too", otherSecret,
			signedHeader("msg_1", now.Unix(), good+" "+sign(otherSecret, "msg_1", now, body)), body, nil},
		{"at the edge of the tolerance", vectorSecret,
			signedHeader("msg_1", now.Add(-5*time.Minute).Unix(), sign(vectorSecret, "msg_1", now.Add(-5*time.Minute), body)), body, nil},
		{"tampered body", vectorSecret, signedHeader("msg_1", now.Unix(), good),
			[]byte(`{"version":"1","triggerSource":"PreSignUp_AdminCreateUser"}`), hook.ErrSignatureMismatch},
		{"body with a trailing newline", vectorSecret, signedHeader("msg_1", now.Unix(), good),
			append(append([]byte{}, body...), '\n'), hook.ErrSignatureMismatch},
		{"wrong secret", otherSecret, signedHeader("msg_1", now.Unix(), good), body, hook.ErrSignatureMismatch},
		{"another id", vectorSecret, signedHeader("msg_2", now.Unix(), good), body, hook.ErrSignatureMismatch},
		{"another timestamp", vectorSecret, signedHeader("msg_1", now.Unix()+1, good), body, hook.ErrSignatureMismatch},
		{"old timestamp", vectorSecret,
			signedHeader("msg_1", now.Add(-6*time.Minute).Unix(), sign(vectorSecret, "msg_1", now.Add(-6*time.Minute), body)), body, hook.ErrTimestampTooOld},
		{"future timestamp", vectorSecret,
			signedHeader("msg_1", now.Add(6*time.Minute).Unix(), sign(vectorSecret, "msg_1", now.Add(6*time.Minute), body)), body, hook.ErrTimestampTooNew},
		{"only unknown versions", vectorSecret,
			signedHeader("msg_1", now.Unix(), "v1a,"+strings.TrimPrefix(good, "v1,")+" v2,"+strings.TrimPrefix(good, "v1,")), body, hook.ErrNoSignature},
		{"no version", vectorSecret, signedHeader("msg_1", now.Unix(), strings.TrimPrefix(good, "v1,")), body, hook.ErrNoSignature},
		{"not base64", vectorSecret, signedHeader("msg_1", now.Unix(), "v1,not base64!"), body, hook.ErrSignatureMismatch},
		{"missing id", vectorSecret, signedHeader("", now.Unix(), good), body, hook.ErrMissingHeader},
		{"missing signature", vectorSecret, signedHeader("msg_1", now.Unix(), ""), body, hook.ErrMissingHeader},
		{"missing timestamp", vectorSecret, func() http.Header {
			h := signedHeader("msg_1", now.Unix(), good)
			h.Del(hook.HeaderTimestamp)
			return h
		}(), body, hook.ErrMissingHeader},
		{"timestamp not digits", vectorSecret, func() http.Header {
			h := signedHeader("msg_1", now.Unix(), good)
			h.Set(hook.HeaderTimestamp, "+"+strconv.FormatInt(now.Unix(), 10))
			return h
		}(), body, hook.ErrInvalidTimestamp},
		{"timestamp in milliseconds", vectorSecret, signedHeader("msg_1", now.UnixMilli(), good), body, hook.ErrInvalidTimestamp},
		{"id with a dot", vectorSecret, signedHeader("msg.1", now.Unix(), good), body, hook.ErrInvalidID},
		{"invalid secret", "whsec_c2hvcnQ=", signedHeader("msg_1", now.Unix(), good), body, hook.ErrInvalidSecret},
		{"secret not base64", "whsec_***", signedHeader("msg_1", now.Unix(), good), body, hook.ErrInvalidSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := hook.Verify(tt.secret, tt.header, tt.body, now, 5*time.Minute)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestReplayGuard(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{}`)
	g := hook.NewReplayGuard(time.Minute)
	header := func(id string, ts time.Time) http.Header {
		sig, err := hook.Sign(vectorSecret, id, ts, body)
		if err != nil {
			t.Fatal(err)
		}
		return signedHeader(id, ts.Unix(), sig)
	}
	first := header("msg_a", now)
	if err := g.Verify(vectorSecret, first, body, now); err != nil {
		t.Fatalf("first delivery: %v", err)
	}
	if err := g.Verify(vectorSecret, first, body, now.Add(30*time.Second)); !errors.Is(err, hook.ErrReplayed) {
		t.Fatalf("replay within the tolerance: %v, want ErrReplayed", err)
	}
	if err := g.Verify(vectorSecret, first, body, now.Add(2*time.Minute)); !errors.Is(err, hook.ErrTimestampTooOld) {
		t.Fatalf("replay after the tolerance: %v, want ErrTimestampTooOld", err)
	}
	if err := g.Verify(vectorSecret, header("msg_b", now), body, now); err != nil {
		t.Fatalf("another message: %v", err)
	}
	// A forged request does not burn its id.
	forged := header("msg_c", now)
	if err := g.Verify(vectorSecret, forged, []byte(`{"x":1}`), now); !errors.Is(err, hook.ErrSignatureMismatch) {
		t.Fatalf("forged: %v", err)
	}
	if err := g.Verify(vectorSecret, forged, body, now); err != nil {
		t.Fatalf("the genuine request after a forgery with its id: %v", err)
	}
	// Old ids are forgotten; recent ones are kept.
	later := now.Add(10 * time.Minute)
	for i := range 3000 {
		if err := g.Verify(vectorSecret, header("msg_n"+strconv.Itoa(i), later), body, later); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Verify(vectorSecret, header("msg_n5", later), body, later); !errors.Is(err, hook.ErrReplayed) {
		t.Fatalf("replay after pruning: %v, want ErrReplayed", err)
	}
}

func TestNewSecret(t *testing.T) {
	secret, err := hook.NewSecret(bytes.NewReader(bytes.Repeat([]byte{1}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	if want := "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)); secret != want {
		t.Fatalf("NewSecret = %s, want %s", secret, want)
	}
	if _, err := hook.Sign(secret, "msg_1", time.Now(), nil); err != nil {
		t.Fatalf("the new secret does not sign: %v", err)
	}
	if _, err := hook.NewSecret(iotest.ErrReader(errors.New("no entropy"))); err == nil {
		t.Fatal("NewSecret succeeded without randomness")
	}
}

// TestSignedAlwaysVerifies: whatever the body, id, time and secret,
// Verify accepts what Sign produced (a property test over random inputs).
func TestSignedAlwaysVerifies(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		key := make([]byte, 24+r.IntN(41))
		for j := range key {
			key[j] = byte(r.Uint32())
		}
		secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
		body := make([]byte, r.IntN(4096))
		for j := range body {
			body[j] = byte(r.Uint32())
		}
		id := "msg_" + strconv.FormatUint(r.Uint64(), 36)
		ts := time.Unix(r.Int64N(4_000_000_000), 0)
		sig, err := hook.Sign(secret, id, ts, body)
		if err != nil {
			t.Fatal(err)
		}
		if err := hook.Verify(secret, signedHeader(id, ts.Unix(), sig), body, ts.Add(time.Duration(r.IntN(600)-300)*time.Second), 5*time.Minute); err != nil {
			t.Fatalf("case %d: Verify of a signed request: %v", i, err)
		}
	}
}
