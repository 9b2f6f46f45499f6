package oauth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"time"

	"golang.org/x/oauth2"
)

// Authorize runs a person through consent once and returns the refresh token
// of the delegated grant: the device-code flow for Microsoft (and a generic
// provider with only a device endpoint), the authorization-code flow with
// PKCE and a loopback redirect on listen (e.g. "127.0.0.1:0") otherwise.
// tell shows the person what to do: a URL to open, and for the device flow
// the code to type there.
func Authorize(ctx context.Context, cfg Config, listen string, tell func(url, code string)) (string, error) {
	if cfg.Grant != GrantRefreshToken {
		return "", fmt.Errorf("%s: the %s grant needs no authorization by a person", cfg, cfg.Grant)
	}
	if err := cfg.Validate(); err != nil {
		return "", err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	e := cfg.Endpoint()
	var tok *oauth2.Token
	var err error
	if cfg.Provider == ProviderMicrosoft || e.AuthURL == "" {
		tok, err = authorizeDevice(ctx, cfg, tell)
	} else {
		tok, err = authorizeLoopback(ctx, cfg, listen, tell)
	}
	if err != nil {
		return "", cfg.classify(err)
	}
	if tok.RefreshToken == "" {
		return "", fmt.Errorf("%s: the provider granted no refresh token (Microsoft: add the offline_access scope; Google: consent again)", cfg)
	}
	return tok.RefreshToken, nil
}

func authorizeDevice(ctx context.Context, cfg Config, tell func(url, code string)) (*oauth2.Token, error) {
	oc := cfg.OAuth2("")
	if oc.Endpoint.DeviceAuthURL == "" {
		return nil, fmt.Errorf("%s: no device authorization endpoint (device_auth_url)", cfg)
	}
	da, err := oc.DeviceAuth(ctx)
	if err != nil {
		return nil, err
	}
	url := da.VerificationURIComplete
	if url == "" {
		url = da.VerificationURI
	}
	tell(url, da.UserCode)
	return oc.DeviceAccessToken(ctx, da)
}

// authorizeLoopback listens on a loopback address for the provider's
// redirect (RFC 8252 7.3), bound to the request by state and PKCE.
func authorizeLoopback(ctx context.Context, cfg Config, listen string, tell func(url, code string)) (*oauth2.Token, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("loopback redirect: %w", err)
	}
	defer ln.Close()
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		return nil, fmt.Errorf("loopback redirect: %s is not a loopback address", ln.Addr())
	}
	oc := cfg.OAuth2("http://" + ln.Addr().String() + "/")
	state, verifier := randomHex(16), oauth2.GenerateVerifier()
	type result struct {
		code string
		err  error
	}
	got := make(chan result, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var res result
		switch {
		case q.Get("state") != state:
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return // not the redirect we wait for (a stray browser request)
		case q.Get("error") != "":
			res.err = fmt.Errorf("the provider refused: %s %s", q.Get("error"), q.Get("error_description"))
		case q.Get("code") == "":
			res.err = errors.New("the redirect carries no code")
		default:
			res.code = q.Get("code")
		}
		msg := "Authorized: you can close this window."
		if res.err != nil {
			msg = "Not authorized: " + res.err.Error()
		}
		fmt.Fprintf(w, "<!doctype html><title>contiple-worker</title><p>%s</p>\n", html.EscapeString(msg))
		select {
		case got <- res:
		default:
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()
	tell(oc.AuthCodeURL(state, oauth2.AccessTypeOffline, oauth2.ApprovalForce, oauth2.S256ChallengeOption(verifier)), "")
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the browser's redirect: %w", ctx.Err())
	case res := <-got:
		if res.err != nil {
			return nil, res.err
		}
		return oc.Exchange(ctx, res.code, oauth2.VerifierOption(verifier))
	}
}

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
