package oauth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// RefreshStore keeps a login's refresh token. Save must be durable when it
// returns: a rotated refresh token is saved before it is used again, so a
// restart never holds a token the provider has already replaced.
type RefreshStore interface {
	// Load returns the stored token, or "" when none is stored yet.
	Load(ctx context.Context) (string, error)
	Save(ctx context.Context, token string) error
}

// FileStore keeps the refresh token in a file (mode 0600), replaced
// atomically: a crash leaves the old or the new token, never half of one.
type FileStore struct{ Path string }

func (f FileStore) Load(context.Context) (string, error) {
	b, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("refresh token file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func (f FileStore) Save(_ context.Context, token string) error {
	dir := filepath.Dir(f.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("refresh token file: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.Path)+".*")
	if err != nil {
		return fmt.Errorf("refresh token file: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	_, err = tmp.WriteString(token + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.Path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("refresh token file: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
