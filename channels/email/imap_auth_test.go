package email

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"

	"github.com/contiple/contiple-worker/internal/oauth/oauthtest"
)

// tokenAuth hands out the test server's tokens over OAUTHBEARER, the first
// one already expired when stale is set, and counts refusals.
type tokenAuth struct {
	srv      *oauthtest.Server
	user     string
	tokenFor string // "": user
	mu       sync.Mutex
	stale    bool
	calls    []string // the mechanisms offered, per SASL call
	nRej     int
}

func (a *tokenAuth) SASL(_ context.Context, offered []string) (sasl.Client, func(context.Context), error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, strings.Join(offered, " "))
	ttl := time.Minute
	if a.stale {
		ttl, a.stale = -time.Minute, false
	}
	tokenFor := a.user
	if a.tokenFor != "" {
		tokenFor = a.tokenFor
	}
	c := sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: a.user, Token: a.srv.AccessToken(tokenFor, ttl)})
	return c, func(context.Context) { a.mu.Lock(); a.nRej++; a.mu.Unlock() }, nil
}

// Dovecot answers a refused login only after a pause that grows with the
// failures from 127.0.0.1 (auth_failure_delay and its auth penalty, several
// seconds when other tests fail logins too): tests that expect a refusal
// allow for it.
const refusalTimeout = 45 * time.Second

// Dovecot logs a mailbox in with an OAuth2 token; a refused token is
// reported once and the login retried with a fresh one.
func TestIMAPTokenLoginDovecot(t *testing.T) {
	t.Parallel()
	for _, stale := range []bool{false, true} {
		a := dovecotAccount(t)
		a.Password = ""
		a.Timeout = refusalTimeout
		auth := &tokenAuth{srv: oauthtest.New(t), user: a.Username, stale: stale}
		a.Auth = auth
		appendMails(t, dovecotAccountAs(t, a.Username), "INBOX", testMail("oauth", 10))
		m := dial(t, a)
		if got := fetchAll(t, m, 0, 0, 0); len(got) != 1 {
			t.Fatalf("stale=%v: fetched %d mails, want 1", stale, len(got))
		}
		wantCalls, wantRej := 1, 0
		if stale {
			wantCalls, wantRej = 2, 1
		}
		if len(auth.calls) != wantCalls || auth.nRej != wantRej {
			t.Fatalf("stale=%v: %d token requests, %d refusals; want %d, %d", stale, len(auth.calls), auth.nRej, wantCalls, wantRej)
		}
		if !strings.Contains(auth.calls[0], "OAUTHBEARER") {
			t.Fatalf("the Authenticator was offered %q, want Dovecot's mechanisms", auth.calls[0])
		}
	}
}

// A token refused even when fresh is a permanent login error, tried twice only.
func TestIMAPTokenRefused(t *testing.T) {
	t.Parallel()
	a := dovecotAccount(t)
	a.Password = ""
	a.Timeout = refusalTimeout
	auth := &tokenAuth{srv: oauthtest.New(t), user: a.Username, tokenFor: "someone-else" + randomHex(t, 4)}
	a.Auth = auth
	_, err := Dial(t.Context(), a)
	if err == nil || IsTemporary(err) || !strings.Contains(err.Error(), "refused the access token") {
		t.Fatalf("Dial with another mailbox's token: %v; want a permanent refusal", err)
	}
	if len(auth.calls) != 2 || auth.nRej != 1 {
		t.Fatalf("%d token requests, %d refusals; want 2, 1", len(auth.calls), auth.nRej)
	}
}

// dovecotAccountAs is the password account of user (to fill its mailbox).
func dovecotAccountAs(t testing.TB, user string) Account {
	a := dovecotAccount(t)
	a.Username = user
	return a
}
