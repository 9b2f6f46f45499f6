package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/contiple/contiple-worker/channels/email"
	"github.com/contiple/contiple-worker/dooray/dooraytest"
	"github.com/contiple/contiple-worker/internal/config"
	"github.com/contiple/contiple-worker/internal/oauth/oauthtest"
	"github.com/contiple/contiple-worker/migrations"
	"github.com/contiple/contiple-worker/ticket"
)

// Worker is the worker the demo runs in-process: cmd's wiring, the same code
// as `contiple-worker serve`.
type Worker interface {
	// Serve runs the worker with cfg until ctx ends.
	Serve(ctx context.Context, cfg *config.Config) error
	// SyncServices writes cfg's services into store, as serve does when it starts.
	SyncServices(ctx context.Context, cfg *config.Config, store *ticket.Store) error
	// RegisterHook registers the worker's webhook on a project of an
	// organisation, as `dooray hook register` does, and returns the hook URL.
	RegisterHook(ctx context.Context, cfg *config.Config, org, project string) (string, error)
}

// Env is where the story's world lives: the local services and the
// worker's address. The demo fills it from the environment, the test from testenv.
type Env struct {
	DatabaseURL, RedisURL  string
	IMAPAddr, IMAPPassword string // Dovecot: any user logs in with the password
	SMTPAddr               string // Postfix: customers send here, and so does the worker unless WorkerSMTP is set
	WorkerSMTP             string // host:port of the worker's SMTP server, when not SMTPAddr
	Domain                 string // mail domain delivered into Dovecot
	SupportUser            string // Dovecot user of the support mailbox; the address is SupportUser@Domain
	HTTPAddr               string
	Run                    string // makes customer addresses unique per run
	Dir                    string // for the configuration file
	// OAuthSigningKey, when set, is the PEM key of scripts/services.sh that
	// Dovecot checks tokens with: the worker's support mailbox and SMTP
	// account then log in with OAuth2 (client credentials) instead of the
	// password, against an authorization server the demo starts on loopback.
	OAuthSigningKey string
	Setenv          func(key, value string) error
}

// World is the running worker, the Dooray! fakes (two organisations on two
// hosts) and what the story needs to watch them.
type World struct {
	Env        Env
	Config     *config.Config
	Store      *ticket.Store
	Pool       *pgxpool.Pool
	Fake       *dooraytest.Server // organisation "main": the service's default
	Partner    *dooraytest.Server // organisation "partner": its own host, token and rate limit
	Auth       *oauthtest.Server  // issues the OAuth2 logins' tokens; nil when they use the password
	Helpdesk   string             // main's project, with the webhook
	Infra      string             // partner's project, followed by poll alone
	HookURL    string
	APIToken   string
	Migrations []int
	FirstUID   uint32 // the first UID of the support mailbox the worker reads

	stop    context.CancelFunc
	served  chan error
	stopErr error
	stopped bool
}

// Support is the support address customers write to.
func (w *World) Support() string { return w.Env.SupportUser + "@" + w.Env.Domain }

// The OAuth2 clients of the support mailbox and the SMTP account, and the
// variables holding their secrets.
const (
	MailboxClient        = "contiple-demo-mailbox"
	SMTPClient           = "contiple-demo-smtp"
	demoMailboxSecretEnv = "CONTIPLE_DEMO_MAILBOX_CLIENT_SECRET"
	demoSMTPSecretEnv    = "CONTIPLE_DEMO_SMTP_CLIENT_SECRET"
)

// demoConfig is the worker's configuration for the story: short intervals so
// that the story is told in well under two minutes.
const demoConfig = `# Written by contiple-worker demo.
http:
  addr: %[1]q
  dashboard_password_env: ` + DashboardEnv + `
  api_tokens:
    - {name: admin, role: administrator, token_env: ` + demoAPITokenEnv + `}
smtp:
  host: %[2]q
  port: %[3]d
  tls: none
  timeout: 20s
%[16]sdooray:
  sync_interval: 2s
  organizations:
    - key: main
      base_url: %[4]q
      token_env: ` + demoDoorayTokenEnv + `
      bot_member_id: %[5]q
      webhook_token_env: ` + demoWebhookTokenEnv + `
    - key: partner
      base_url: %[12]q
      token_env: ` + demoPartnerTokenEnv + `
      bot_member_id: %[13]q
      rate_per_second: 5
      burst: 5
services:
  - key: support
    name: サポート窓口
    address: %[6]q
    locale: ja
    mailbox:
      host: %[7]q
      port: %[8]d
      tls: none
      username: %[9]q
%[17]s      folder: INBOX
      after: seen
      idle: true
      poll_interval: 5s
    dooray:
      organization: main
      project_id: %[10]q
      to_member_ids: [%[11]q]
      organizations:
        - key: partner
          projects: [%[14]q]
          to_member_ids: [%[15]q]
    forbidden_words: ["絶対", "必ず", "guarantee"]
    triggers:
      - name: rotation
        when:
          channels: [email]
        then:
          assign_sequence: [ito, park, jones]
          group: first-line
`

