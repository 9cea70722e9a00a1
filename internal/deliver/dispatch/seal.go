package dispatch

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/latchkey/latchkey/internal/deliver"
)

// ErrCannotOpen means a sealed message could not be opened: it was
// tampered with, moved to another outbox row or pool, sealed under another
// key, or written in an unknown format.
var ErrCannotOpen = errors.New("sealed message cannot be opened")

const (
	// sealVersion is the first byte of every sealed message, so the format
	// can change without guessing what old rows hold.
	sealVersion = 1
	// keyInfo separates the outbox key from the other uses of a pool's
	// HashKey (code and destination hashes).
	keyInfo = "latchkey outbox v1"
	// minKeyLen matches what otp.NewHasher asks of the same key.
	minKeyLen = 32
)

// kind is sealed into the additional data, so that flipping a row's decoy
// flag makes a decoy unopenable instead of sendable.
type kind byte

const (
	kindReal  kind = 0
	kindDecoy kind = 1
)

// sealedMessage is the JSON sealed in an outbox row. deliver.Message is not
// marshalled directly: its String methods hide the code, and its field
// names must not silently become the stored format.
type sealedMessage struct {
	PoolID  string `json:"pool_id"`
	Channel string `json:"channel"`
	To      string `json:"to"`
	Subject string `json:"subject,omitempty"`
	Body    string `json:"body"`
	HTML    string `json:"html,omitempty"`
	Code    string `json:"code"`
	Purpose string `json:"purpose"`
	Locale  string `json:"locale,omitempty"`
}

// Seal encrypts m for the outbox row id of pool m.PoolID under an
// AES-256-GCM key derived from the pool's HashKey with HKDF-SHA256. The
// nonce is read from rand. The row ID and pool ID are authenticated, so the
// result opens only for that row of that pool.
func Seal(rand io.Reader, hashKey []byte, id string, m deliver.Message) ([]byte, error) {
	aead, err := newAEAD(hashKey)
	if err != nil {
		return nil, fmt.Errorf("seal outbox message %s: %w", id, err)
	}
	return seal(rand, aead, id, kindReal, m)
}

// Open decrypts a message that Seal sealed for row id of pool poolID. Any
// mismatch (key, row, pool, tampered bytes) is an error wrapping
// ErrCannotOpen.
func Open(hashKey []byte, id, poolID string, sealed []byte) (deliver.Message, error) {
	aead, err := newAEAD(hashKey)
	if err != nil {
		return deliver.Message{}, fmt.Errorf("open outbox message %s: %w", id, err)
	}
	return open(aead, id, poolID, kindReal, sealed)
}

// newAEAD derives the pool's outbox key from its HashKey.
func newAEAD(hashKey []byte) (cipher.AEAD, error) {
	if len(hashKey) < minKeyLen {
		return nil, fmt.Errorf("pool hash key has %d bytes, need at least %d", len(hashKey), minKeyLen)
	}
	key, err := hkdf.Key(sha256.New, hashKey, nil, keyInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("derive outbox key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("derive outbox key: %w", err)
	}
	return cipher.NewGCM(block)
}

// additionalData binds a sealed message to its row. The ID is length
// prefixed so that no two (id, pool) pairs encode alike.
func additionalData(id, poolID string, k kind) []byte {
	ad := make([]byte, 0, 2+binary.MaxVarintLen64+len(id)+len(poolID))
	ad = append(ad, sealVersion, byte(k))
	ad = binary.AppendUvarint(ad, uint64(len(id)))
	ad = append(ad, id...)
	return append(ad, poolID...)
}

func seal(rand io.Reader, aead cipher.AEAD, id string, k kind, m deliver.Message) ([]byte, error) {
	if m.PoolID == "" {
		return nil, fmt.Errorf("seal outbox message %s: message has no pool", id)
	}
	plain, err := json.Marshal(sealedMessage{
		PoolID:  m.PoolID,
		Channel: string(m.Channel),
		To:      m.To,
		Subject: m.Subject,
		Body:    m.Body,
		HTML:    m.HTML,
		Code:    m.Code,
		Purpose: m.Purpose,
		Locale:  m.Locale,
	})
	if err != nil {
		return nil, fmt.Errorf("seal outbox message %s: %w", id, err)
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plain)+aead.Overhead())
	out[0] = sealVersion
	nonce := out[1:]
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return nil, fmt.Errorf("seal outbox message %s: read nonce: %w", id, err)
	}
	out = aead.Seal(out, nonce, plain, additionalData(id, m.PoolID, k))
	clear(plain) // best effort: the code should not linger in the heap
	return out, nil
}

func open(aead cipher.AEAD, id, poolID string, k kind, sealed []byte) (deliver.Message, error) {
	fail := func(why string) (deliver.Message, error) {
		return deliver.Message{}, fmt.Errorf("open outbox message %s of pool %s: %s: %w", id, poolID, why, ErrCannotOpen)
	}
	if len(sealed) == 0 {
		return fail("empty")
	}
	if sealed[0] != sealVersion {
		return fail(fmt.Sprintf("unknown format version %d", sealed[0]))
	}
	if len(sealed) < 1+aead.NonceSize()+aead.Overhead() {
		return fail("truncated")
	}
	nonce, ct := sealed[1:1+aead.NonceSize()], sealed[1+aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, ct, additionalData(id, poolID, k))
	if err != nil {
		return fail("authentication failed (tampered, moved to another row or pool, or sealed under another key)")
	}
	defer clear(plain)
	var sm sealedMessage
	if err := json.Unmarshal(plain, &sm); err != nil {
		// Authenticated yet malformed: a bug in whatever sealed it.
		return fail("malformed content")
	}
	if sm.PoolID != poolID {
		return fail("sealed for another pool")
	}
	return deliver.Message{
		PoolID:  sm.PoolID,
		Channel: deliver.Channel(sm.Channel),
		To:      sm.To,
		Subject: sm.Subject,
		Body:    sm.Body,
		HTML:    sm.HTML,
		Code:    sm.Code,
		Purpose: sm.Purpose,
		Locale:  sm.Locale,
	}, nil
}
