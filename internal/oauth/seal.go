package oauth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
)

// Sealer encrypts tokens at rest (AES-256-GCM): access tokens cached in
// Redis, refresh tokens kept in the database.
type Sealer struct{ aead cipher.AEAD }

// Purposes of NewSealer: each gets its own key.
const (
	SealCache   = "contiple-worker oauth2 token cache"
	SealRefresh = "contiple-worker oauth2 refresh tokens"
)

// NewSealer derives the sealing key from secret (the mask key), bound to
// purpose (SealCache, SealRefresh) by HKDF.
func NewSealer(secret []byte, purpose string) (*Sealer, error) {
	if len(secret) < 16 {
		return nil, errors.New("oauth: the sealing secret is shorter than 16 bytes")
	}
	key, err := hkdf.Key(sha256.New, secret, nil, purpose, 32)
	if err != nil {
		return nil, err
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

// Seal encrypts plain; name is bound as associated data, so a sealed value
// moved to another login's key does not open.
func (s *Sealer) Seal(name string, plain []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plain, []byte(name))
}

// Open decrypts what Seal made.
func (s *Sealer) Open(name string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("oauth: sealed value too short")
	}
	return s.aead.Open(nil, sealed[:n], sealed[n:], []byte(name))
}
