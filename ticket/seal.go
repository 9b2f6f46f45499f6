package ticket

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// Sealer encrypts the originals of masked spans with AES-256-GCM. The key comes
// from the environment (CONTIPLE_MASK_KEY, 32 bytes in base64); without one,
// masking still works but the original is not kept and cannot be unmasked.
type Sealer struct{ aead cipher.AEAD }

// ErrNoMaskKey says why an unmask cannot be done.
var ErrNoMaskKey = errors.New("no masking key: set CONTIPLE_MASK_KEY (32 bytes, base64) to keep masked originals recoverable")

// NewSealer returns a Sealer for a base64-encoded 32-byte key.
func NewSealer(keyB64 string) (*Sealer, error) {
	key, err := base64.StdEncoding.DecodeString(keyB64)
	if err != nil {
		return nil, fmt.Errorf("masking key: not base64: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("masking key: %d bytes, want 32 (AES-256)", len(key))
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

// Seal returns nonce || ciphertext. ad binds the sealed text to where it belongs
// (the message id), so a sealed span cannot be replayed onto another message.
func (s *Sealer) Seal(plain, ad []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plain, ad)
}

// Open reverses Seal.
func (s *Sealer) Open(sealed, ad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed text too short")
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], ad)
	if err != nil {
		return nil, errors.New("sealed text does not open with this key (key rotated or data altered)")
	}
	return plain, nil
}
