package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/redis/go-redis/v9"

	"github.com/contiple/contiple-worker/channels/email"
	"github.com/contiple/contiple-worker/internal/config"
	"github.com/contiple/contiple-worker/internal/oauth"
	"github.com/contiple/contiple-worker/internal/oauth/oauthtest"
	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/mailer"
)

func hexID() string {
	b := make([]byte, 5)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// appendAs stores raw in user's INBOX, logging in with the services' password.
func appendAs(t *testing.T, user, raw string) {
	t.Helper()
	c, err := imapclient.DialInsecure(testenv.Lookup(t, "CONTIPLE_IMAP_ADDR"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, testenv.Lookup(t, "CONTIPLE_IMAP_PASSWORD")).Wait(); err != nil {
		t.Fatal(err)
	}
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	io.WriteString(cmd, raw)
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

// inboxCount is how many messages user's INBOX holds.
func inboxCount(t *testing.T, user string) uint32 {
	t.Helper()
	c, err := imapclient.DialInsecure(testenv.Lookup(t, "CONTIPLE_IMAP_ADDR"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, testenv.Lookup(t, "CONTIPLE_IMAP_PASSWORD")).Wait(); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || st.NumMessages == nil {
		return 0
	}
	return *st.NumMessages
}

func customerMail(from, to, subject string) string {
	return fmt.Sprintf("From: Customer <%s>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@customer.example>\r\n"+
		"Date: Thu, 03 Dec 2026 09:00:00 +0900\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello, %s\r\n",
		from, to, subject, hexID(), subject)
}

func oauthRedis(t *testing.T) redis.UniversalClient {
	t.Helper()
	opt, err := redis.ParseURL(testenv.NewRedisDB(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// A mailbox whose token expires while the connection waits in IDLE: the
// session goes on (new mail wakes it and is fetched), and the next login
// refreshes the token ahead of time instead of failing.
func TestOAuth2TokenExpiresMidIDLE(t *testing.T) {
	t.Parallel()
	srv, user := oauthtest.New(t), "idle"+hexID()+"@example.test"
	srv.SetTTL(3 * time.Second)
	srv.AddClient("desk", "", user)
	e := srv.Endpoint()
	store := oauth.FileStore{Path: filepath.Join(t.TempDir(), "rt")}
	store.Save(context.Background(), srv.GrantRefreshToken("desk", user))
	src, err := oauth.NewSource(oauth.Config{Name: "idle", Provider: oauth.ProviderGeneric, Grant: oauth.GrantRefreshToken,
		ClientID: "desk", TokenURL: e.TokenURL, AuthURL: e.AuthURL}, oauth.SourceOptions{Redis: oauthRedis(t), Store: store})
	if err != nil {
		t.Fatal(err)
	}
	acct := email.Account{Host: "127.0.0.1", Port: imapPort(t), TLS: email.TLSNone, Username: user,
		Auth: &oauth.Authenticator{Source: src, User: user}, Timeout: 10 * time.Second}
	m, err := email.Dial(t.Context(), acct)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	go func() {
		time.Sleep(4 * time.Second) // past the token's exp
		appendAs(t, user, customerMail("c@customer.example", user, "after expiry"))
	}()
	if err := m.Wait(t.Context(), time.Minute); err != nil {
		t.Fatalf("IDLE across the token's expiry: %v", err)
	}
	n := 0
	if err := m.Fetch(t.Context(), 0, 0, 0, func(email.Fetched) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("fetch after expiry: %d mails, %v", n, err)
	}
	m2, err := email.Dial(t.Context(), acct)
	if err != nil {
		t.Fatalf("a new login after expiry: %v", err)
	}
	m2.Close()
	if got := srv.Requests(oauthtest.GrantRefreshToken); got != 2 {
		t.Fatalf("%d refreshes, want 2 (the first token, and one for the login after expiry)", got)
	}
}

// The SMTP account's token expires while a session is open: the logged-in
// session keeps sending, and a new session (another process here) gets a
// fresh token first.
func TestOAuth2TokenExpiresMidSend(t *testing.T) {
	t.Parallel()
	srv, user := oauthtest.New(t), "out"+hexID()+"@example.test"
	srv.SetTTL(2 * time.Second)
	srv.AddClient("mailer", "m-secret", user)
	rdb := oauthRedis(t)
	cfg := oauth.Config{Name: "smtp", Provider: oauth.ProviderGeneric, Grant: oauth.GrantClientCredentials,
		ClientID: "mailer", ClientSecret: "m-secret", TokenURL: srv.Endpoint().TokenURL}
	sender := func(maxIdle int) *mailer.Sender {
		src, err := oauth.NewSource(cfg, oauth.SourceOptions{Redis: rdb})
		if err != nil {
			t.Fatal(err)
		}
		s, err := mailer.NewSender(mailer.SMTPConfig{Host: "127.0.0.1", Port: smtpPort(t), TLS: "none", Username: user,
			Token: &oauth.Authenticator{Source: src, User: user}, MaxIdle: maxIdle, IdleTimeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	msg := func(i int) *mailer.Message {
		return &mailer.Message{From: mailer.Person{Address: user}, To: mailer.Person{Address: "c" + hexID() + "@example.test"},
			MessageID: fmt.Sprintf("ct-%d-%s@example.test", i, hexID()), Subject: "Re: [CT-1]", Text: "Done.\n", Date: time.Now()}
	}
	a, b := sender(0), sender(-1)
	if err := a.Send(t.Context(), msg(1)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond) // the token has expired; a's session stays logged in
	if err := a.Send(t.Context(), msg(2)); err != nil {
		t.Fatalf("send on the session opened before expiry: %v", err)
	}
	if err := b.Send(t.Context(), msg(3)); err != nil {
		t.Fatalf("a new session after expiry: %v", err)
	}
	if a.Dials() != 1 || srv.Requests(oauthtest.GrantClientCredentials) != 2 {
		t.Fatalf("%d sessions of a, %d token requests; want 1 and 2", a.Dials(), srv.Requests(oauthtest.GrantClientCredentials))
	}
}

func imapPort(t *testing.T) int { return portOf(t, "CONTIPLE_IMAP_ADDR") }
func smtpPort(t *testing.T) int { return portOf(t, "CONTIPLE_SMTP_ADDR") }
func portOf(t *testing.T, env string) int {
	var p int
	addr := testenv.Lookup(t, env)
	fmt.Sscanf(addr[strings.LastIndex(addr, ":")+1:], "%d", &p)
	return p
}

// The worker with an OAuth2 mailbox (delegated, rotating refresh token kept
// sealed in the database) and
// an OAuth2 SMTP account (client credentials) against Dovecot and Postfix:
// mail becomes a ticket, the resolve mail reaches the customer, tokens are
// refreshed as they expire; a revoked grant shows as the mailbox's error and
// metric without hammering the provider, and `mailbox authorize` mends it.
func TestServeWithOAuth2(t *testing.T) {
	pool := testenv.NewDatabase(t)
	t.Setenv("CONTIPLE_DATABASE_URL", testenv.URLFor(t, pool))
	t.Setenv("CONTIPLE_REDIS_URL", testenv.NewRedisDB(t))
	t.Setenv("CT_TEST_SMTP_SECRET", "m-secret")
	t.Setenv("CONTIPLE_MASK_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	srv := oauthtest.New(t)
	srv.SetTTL(3 * time.Second)
	id := hexID()
	support, sender, customer := "sup"+id+"@example.test", "out"+id+"@example.test", "cust"+id+"@example.test"
	srv.AddClient("desk", "", support)
	srv.AddClient("mailer", "m-secret", sender)
	// The refresh token lives in the database, sealed, as on a fleet of machines.
	sealer, err := oauthSealer(oauth.SealRefresh)
	if err != nil {
		t.Fatal(err)
	}
	(oauth.DBStore{Pool: pool, Login: "mailbox:support", Sealer: sealer}).Save(context.Background(), srv.GrantRefreshToken("desk", support))
	addr := freeAddr(t)
	path := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(path, []byte(fmt.Sprintf(`
http: {addr: "%[1]s"}
smtp:
  host: 127.0.0.1
  port: %[2]d
  username: %[3]s
  oauth2: {provider: generic, grant: client_credentials, token_url: "%[4]s/token", client_id: mailer, client_secret_env: CT_TEST_SMTP_SECRET}
services:
  - key: support
    name: Support
    address: %[5]s
    locale: en
    mailbox:
      host: 127.0.0.1
      port: %[6]d
      tls: none
      username: %[5]s
      idle: false
      poll_interval: 1s
      oauth2: {provider: generic, grant: refresh_token, token_url: "%[4]s/token", device_auth_url: "%[4]s/devicecode", client_id: desk, refresh_token_store: database}
`, addr, smtpPort(t), sender, srv.URL, support, imapPort(t))), 0o600)
	if out, err := run(t, "config", "check", path); err != nil {
		t.Fatalf("config check: %v\n%s", err, out)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	startServe(t, cfg, "http://"+addr)
	count := func(q string) (n int) {
		pool.QueryRow(context.Background(), q).Scan(&n)
		return n
	}

	appendAs(t, support, customerMail(customer, support, "Refund please"))
	testenv.WaitFor(t, 30*time.Second, "the mail to become a ticket", func() bool { return count("SELECT count(*) FROM tickets") == 1 })
	for _, args := range [][]string{{"ticket", "assign", "1", "--operator", "kim"}, {"ticket", "resolve", "1", "--note", "Refunded."}} {
		if out, err := run(t, args...); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	testenv.WaitFor(t, 30*time.Second, "the resolve mail in the customer's mailbox", func() bool { return inboxCount(t, customer) == 1 })

	// Past the tokens' 3 s life: the mailbox goes on with refreshed tokens.
	time.Sleep(3500 * time.Millisecond)
	appendAs(t, support, customerMail(customer, support, "Thanks"))
	testenv.WaitFor(t, 30*time.Second, "the second mail", func() bool { return count("SELECT count(*) FROM inbound_mails") == 2 })
	if n := srv.Requests(oauthtest.GrantRefreshToken); n < 2 {
		t.Fatalf("%d refreshes after the first token expired, want at least 2", n)
	}

	// The person withdraws consent.
	srv.Revoke(support)
	lastError := func() (s string) {
		pool.QueryRow(context.Background(), "SELECT coalesce(last_error, '') FROM mailboxes WHERE service_key = 'support'").Scan(&s)
		return s
	}
	testenv.WaitFor(t, 20*time.Second, "the lost authorization as the mailbox's error", func() bool {
		return strings.Contains(lastError(), "authorization lost (invalid_grant)")
	})
	if msg := lastError(); !strings.Contains(msg, "contiple-worker mailbox authorize support") {
		t.Fatalf("mailbox error %q does not say what to run", msg)
	}
	window := time.Now()
	time.Sleep(3 * time.Second) // three poll cycles
	if n := srv.RequestsSince(window); n != 0 {
		t.Fatalf("%d token requests in the 3 s after the grant was lost; want none until the pause is over", n)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `contiple_mailbox_failing{mailbox="support"} 1`) {
		t.Fatalf("metrics do not show the failing mailbox:\n%s", body)
	}

	// An operator authorizes again (device flow); intake resumes at once.
	done := make(chan error, 1)
	go func() {
		_, err := run(t, "--config", path, "mailbox", "authorize", "support")
		done <- err
	}()
	testenv.WaitFor(t, 20*time.Second, "the device request to approve", func() bool { return srv.ApprovePending(support) == 1 })
	if err := <-done; err != nil {
		t.Fatalf("mailbox authorize: %v", err)
	}
	appendAs(t, support, customerMail(customer, support, "One more thing"))
	testenv.WaitFor(t, 30*time.Second, "intake after authorizing again", func() bool {
		return count("SELECT count(*) FROM inbound_mails") == 3 && lastError() == ""
	})
}

// An app-only login whose access an administrator revoked, then granted
// again: `mailbox authorize --smtp` checks it and ends the pause at once.
func TestMailboxAuthorizeChecksAppAccess(t *testing.T) {
	t.Setenv("CONTIPLE_REDIS_URL", testenv.NewRedisDB(t))
	t.Setenv("CT_TEST_APP_SECRET", "app-secret")
	srv, user := oauthtest.New(t), "app"+hexID()+"@example.test"
	srv.AddClient("app", "app-secret", user)
	path := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(path, []byte(fmt.Sprintf(`
smtp:
  host: 127.0.0.1
  port: 2525
  username: %s
  oauth2: {provider: generic, grant: client_credentials, token_url: "%s/token", client_id: app, client_secret_env: CT_TEST_APP_SECRET}
services: [{key: support, name: Support, address: support@example.test}]
`, user, srv.URL)), 0o600)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	a := &app{out: io.Discard, log: testLogger(t)}
	_, rdb, err := redisFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	worker, err := a.newOAuthLogins(cfg, rdb, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Revoke(user)
	if _, err := worker.smtp.Source.Token(t.Context()); !oauth.IsAuthorizationLost(err) {
		t.Fatalf("token after the revocation: %v", err)
	}
	srv.Reinstate(user)
	if _, err := worker.smtp.Source.Token(t.Context()); !oauth.IsAuthorizationLost(err) {
		t.Fatalf("the worker should still be pausing: %v", err)
	}
	out, err := run(t, "--config", path, "mailbox", "authorize", "--smtp")
	if err != nil || !strings.Contains(out, "the application's access works") {
		t.Fatalf("mailbox authorize --smtp: %v\n%s", err, out)
	}
	if _, err := worker.smtp.Source.Token(t.Context()); err != nil {
		t.Fatalf("the worker after the check: %v", err)
	}
	if n := srv.Requests(oauthtest.GrantClientCredentials); n != 2 {
		t.Fatalf("%d token requests, want 2 (the refused one, the check; the worker reuses the check's token)", n)
	}
}
