package dispatch

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"

	"github.com/latchkey/latchkey/internal/deliver"
	"github.com/latchkey/latchkey/internal/seal"
)

// ErrCannotOpen means a sealed message could not be opened: it was
// tampered with, moved to another outbox row or pool, sealed under another
// key, or written in an unknown format.
var ErrCannotOpen = seal.ErrCannotOpen

const (
	// sealVersion is in the additional data of every sealed message, so
	// the content's format can change without guessing what old rows hold.
	sealVersion = 1
	// keyInfo separates the outbox key from the other uses of a pool's
	// HashKey (code and destination hashes).
	keyInfo = "latchkey outbox v1"
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
	return sealMessage(rand, aead, id, kindReal, m)
}

// Open decrypts a message that Seal sealed for row id of pool poolID. Any
// mismatch (key, row, pool, tampered bytes) is an error wrapping
// ErrCannotOpen.
func Open(hashKey []byte, id, poolID string, sealed []byte) (deliver.Message, error) {
	aead, err := newAEAD(hashKey)
	if err != nil {
		return deliver.Message{}, fmt.Errorf("open outbox message %s: %w", id, err)
	}
	return openMessage(aead, id, poolID, kindReal, sealed)
}

// newAEAD derives the pool's outbox key from its HashKey.
func newAEAD(hashKey []byte) (*seal.Box, error) {
	return seal.New(hashKey, keyInfo)
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

func sealMessage(rand io.Reader, box *seal.Box, id string, k kind, m deliver.Message) ([]byte, error) {
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
	defer clear(plain) // best effort: the code should not linger in the heap
	out, err := box.Seal(rand, plain, additionalData(id, m.PoolID, k))
	if err != nil {
		return nil, fmt.Errorf("seal outbox message %s: %w", id, err)
	}
	return out, nil
}

func openMessage(box *seal.Box, id, poolID string, k kind, sealed []byte) (deliver.Message, error) {
	fail := func(why string) (deliver.Message, error) {
		return deliver.Message{}, fmt.Errorf("open outbox message %s of pool %s: %s: %w", id, poolID, why, ErrCannotOpen)
	}
	plain, err := box.Open(sealed, additionalData(id, poolID, k))
	if err != nil {
		return deliver.Message{}, fmt.Errorf("open outbox message %s of pool %s: %w", id, poolID, err)
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
