// Package seal encrypts small secrets a row must keep (an outbox message,
// a custom challenge's private parameters) under a key derived from a
// pool's HashKey, so that a copy of the database alone does not reveal
// them.
//
// A Box is AES-256-GCM under HKDF-SHA256(HashKey, info = purpose): each use
// gets its own key, so a value sealed for one purpose never opens as
// another. The additional data binds a sealed value to where it is
// stored (its row, its pool), so it cannot be moved. Sealed values are
// version byte || nonce || ciphertext.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
)

// ErrCannotOpen means a sealed value could not be opened: it was tampered
// with, moved to another row or pool, sealed under another key or for
// another purpose, or written in an unknown format.
var ErrCannotOpen = errors.New("sealed value cannot be opened")

const (
	// version is the first byte of every sealed value, so the format can
	// change without guessing what old rows hold.
	version = 1
	// MinKeyLen matches what otp.NewHasher asks of the same key.
	MinKeyLen = 32
)

// Box seals and opens values for one purpose under one pool's key.
type Box struct {
	aead cipher.AEAD
}

// New returns the Box for purpose under hashKey (at least MinKeyLen
// bytes). purpose names the use and its version, e.g. "latchkey outbox v1".
func New(hashKey []byte, purpose string) (*Box, error) {
	if len(hashKey) < MinKeyLen {
		return nil, fmt.Errorf("pool hash key has %d bytes, need at least %d", len(hashKey), MinKeyLen)
	}
	key, err := hkdf.Key(sha256.New, hashKey, nil, purpose, 32)
	if err != nil {
		return nil, fmt.Errorf("derive %q key: %w", purpose, err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("derive %q key: %w", purpose, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("derive %q key: %w", purpose, err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plain, authenticating ad with it, under a nonce read from
// rand.
func (b *Box) Seal(rand io.Reader, plain, ad []byte) ([]byte, error) {
	out := make([]byte, 1+b.aead.NonceSize(), 1+b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	out[0] = version
	nonce := out[1:]
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return nil, fmt.Errorf("read nonce: %w", err)
	}
	return b.aead.Seal(out, nonce, plain, ad), nil
}

// Open decrypts what Seal sealed with the same ad. Any mismatch is an
// error wrapping ErrCannotOpen that says which check failed, never what
// the value holds.
func (b *Box) Open(sealed, ad []byte) ([]byte, error) {
	fail := func(why string) ([]byte, error) { return nil, fmt.Errorf("%s: %w", why, ErrCannotOpen) }
	if len(sealed) == 0 {
		return fail("empty")
	}
	if sealed[0] != version {
		return fail(fmt.Sprintf("unknown format version %d", sealed[0]))
	}
	if len(sealed) < 1+b.aead.NonceSize()+b.aead.Overhead() {
		return fail("truncated")
	}
	nonce, ct := sealed[1:1+b.aead.NonceSize()], sealed[1+b.aead.NonceSize():]
	plain, err := b.aead.Open(nil, nonce, ct, ad)
	if err != nil {
		return fail("authentication failed (tampered, moved, or sealed under another key or purpose)")
	}
	return plain, nil
}
