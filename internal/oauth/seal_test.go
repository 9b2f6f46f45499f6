package oauth_test

import (
	"bytes"
	"testing"

	"github.com/contiple/contiple-worker/internal/oauth"
)

// A sealed token opens only under its login, its purpose and its secret.
func TestSealer(t *testing.T) {
	secret := []byte("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	cache, _ := oauth.NewSealer(secret, oauth.SealCache)
	refresh, _ := oauth.NewSealer(secret, oauth.SealRefresh)
	sealed := cache.Seal("mailbox:support", []byte("token-value"))
	if bytes.Contains(sealed, []byte("token-value")) {
		t.Fatal("sealed value holds the token in clear")
	}
	if got, err := cache.Open("mailbox:support", sealed); err != nil || string(got) != "token-value" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := cache.Open("smtp", sealed); err == nil {
		t.Error("a token sealed for one login opened under another")
	}
	if _, err := refresh.Open("mailbox:support", sealed); err == nil {
		t.Error("a cache token opened with the refresh-token key")
	}
	if _, err := oauth.NewSealer([]byte("short"), oauth.SealCache); err == nil {
		t.Error("a short secret was accepted")
	}
}
