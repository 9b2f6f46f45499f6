package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/contiple/contiple-worker/ticket"
)

// Database is the database the demo recreates on every run: the Dooray!
// fake starts again from the same ids each run, and outbox ids (asynq TaskIDs)
// restart with a fresh database, so nothing of an earlier run may be left.
const Database = "contiple_demo"

// Environment variables the demo sets for the worker it runs (secrets are read
// from the environment, as in production).
const (
	demoAPITokenEnv     = "CONTIPLE_DEMO_API_TOKEN"
	demoWebhookTokenEnv = "CONTIPLE_DEMO_WEBHOOK_TOKEN"
	demoDoorayTokenEnv  = "CONTIPLE_DEMO_DOORAY_TOKEN"
	demoPartnerTokenEnv = "CONTIPLE_DEMO_PARTNER_TOKEN"
	DashboardEnv        = "CONTIPLE_DASHBOARD_PASSWORD"
	demoIMAPPasswordEnv = "CONTIPLE_IMAP_PASSWORD"
	demoSigningKeyEnv   = "CONTIPLE_OAUTH_SIGNING_KEY"
)

// Options is how a demo runs.
type Options struct {
	// NewWorker returns the worker logging to log (the demo writes its log to a file).
	NewWorker   func(log *slog.Logger) Worker
	Out         io.Writer     // where the story is told
	LogLevel    slog.Leveler  // of the worker's log file
	Addr        string        // HTTP address of the worker
	Once        bool          // stop when the story is told
	StepTimeout time.Duration // how long each step may take
	// OAuth2 makes the support mailbox and the SMTP account log in with
	// OAuth2 tokens instead of the password (CONTIPLE_OAUTH_SIGNING_KEY).
	OAuth2 bool
}

