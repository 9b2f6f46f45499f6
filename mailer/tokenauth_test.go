package mailer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wneessen/go-mail/smtp"

	"github.com/contiple/contiple-worker/internal/oauth/oauthtest"
	"github.com/contiple/contiple-worker/internal/testenv"
)

// xoauth2 hands out the test server's tokens with go-mail's own XOAUTH2
// client; the first one already expired when stale is set.
type xoauth2 struct {
	srv             *oauthtest.Server
	user, tokenFor  string
	mu              sync.Mutex
	stale           bool
	calls, refusals int
}

func (a *xoauth2) SMTPAuth(context.Context) (smtp.Auth, func(context.Context), error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	ttl := time.Minute
	if a.stale {
		ttl, a.stale = -time.Minute, false
	}
	return smtp.XOAuth2Auth(a.user, a.srv.AccessToken(a.tokenFor, ttl)), func(context.Context) {
		a.mu.Lock()
		a.refusals++
		a.mu.Unlock()
	}, nil
}

// postfixSender sends through the local Postfix. Its timeout allows for
// Dovecot's pause before it answers a refused login (auth_failure_delay and
// the auth penalty of 127.0.0.1: several seconds when other tests fail logins).
func postfixSender(t *testing.T, auth Authenticator) *Sender {
	t.Helper()
	host, port, err := net.SplitHostPort(testenv.Lookup(t, "CONTIPLE_SMTP_ADDR"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	s, err := NewSender(SMTPConfig{Host: host, Port: p, TLS: "none", Username: "support", Token: auth, Timeout: 45 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Postfix (SMTP AUTH through Dovecot's SASL) takes an OAuth2 token; a
// refused one is reported once and the session dialled again with a fresh one.
func TestSenderTokenAuthPostfix(t *testing.T) {
	t.Parallel()
	srv := oauthtest.New(t)
	for _, stale := range []bool{false, true} {
		user := "desk" + randHex(5) + "@example.test"
		auth := &xoauth2{srv: srv, user: user, tokenFor: user, stale: stale}
		s := postfixSender(t, auth)
		m := testMessage()
		m.To = Person{Address: "customer" + randHex(5) + "@example.test"}
		if err := s.Send(context.Background(), m); err != nil {
			t.Fatalf("stale=%v: %v", stale, err)
		}
		want := map[bool][2]int{false: {1, 0}, true: {2, 1}}[stale]
		if auth.calls != want[0] || auth.refusals != want[1] {
			t.Fatalf("stale=%v: %d tokens, %d refusals; want %v", stale, auth.calls, auth.refusals, want)
		}
	}
}

// A token Postfix refuses even fresh fails the send at the auth stage, as a
// temporary error (the mail waits for the login to be mended), after one retry.
func TestSenderTokenRefusedPostfix(t *testing.T) {
	t.Parallel()
	user := "desk" + randHex(5) + "@example.test"
	auth := &xoauth2{srv: oauthtest.New(t), user: user, tokenFor: "other" + randHex(5)}
	err := postfixSender(t, auth).Send(context.Background(), testMessage())
	var se *SendError
	if !errors.As(err, &se) || se.Stage != "auth" || !se.Temporary {
		t.Fatalf("send with another account's token: %v; want a temporary auth failure", err)
	}
	if auth.calls != 2 || auth.refusals != 1 {
		t.Fatalf("%d tokens, %d refusals; want 2, 1", auth.calls, auth.refusals)
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
