package oauth

import "github.com/contiple/contiple-worker/internal/seal"

// Sealer encrypts tokens at rest (AES-256-GCM): access tokens cached in
// Redis, refresh tokens kept in the database, each bound to its login's name.
type Sealer = seal.Sealer

// Purposes of NewSealer: each gets its own key.
const (
	SealCache   = "contiple-worker oauth2 token cache"
	SealRefresh = "contiple-worker oauth2 refresh tokens"
)

// NewSealer derives the sealing key from secret (the mask key), bound to
// purpose (SealCache, SealRefresh) by HKDF.
func NewSealer(secret []byte, purpose string) (*Sealer, error) { return seal.Derive(secret, purpose) }