// Run checks that the services are local, recreates the demo's database and
// Redis database, starts the world, tells the story, then serves until ctx ends
// (unless o.Once).
func Run(ctx context.Context, o Options) error {
	started := time.Now()
	env := map[string]string{}
	names := []string{"CONTIPLE_DATABASE_URL", "CONTIPLE_REDIS_URL", "CONTIPLE_IMAP_ADDR", demoIMAPPasswordEnv, "CONTIPLE_SMTP_ADDR"}
	if o.OAuth2 {
		names = append(names, demoSigningKeyEnv)
	}
	for _, name := range names {
		v := os.Getenv(name)
		if v == "" {
			return fmt.Errorf("%s is not set: start the local services with `scripts/services.sh up` and "+
				"`eval \"$(scripts/services.sh env)\"`, or run `make demo`", name)
		}
		env[name] = v
	}
	domain := os.Getenv("CONTIPLE_MAIL_DOMAIN")
	if domain == "" {
		domain = "example.test"
	}
	if err := demoLocalOnly(env); err != nil {
		return err
	}
	// Another worker answering /healthz there would hear the story instead.
	l, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("%s is not free (%v): stop what listens there or give --addr", o.Addr, err)
	}
	l.Close()
	run := RandomHex(3)
	logPath := filepath.Join(os.TempDir(), "contiple-demo-"+run+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	// The worker's log goes to the file; only errors interrupt the story.
	log := slog.New(slog.NewMultiHandler(
		slog.NewJSONHandler(logFile, &slog.HandlerOptions{Level: o.LogLevel}),
		slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	worker := o.NewWorker(log)

	dbURL, err := demoFreshDatabase(ctx, env["CONTIPLE_DATABASE_URL"])
	if err != nil {
		return err
	}
	redisURL, err := demoFlushRedis(ctx, env["CONTIPLE_REDIS_URL"])
	if err != nil {
		return err
	}
	if os.Getenv(DashboardEnv) == "" {
		os.Setenv(DashboardEnv, "demo")
	}
	dir, err := os.MkdirTemp("", "contiple-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	out := o.Out
	fmt.Fprintf(out, "contiple-worker demo (run %s)\n", run)
	w, err := Start(ctx, worker, Env{
		DatabaseURL: dbURL, RedisURL: redisURL,
		IMAPAddr: env["CONTIPLE_IMAP_ADDR"], IMAPPassword: env[demoIMAPPasswordEnv],
		SMTPAddr: env["CONTIPLE_SMTP_ADDR"], Domain: domain, SupportUser: "support",
		HTTPAddr: o.Addr, Run: run, Dir: dir, Setenv: os.Setenv, OAuthSigningKey: env[demoSigningKeyEnv],
	})
	if err != nil {
		return fmt.Errorf("%w (worker log: %s)", err, logPath)
	}
	defer w.Stop()
	fmt.Fprintf(out, "  PostgreSQL  %s (fresh database, migrations %v)\n", demoRedactURL(dbURL), w.Migrations)
	fmt.Fprintf(out, "  Redis       %s (the demo's own database, flushed)\n", demoRedactURL(redisURL))
	login, smtpLogin := "password", "relays for loopback"
	if w.Auth != nil {
		login, smtpLogin = "OAuth2 token", "SMTP AUTH with an OAuth2 token through Dovecot"
	}
	fmt.Fprintf(out, "  IMAP        %s@%s (Dovecot, IDLE, %s), reading from UID %d on\n", w.Env.SupportUser, w.Env.IMAPAddr, login, w.FirstUID)
	fmt.Fprintf(out, "  SMTP        %s (Postfix: %s; delivers @%s into Dovecot)\n", w.Env.SMTPAddr, smtpLogin, domain)
	if w.Auth != nil {
		fmt.Fprintf(out, "  OAuth2      authorization server (in-process fake) at %s: client credentials of %s and %s,\n"+
			"              RS256 tokens signed with %s, which Dovecot checks; no password configured\n",
			w.Auth.URL, MailboxClient, SMTPClient, env[demoSigningKeyEnv])
	}
	fmt.Fprintf(out, "  Dooray!     organisation main: fake at %s, project helpdesk (webhook registered)\n", w.Fake.URL)
	fmt.Fprintf(out, "              organisation partner: fake at %s (own token, 5 requests/s), project infra (no webhook: poll every %s)\n",
		w.Partner.URL, w.Config.Dooray.SyncInterval.Std())
	fmt.Fprintf(out, "  worker      http://%s  (configuration %s, log %s)\n", o.Addr, filepath.Join(dir, "config.yaml"), logPath)
	fmt.Fprintf(out, "  ready in %s\n", time.Since(started).Round(100*time.Millisecond))

	s := &Story{World: w, Timeout: o.StepTimeout, Say: func(line string) { fmt.Fprintln(out, line) }}
	st, err := s.Run(ctx)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(out, "\ninterrupted; stopping the worker")
			return nil
		}
		return fmt.Errorf("the story stopped: %w (worker log: %s)", err, logPath)
	}
	base := "http://" + o.Addr
	fmt.Fprintf(out, "\nThe story took %s.\n", st.Took.Round(100*time.Millisecond))
	fmt.Fprintf(out, "  dashboard   %s/monitoring/  (user admin, password %s)\n", base, os.Getenv(DashboardEnv))
	fmt.Fprintf(out, "  API         %s/api/v1/  (Authorization: Bearer %s)\n", base, w.APIToken)
	fmt.Fprintf(out, "  database    CONTIPLE_DATABASE_URL='%s' contiple-worker ticket show %d\n", demoRedactURL(dbURL), st.Customers[0].Ticket.ID)
	if open := st.Customers[2]; open.Ticket.ID != 0 {
		fmt.Fprintf(out, "  your turn   %s is still %s; resolve it:\n", ticket.Marker(open.Ticket.ID), open.Ticket.Status)
		fmt.Fprintf(out, "              curl -H 'Authorization: Bearer %s' -d '{\"note\":\"We have re-sent the invoice.\"}' %s/api/v1/tickets/%d/resolve\n",
			w.APIToken, base, open.Ticket.ID)
	}
	if o.Once {
		return nil
	}
	fmt.Fprintln(out, "Serving until Ctrl-C.")
	<-ctx.Done()
	fmt.Fprintln(out, "\nstopping…")
	if err := w.Stop(); err != nil {
		return err
	}
	fmt.Fprintln(out, "stopped cleanly.")
	return nil
}

// demoLocalOnly refuses services that are not on this machine: the demo drops
// a database and flushes a Redis database.
func demoLocalOnly(env map[string]string) error {
	local := func(host string) bool {
		if host == "localhost" || strings.HasPrefix(host, "/") {
			return true
		}
		ip := net.ParseIP(host)
		return ip != nil && ip.IsLoopback()
	}
	pc, err := pgx.ParseConfig(env["CONTIPLE_DATABASE_URL"])
	if err != nil {
		return fmt.Errorf("CONTIPLE_DATABASE_URL: %w", err)
	}
	ro, err := redis.ParseURL(env["CONTIPLE_REDIS_URL"])
	if err != nil {
		return fmt.Errorf("CONTIPLE_REDIS_URL: %w", err)
	}
	redisHost, _, _ := net.SplitHostPort(ro.Addr)
	imapHost, _, _ := net.SplitHostPort(env["CONTIPLE_IMAP_ADDR"])
	smtpHost, _, _ := net.SplitHostPort(env["CONTIPLE_SMTP_ADDR"])
	for name, host := range map[string]string{"CONTIPLE_DATABASE_URL": pc.Host, "CONTIPLE_REDIS_URL": redisHost,
		"CONTIPLE_IMAP_ADDR": imapHost, "CONTIPLE_SMTP_ADDR": smtpHost} {
		if !local(host) {
			return fmt.Errorf("%s points at %s: the demo recreates a database and flushes Redis, so it runs only against local services", name, host)
		}
	}
	if len(pc.Fallbacks) > 0 {
		return errors.New("CONTIPLE_DATABASE_URL names several hosts: the demo recreates a database, so it takes exactly one local host")
	}
	return nil
}

// demoFreshDatabase drops and creates Database on the server of base and
// returns its URL.
func demoFreshDatabase(ctx context.Context, base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("CONTIPLE_DATABASE_URL: %w", err)
	}
	admin := *u
	if strings.Trim(admin.Path, "/") == Database {
		admin.Path = "/postgres"
	}
	cfg, err := pgx.ParseConfig(admin.String())
	if err != nil {
		return "", fmt.Errorf("CONTIPLE_DATABASE_URL: %w", err)
	}
	cfg.Fallbacks = nil // exactly the host checked as local
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", fmt.Errorf("database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, q := range []string{"DROP DATABASE IF EXISTS " + Database + " WITH (FORCE)", "CREATE DATABASE " + Database} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return "", fmt.Errorf("database: %s: %w", q, err)
		}
	}
	u.Path = "/" + Database
	return u.String(), nil
}

// demoRedisDB is the demo's own Redis database on the local server: task ids
// (outbox:<id>) restart with each fresh demo database, so sharing a database
// with a worker on the main one would make its tasks collide with the demo's.
// Tests lease databases 1–14.
const demoRedisDB = 15

// demoFlushRedis empties the demo's Redis database on the server of rawURL
// (queued and retained tasks, locks and leases of an earlier run) and returns
// its URL.
func demoFlushRedis(ctx context.Context, rawURL string) (string, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return "", fmt.Errorf("CONTIPLE_REDIS_URL: %w", err)
	}
	opt.DB = demoRedisDB
	c := redis.NewClient(opt)
	defer c.Close()
	if err := c.FlushDB(ctx).Err(); err != nil {
		return "", fmt.Errorf("redis: %w", err)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("CONTIPLE_REDIS_URL: %w", err)
	}
	u.Path = fmt.Sprintf("/%d", demoRedisDB)
	return u.String(), nil
}

func demoRedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

func RandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Env is where the story's world lives: the local services and the