// Start starts the Dooray! fakes (and, with e.OAuthSigningKey, the
// authorization server), writes the configuration, migrates,
// points the support mailbox at its current end (mail of earlier runs stays
// unread by this database), runs the worker in-process (worker.Serve), and
// registers the webhook on the helpdesk project as `dooray hook register` does.
func Start(ctx context.Context, worker Worker, e Env) (w *World, err error) {
	w = &World{Env: e}
	// The fake answers with rate-limit headers, as Dooray! does: the worker's
	// limiter learns the bucket from them instead of pacing at its cautious
	// 1 request a second.
	w.Fake = dooraytest.NewServer(dooraytest.WithProjectCode("helpdesk"), dooraytest.WithToken("demo-"+RandomHex(12)),
		dooraytest.WithRateLimit(50, 25))
	defer func() {
		if err != nil {
			w.Stop()
		}
	}()
	w.Partner = dooraytest.NewServer(dooraytest.WithProjectCode("infra"), dooraytest.WithToken("demo-partner-"+RandomHex(12)),
		dooraytest.WithRateLimit(10, 10), dooraytest.WithOrganizationID("2000000000000000002"))
	w.Helpdesk, w.Infra = w.Fake.ProjectID(), w.Partner.ProjectID()
	w.APIToken = RandomHex(16)
	for k, v := range map[string]string{"CONTIPLE_DATABASE_URL": e.DatabaseURL, "CONTIPLE_REDIS_URL": e.RedisURL,
		demoAPITokenEnv: w.APIToken, demoWebhookTokenEnv: RandomHex(16), demoDoorayTokenEnv: w.Fake.Token(), demoPartnerTokenEnv: w.Partner.Token(),
		demoIMAPPasswordEnv: e.IMAPPassword} {
		if err := e.Setenv(k, v); err != nil {
			return w, err
		}
	}
	smtpAddr := e.SMTPAddr
	if e.WorkerSMTP != "" {
		smtpAddr = e.WorkerSMTP
	}
	smtpHost, smtpPort, err := demoSplitHostPort(smtpAddr)
	if err != nil {
		return w, fmt.Errorf("smtp: %w", err)
	}
	imapHost, imapPort, err := demoSplitHostPort(e.IMAPAddr)
	if err != nil {
		return w, fmt.Errorf("imap: %w", err)
	}
	smtpLogin, mailboxLogin, err := w.logins(e)
	if err != nil {
		return w, err
	}
	path := filepath.Join(e.Dir, "config.yaml")
	yaml := fmt.Sprintf(demoConfig, e.HTTPAddr, smtpHost, smtpPort, w.Fake.URL, w.Fake.BotMemberID(),
		e.SupportUser+"@"+e.Domain, imapHost, imapPort, e.SupportUser, w.Helpdesk, w.Fake.OtherMemberID(),
		w.Partner.URL, w.Partner.BotMemberID(), w.Infra, w.Partner.OtherMemberID(), smtpLogin, mailboxLogin)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		return w, err
	}
	if w.Config, err = config.Load(path); err != nil {
		return w, fmt.Errorf("demo configuration: %w", err)
	}

	if w.Pool, err = pgxpool.New(ctx, e.DatabaseURL); err != nil {
		return w, fmt.Errorf("database: %w", err)
	}
	if w.Migrations, err = migrations.Up(ctx, w.Pool); err != nil {
		return w, err
	}
	w.Store = ticket.NewStore(w.Pool, nil)
	if err := worker.SyncServices(ctx, w.Config, w.Store); err != nil {
		return w, err
	}
	if err := w.skipOldMail(ctx); err != nil {
		return w, err
	}

	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	w.stop, w.served = stop, make(chan error, 1)
	go func() { w.served <- worker.Serve(runCtx, w.Config) }()
	if err := w.waitHealthy(ctx); err != nil {
		return w, err
	}

	if w.HookURL, err = worker.RegisterHook(ctx, w.Config, "main", w.Helpdesk); err != nil {
		return w, fmt.Errorf("register the webhook: %w", err)
	}
	return w, nil
}

