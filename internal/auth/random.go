package auth

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/google/uuid"
)

const (
	alphanumeric      = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lowerAlphanumeric = "0123456789abcdefghijklmnopqrstuvwxyz"
)

// entropy draws every random value the engine and the admin make from one
// injected reader (crypto/rand.Reader in production).
type entropy struct {
	rand io.Reader
}

// randomBytes returns n random bytes.
func (x entropy) randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(x.rand, b); err != nil {
		return nil, fmt.Errorf("read randomness: %w", err)
	}
	return b, nil
}

// randomText returns n characters drawn uniformly from alphabet.
func (x entropy) randomText(n int, alphabet string) (string, error) {
	// Reject bytes above the largest multiple of len(alphabet) so every
	// character is equally likely.
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	for len(out) < n {
		b, err := x.randomBytes(n)
		if err != nil {
			return "", err
		}
		for _, c := range b {
			if int(c) < limit && len(out) < n {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}

// newUUID returns a random (version 4) UUID from the engine's randomness.
func (x entropy) newUUID() (string, error) {
	u, err := uuid.NewRandomFromReader(x.rand)
	if err != nil {
		return "", fmt.Errorf("new uuid: %w", err)
	}
	return u.String(), nil
}

// newOpaque returns an opaque secret of n random bytes, base64url encoded.
func (x entropy) newOpaque(n int) (string, error) {
	b, err := x.randomBytes(n)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// newID returns a random hex identifier for internal records.
func (x entropy) newID() (string, error) {
	b, err := x.randomBytes(16)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
