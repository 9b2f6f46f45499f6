package ticket

import (
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/contiple/contiple-worker/internal/seal"
)

// Sealer encrypts the originals of masked spans with AES-256-GCM. The key comes
// from the environment (CONTIPLE_MASK_KEY, 32 bytes in base64); without one,
// masking still works but the original is not kept and cannot be unmasked.
type Sealer = seal.Sealer

// ErrNoMaskKey says why an unmask cannot be done.
var ErrNoMaskKey = errors.New("no masking key: set CONTIPLE_MASK_KEY (32 bytes, base64) to keep masked originals recoverable")

// NewSealer returns a Sealer for a base64-encoded 32-byte key.
func NewSealer(keyB64 string) (*Sealer, error) {
	key, err := base64.StdEncoding.DecodeString(keyB64)
	if err != nil {
		return nil, fmt.Errorf("masking key: not base64: %w", err)
	}
	s, err := seal.New(key)
	if err != nil {
		return nil, fmt.Errorf("masking key: %w", err)
	}
	return s, nil
}