// logins returns the configuration's login of the SMTP account (none: Postfix
// relays for loopback) and of the support mailbox (the password), or with
// e.OAuthSigningKey both with OAuth2 client credentials from an authorization
// server started here, each client with its own secret, naming the support
// address.
func (w *World) logins(e Env) (smtp, mailbox string, err error) {
	if e.OAuthSigningKey == "" {
		return "", "      password_env: " + demoIMAPPasswordEnv + "\n", nil
	}
	if w.Auth, err = oauthtest.Start(e.OAuthSigningKey); err != nil {
		return "", "", err
	}
	const block = "oauth2: {provider: generic, grant: client_credentials, token_url: %q, client_id: %s, client_secret_env: %s}\n"
	tokenURL := w.Auth.Endpoint().TokenURL
	for client, env := range map[string]string{MailboxClient: demoMailboxSecretEnv, SMTPClient: demoSMTPSecretEnv} {
		secret := RandomHex(16)
		w.Auth.AddClient(client, secret, w.Support())
		if err := e.Setenv(env, secret); err != nil {
			return "", "", err
		}
	}
	smtp = fmt.Sprintf("  username: %q\n  "+block, w.Support(), tokenURL, SMTPClient, demoSMTPSecretEnv)
	mailbox = fmt.Sprintf("      "+block, tokenURL, MailboxClient, demoMailboxSecretEnv)
	return smtp, mailbox, nil
}

func demoSplitHostPort(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	var n int
	if _, err := fmt.Sscanf(port, "%d", &n); err != nil || n <= 0 {
		return "", 0, fmt.Errorf("%q: bad port", addr)
	}
	return host, n, nil
}

// skipOldMail makes the worker read the support mailbox from its next UID on:
// a fresh database would otherwise take in the mail of every earlier run.
func (w *World) skipOldMail(ctx context.Context) error {
	host, port, _ := demoSplitHostPort(w.Env.IMAPAddr)
	mb, err := email.Dial(ctx, email.Account{Host: host, Port: port, TLS: email.TLSNone, Username: w.Env.SupportUser,
		Password: w.Env.IMAPPassword, Folder: "INBOX", NoIdle: true, Timeout: 10 * time.Second})
	if err != nil {
		return fmt.Errorf("support mailbox: %w", err)
	}
	v, next := mb.UIDValidity(), mb.UIDNext()
	mb.Close()
	w.FirstUID = max(next, 1)
	if next <= 1 {
		return nil
	}
	return ticket.NewStore(w.Pool, nil).SkipMailboxTo(ctx, "support", v, next-1)
}

// waitHealthy waits for /readyz (the worker has started; /healthz answers
// while it still waits for PostgreSQL and Redis), or for serve to fail first.
func (w *World) waitHealthy(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get("http://" + w.Env.HTTPAddr + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-w.served:
			w.served <- err // Stop reads it again
			if err == nil {
				err = errors.New("stopped")
			}
			return fmt.Errorf("the worker did not start: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the worker was not ready on http://%s/readyz within a minute", w.Env.HTTPAddr)
		}
	}
}

// Stop stops the worker (as SIGTERM does), then the fakes and the
// authorization server. It is safe to call twice.
func (w *World) Stop() error {
	if w.stopped {
		return w.stopErr
	}
	w.stopped = true
	if w.stop != nil {
		w.stop()
		select {
		case w.stopErr = <-w.served:
		case <-time.After(60 * time.Second):
			w.stopErr = errors.New("the worker did not stop within a minute")
		}
	}
	if w.Fake != nil {
		w.Fake.Close()
	}
	if w.Partner != nil {
		w.Partner.Close()
	}
	if w.Auth != nil {
		w.Auth.Close()
	}
	if w.Pool != nil {
		w.Pool.Close()
	}
	return w.stopErr
}

// story is the scripted life of three tickets, told as it happens: every step
// acts as a customer, an operator or a Dooray! user would, then waits (up to
