// Package otp generates one-time codes and checks answers against their
// keyed hashes. Codes come from an injected CSPRNG without modulo bias, are
// stored only as HMAC-SHA256 under a server key bound to the session they
// belong to, and are compared in constant time.
package otp

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// MinDigits and MaxDigits bound the code length a pool may choose.
const (
	MinDigits = 6
	MaxDigits = 10
)

// Generate returns a uniformly random code of the given number of decimal
// digits, zero-padded, read from rand (crypto/rand.Reader in production).
func Generate(rand io.Reader, digits int) (string, error) {
	if digits < MinDigits || digits > MaxDigits {
		return "", fmt.Errorf("code length %d is outside %d..%d", digits, MinDigits, MaxDigits)
	}
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil)
	n, err := randInt(rand, limit)
	if err != nil {
		return "", fmt.Errorf("generate code: %w", err)
	}
	return fmt.Sprintf("%0*d", digits, n), nil
}

// randInt returns a uniform value in [0, limit) by rejection sampling, so
// no value is likelier than another (rand % limit would be biased).
func randInt(rand io.Reader, limit *big.Int) (*big.Int, error) {
	bits := limit.BitLen()
	buf := make([]byte, (bits+7)/8)
	extra := uint(len(buf)*8 - bits)
	for {
		if _, err := io.ReadFull(rand, buf); err != nil {
			return nil, err
		}
		buf[0] &= byte(0xff >> extra)
		n := new(big.Int).SetBytes(buf)
		if n.Cmp(limit) < 0 {
			return n, nil
		}
	}
}

// Hasher computes keyed hashes of codes. The key is a server secret, so a
// leaked database does not reveal codes by brute force of the small space.
type Hasher struct {
	key []byte
}

// ErrShortKey is returned for hashing keys under 32 bytes.
var ErrShortKey = errors.New("otp hashing key must be at least 32 bytes")

// NewHasher returns a Hasher using key, which must be at least 32 bytes.
func NewHasher(key []byte) (*Hasher, error) {
	if len(key) < 32 {
		return nil, ErrShortKey
	}
	return &Hasher{key: append([]byte(nil), key...)}, nil
}

// Hash binds code to context (such as a session ID or pool+username+purpose),
// so a code is only good for the request it was issued for.
func (h *Hasher) Hash(context, code string) []byte {
	mac := hmac.New(sha256.New, h.key)
	// Length-prefix the context so ("ab","c") and ("a","bc") differ.
	fmt.Fprintf(mac, "%d:%s|%s", len(context), context, code)
	return mac.Sum(nil)
}

// Check reports in constant time whether answer is the code whose hash under
// context is want.
func (h *Hasher) Check(context, answer string, want []byte) bool {
	got := h.Hash(context, answer)
	return subtle.ConstantTimeCompare(got, want) == 1
}
