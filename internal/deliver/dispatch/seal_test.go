package dispatch_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/deliver/dispatch"
)

var (
	keyA = bytes.Repeat([]byte{0xa5}, 32)
	keyB = bytes.Repeat([]byte{0x5a}, 32)
)

func fullMessage() deliver.Message {
	return deliver.Message{
		PoolID:  "eu-west-1_Seal00001",
		Channel: deliver.ChannelEmail,
		To:      "alice@example.com",
		Subject: "Your code",
		Body:    "123456 is your code.",
		HTML:    "<p><b>123456</b> is your code.</p>",
		Code:    "123456",
		Purpose: "sign_in",
		Locale:  "fr-FR",
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	m := fullMessage()
	sealed, err := dispatch.Seal(rand.Reader, keyA, "msg-1", m)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte(m.Code)) || bytes.Contains(sealed, []byte(m.To)) {
		t.Fatal("sealed bytes contain the message in clear")
	}
	got, err := dispatch.Open(keyA, "msg-1", m.PoolID, sealed)
	if err != nil {
		t.Fatal(err)
	}
	if got != m {
		t.Fatalf("Open = %+v, want %+v", got, m) // %+v: the struct's fields, not String
	}

	// A fresh nonce each time: the same message never seals alike.
	again, err := dispatch.Seal(rand.Reader, keyA, "msg-1", m)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(sealed, again) {
		t.Fatal("sealing twice gave the same bytes")
	}
}

func TestOpenRejects(t *testing.T) {
	m := fullMessage()
	sealed, err := dispatch.Seal(rand.Reader, keyA, "msg-1", m)
	if err != nil {
		t.Fatal(err)
	}
	other := fullMessage()
	other.PoolID = "eu-west-1_Seal00002"
	otherPool, err := dispatch.Seal(rand.Reader, keyA, "msg-1", other)
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name   string
		key    []byte
		id     string
		poolID string
		sealed []byte
	}{
		{"wrong key", keyB, "msg-1", m.PoolID, sealed},
		{"wrong id", keyA, "msg-2", m.PoolID, sealed},
		{"id prefix", keyA, "msg-", m.PoolID, sealed},
		{"wrong pool", keyA, "msg-1", "eu-west-1_Seal00002", sealed},
		{"id and pool split differently", keyA, "msg-1e", "u-west-1_Seal00001", sealed},
		{"swapped from another pool", keyA, "msg-1", m.PoolID, otherPool},
		{"empty", keyA, "msg-1", m.PoolID, nil},
		{"version only", keyA, "msg-1", m.PoolID, sealed[:1]},
		{"truncated", keyA, "msg-1", m.PoolID, sealed[:len(sealed)-1]},
		{"unknown version", keyA, "msg-1", m.PoolID, append([]byte{2}, sealed[1:]...)},
		{"extended", keyA, "msg-1", m.PoolID, append(bytes.Clone(sealed), 0)},
	}
	// Every single-bit flip, anywhere, is caught.
	for i := range sealed {
		tampered := bytes.Clone(sealed)
		tampered[i] ^= 1 << (i % 8)
		cases = append(cases, struct {
			name   string
			key    []byte
			id     string
			poolID string
			sealed []byte
		}{"tampered", keyA, "msg-1", m.PoolID, tampered})
	}
	for _, c := range cases {
		got, err := dispatch.Open(c.key, c.id, c.poolID, c.sealed)
		if !errors.Is(err, dispatch.ErrCannotOpen) {
			t.Fatalf("%s: Open error = %v, want ErrCannotOpen", c.name, err)
		}
		if got != (deliver.Message{}) {
			t.Fatalf("%s: Open returned a message with its error", c.name)
		}
		if bytes.Contains([]byte(err.Error()), []byte(m.Code)) {
			t.Fatalf("%s: error %q shows the code", c.name, err)
		}
	}
}

func TestSealNeedsAFullKey(t *testing.T) {
	if _, err := dispatch.Seal(rand.Reader, keyA[:16], "msg-1", fullMessage()); err == nil {
		t.Fatal("Seal accepted a 16-byte key")
	}
	if _, err := dispatch.Open(nil, "msg-1", "p", []byte{1}); err == nil || errors.Is(err, dispatch.ErrCannotOpen) {
		t.Fatalf("Open with no key: %v, want a key error", err)
	}
}

func TestSealNonceFromRand(t *testing.T) {
	if _, err := dispatch.Seal(bytes.NewReader(make([]byte, 5)), keyA, "msg-1", fullMessage()); err == nil {
		t.Fatal("Seal succeeded with a short random source")
	}
	// The same random source gives the same bytes: the nonce is its only
	// randomness.
	a, err := dispatch.Seal(bytes.NewReader(make([]byte, 12)), keyA, "msg-1", fullMessage())
	if err != nil {
		t.Fatal(err)
	}
	b, err := dispatch.Seal(bytes.NewReader(make([]byte, 12)), keyA, "msg-1", fullMessage())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("Seal used randomness other than the nonce it read")
	}
}

// BenchmarkSeal is the crypto share of Enqueue's cost: key derivation,
// JSON and AES-GCM (Enqueue caches the derived key, so pays less).
func BenchmarkSeal(b *testing.B) {
	m := fullMessage()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dispatch.Seal(rand.Reader, keyA, "0123456789abcdef0123456789abcdef", m); err != nil {
			b.Fatal(err)
		}
	}
}
