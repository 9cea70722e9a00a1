package seal_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/seal"
)

var (
	keyA = bytes.Repeat([]byte{0xa5}, 32)
	keyB = bytes.Repeat([]byte{0x5a}, 32)
)

func mustBox(t testing.TB, key []byte, purpose string) *seal.Box {
	t.Helper()
	b, err := seal.New(key, purpose)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpen(t *testing.T) {
	plain := []byte(`{"answer":"123456"}`)
	ad := []byte("pool-1/session-1")
	box := mustBox(t, keyA, "test v1")
	sealed, err := box.Seal(rand.Reader, plain, ad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("123456")) {
		t.Fatal("the sealed value holds the secret in clear")
	}
	again, err := box.Seal(rand.Reader, plain, ad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals of one value are equal: the nonce is not fresh")
	}
	got, err := box.Open(sealed, ad)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v; want %q", got, err, plain)
	}

	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	versioned := bytes.Clone(sealed)
	versioned[0] = 2
	cases := []struct {
		name   string
		box    *seal.Box
		sealed []byte
		ad     []byte
		why    string
	}{
		{"other row", box, sealed, []byte("pool-1/session-2"), "authentication failed"},
		{"other purpose", mustBox(t, keyA, "test v2"), sealed, ad, "authentication failed"},
		{"other key", mustBox(t, keyB, "test v1"), sealed, ad, "authentication failed"},
		{"tampered", box, tampered, ad, "authentication failed"},
		{"unknown version", box, versioned, ad, "unknown format version 2"},
		{"truncated", box, sealed[:20], ad, "truncated"},
		{"empty", box, nil, ad, "empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.box.Open(c.sealed, c.ad)
			if !errors.Is(err, seal.ErrCannotOpen) || got != nil {
				t.Fatalf("Open = %q, %v; want ErrCannotOpen", got, err)
			}
			if !strings.Contains(err.Error(), c.why) {
				t.Fatalf("error %q does not say %q", err, c.why)
			}
		})
	}
}

func TestNewRefusesShortKeys(t *testing.T) {
	if _, err := seal.New(make([]byte, seal.MinKeyLen-1), "test v1"); err == nil {
		t.Fatal("a 31-byte key was accepted")
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func TestSealReportsRandomnessFailure(t *testing.T) {
	if _, err := mustBox(t, keyA, "test v1").Seal(failingReader{}, []byte("x"), nil); err == nil {
		t.Fatal("Seal succeeded without a nonce")
	}
}

// FuzzOpen: sealed values come back from the database, which an attacker
// may have written to. Open must never panic, and must open nothing that
// was not sealed with its key, purpose and additional data.
func FuzzOpen(f *testing.F) {
	box := mustBox(f, keyA, "fuzz v1")
	// A fixed nonce, so that every fuzzing process seals the same bytes.
	sealed, err := box.Seal(bytes.NewReader(make([]byte, 12)), []byte("secret"), []byte("ad"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed, []byte("ad"))
	f.Add([]byte{1}, []byte{})
	f.Add([]byte{}, []byte("ad"))
	f.Fuzz(func(t *testing.T, data, ad []byte) {
		got, err := box.Open(data, ad)
		if err != nil {
			if !errors.Is(err, seal.ErrCannotOpen) {
				t.Fatalf("error %v does not wrap ErrCannotOpen", err)
			}
			return
		}
		if !bytes.Equal(data, sealed) || !bytes.Equal(ad, []byte("ad")) || string(got) != "secret" {
			t.Fatalf("Open accepted a value it never sealed: %x with ad %q", data, ad)
		}
	})
}
