package seal_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/contiple/contiple-worker/internal/seal"
)

// A sealed value holds nothing in clear and opens only under its key and its
// associated data, unaltered.
func TestSealOpensOnlyWhereItBelongs(t *testing.T) {
	secret := []byte("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	cache, err := seal.Derive(secret, "cache")
	if err != nil {
		t.Fatal(err)
	}
	refresh, _ := seal.Derive(secret, "refresh")
	sealed := cache.Seal([]byte("token-value"), []byte("mailbox:support"))
	if bytes.Contains(sealed, []byte("token-value")) {
		t.Fatal("sealed value holds the plain text")
	}
	if got, err := cache.Open(sealed, []byte("mailbox:support")); err != nil || string(got) != "token-value" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	altered := bytes.Clone(sealed)
	altered[len(altered)-1] ^= 1
	for name, open := range map[string]func() ([]byte, error){
		"other associated data": func() ([]byte, error) { return cache.Open(sealed, []byte("smtp")) },
		"other purpose's key":   func() ([]byte, error) { return refresh.Open(sealed, []byte("mailbox:support")) },
		"altered bytes":         func() ([]byte, error) { return cache.Open(altered, []byte("mailbox:support")) },
		"too short":             func() ([]byte, error) { return cache.Open(sealed[:5], []byte("mailbox:support")) },
	} {
		if _, err := open(); !errors.Is(err, seal.ErrOpen) {
			t.Errorf("%s: Open = %v, want ErrOpen", name, err)
		}
	}
	if _, err := seal.Derive([]byte("short"), "cache"); err == nil {
		t.Error("a short secret was accepted")
	}
	if _, err := seal.New(make([]byte, 16)); err == nil {
		t.Error("a 16-byte key was accepted for AES-256")
	}
}
