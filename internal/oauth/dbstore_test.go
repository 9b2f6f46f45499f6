package oauth_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/contiple/contiple-worker/internal/oauth"
	"github.com/contiple/contiple-worker/internal/oauth/oauthtest"
	"github.com/contiple/contiple-worker/internal/testenv"
)

// Refresh tokens in the database: sealed, rotated in place, and unreadable
// with another key (with an error that says what to do).
func TestDBStore(t *testing.T) {
	t.Parallel()
	pool := testenv.NewDatabase(t)
	sealer, _ := oauth.NewSealer([]byte("the mask key of this test run"), oauth.SealRefresh)
	store := oauth.DBStore{Pool: pool, Login: "mailbox:db", Sealer: sealer}
	ctx := context.Background()
	if rt, err := store.Load(ctx); err != nil || rt != "" {
		t.Fatalf("Load before any Save = %q, %v; want nothing", rt, err)
	}
	srv, user := oauthtest.New(t), freshUser()
	srv.AddClient("desk", "", user)
	initial := srv.GrantRefreshToken("desk", user)
	if err := store.Save(ctx, initial); err != nil {
		t.Fatal(err)
	}
	e := srv.Endpoint()
	cfg := oauth.Config{Name: "mailbox:db", Provider: oauth.ProviderGeneric, Grant: oauth.GrantRefreshToken,
		ClientID: "desk", TokenURL: e.TokenURL, AuthURL: e.AuthURL}
	if err := imapLogin(t, &oauth.Authenticator{Source: process(t, cfg, newRedis(t), store), User: user}); err != nil {
		t.Fatal(err)
	}
	rotated, err := store.Load(ctx)
	if err != nil || rotated == initial || !strings.HasPrefix(rotated, "rt-") {
		t.Fatalf("after a refresh the store holds %q (%v); want the rotated token", rotated, err)
	}
	var raw []byte
	if err := pool.QueryRow(ctx, `SELECT sealed FROM oauth_refresh_tokens WHERE login = 'mailbox:db'`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(rotated)) {
		t.Fatal("the refresh token is in the database in clear")
	}
	other, _ := oauth.NewSealer([]byte("another mask key, after a rotation"), oauth.SealRefresh)
	if _, err := (oauth.DBStore{Pool: pool, Login: "mailbox:db", Sealer: other}).Load(ctx); err == nil ||
		!strings.Contains(err.Error(), "mailbox authorize") {
		t.Fatalf("Load with another key: %v", err)
	}
}
