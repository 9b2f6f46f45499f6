package oauth_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/contiple/contiple-worker/internal/oauth"
	"github.com/contiple/contiple-worker/internal/oauth/oauthtest"
)

// The device-code flow (Microsoft): the person is told a URL and a code,
// approves, and the refresh token comes back and works.
func TestAuthorizeDeviceCode(t *testing.T) {
	t.Parallel()
	srv, user := oauthtest.New(t), freshUser()
	srv.AddClient("desk", "", user)
	e := srv.Endpoint()
	cfg := oauth.Config{Name: "device", Provider: oauth.ProviderMicrosoft, Grant: oauth.GrantRefreshToken, TenantID: "contoso",
		ClientID: "desk", TokenURL: e.TokenURL, DeviceAuthURL: e.DeviceAuthURL}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rt, err := oauth.Authorize(ctx, cfg, "", func(url, code string) {
		if url == "" || code == "" {
			t.Errorf("told url %q code %q", url, code)
		}
		go func() {
			time.Sleep(1500 * time.Millisecond) // the person types the code after the first poll
			if err := srv.ApproveDevice(code, user); err != nil {
				t.Error(err)
			}
		}()
	})
	if err != nil || !strings.HasPrefix(rt, "rt-") {
		t.Fatalf("Authorize = %q, %v", rt, err)
	}
	if srv.Requests(oauthtest.GrantDeviceCode) < 2 {
		t.Fatalf("the flow polled %d times; want it to wait while approval was pending", srv.Requests(oauthtest.GrantDeviceCode))
	}
	checkRefreshToken(t, srv, cfg, rt, user)
}

// The loopback flow (Google, generic): the browser (here an HTTP client
// following redirects) lands on the worker's loopback listener.
func TestAuthorizeLoopback(t *testing.T) {
	t.Parallel()
	srv, user := oauthtest.New(t), freshUser()
	srv.AddClient("desk", "desk-secret", user)
	srv.AuthorizeAs(user)
	e := srv.Endpoint()
	cfg := oauth.Config{Name: "loopback", Provider: oauth.ProviderGoogle, Grant: oauth.GrantRefreshToken,
		ClientID: "desk", ClientSecret: "desk-secret", TokenURL: e.TokenURL, AuthURL: e.AuthURL}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rt, err := oauth.Authorize(ctx, cfg, "127.0.0.1:0", func(url, code string) {
		if !strings.Contains(url, "code_challenge_method=S256") || !strings.Contains(url, "redirect_uri=http%3A%2F%2F127.0.0.1%3A") {
			t.Errorf("authorization URL %s lacks PKCE or the loopback redirect", url)
		}
		go func() {
			resp, err := http.Get(url)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		}()
	})
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	checkRefreshToken(t, srv, cfg, rt, user)
}

// checkRefreshToken logs user in to Dovecot with a token refreshed from rt.
func checkRefreshToken(t *testing.T, srv *oauthtest.Server, cfg oauth.Config, rt, user string) {
	t.Helper()
	store := oauth.FileStore{Path: t.TempDir() + "/rt"}
	store.Save(context.Background(), rt)
	if err := imapLogin(t, &oauth.Authenticator{Source: process(t, cfg, newRedis(t), store), User: user}); err != nil {
		t.Fatalf("login with the authorized grant: %v", err)
	}
}
