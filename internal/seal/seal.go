// Package seal encrypts values kept at rest with AES-256-GCM: the originals of
// masked personal data (ticket) and OAuth2 tokens (internal/oauth). A sealed
// value is nonce || ciphertext, bound by associated data to where it belongs.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Sealer seals and opens values under one key. Safe for concurrent use.
type Sealer struct{ aead cipher.AEAD }

// ErrOpen says a sealed value does not open: another key, other associated
// data, or altered bytes.
var ErrOpen = errors.New("sealed value does not open with this key (key rotated or data altered)")

// New returns a Sealer for a 32-byte key.
func New(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("seal: %d-byte key, want 32 (AES-256)", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Derive returns a Sealer whose key is derived from secret (at least 16
// bytes) for purpose by HKDF-SHA256: one secret, a key per purpose.
func Derive(secret []byte, purpose string) (*Sealer, error) {
	if len(secret) < 16 {
		return nil, errors.New("seal: the secret is shorter than 16 bytes")
	}
	key, err := hkdf.Key(sha256.New, secret, nil, purpose, 32)
	if err != nil {
		return nil, err
	}
	return New(key)
}

// Seal returns nonce || ciphertext of plain. ad binds it to where it belongs
// (a message, a login), so it cannot be replayed elsewhere.
func (s *Sealer) Seal(plain, ad []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plain, ad)
}

// Open reverses Seal; ad must be the same.
func (s *Sealer) Open(sealed, ad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, ErrOpen
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}
