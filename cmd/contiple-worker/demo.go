package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/text/encoding/japanese"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/contiple/contiple-worker/channels/email"
	"github.com/contiple/contiple-worker/dooray"
	"github.com/contiple/contiple-worker/dooray/dooraytest"
	"github.com/contiple/contiple-worker/internal/config"
	"github.com/contiple/contiple-worker/migrations"
	"github.com/contiple/contiple-worker/ticket"
)

// The demo: the local services of scripts/services.sh, a Dooray! fake on
// loopback, the worker in-process, and a story (story.run) told as it really
// happens, each step waiting for the real state in PostgreSQL, Dovecot and the
// fake. The end-to-end test (demo_test.go) runs the same story and asserts it.

// demoDatabase is the database the demo recreates on every run: the Dooray!
// fake starts again from the same ids each run, and outbox ids (asynq TaskIDs)
// restart with a fresh database, so nothing of an earlier run may be left.
const demoDatabase = "contiple_demo"

// Environment variables the demo sets for the worker it runs (secrets are read
// from the environment, as in production).
const (
	demoAPITokenEnv     = "CONTIPLE_DEMO_API_TOKEN"
	demoWebhookTokenEnv = "CONTIPLE_DEMO_WEBHOOK_TOKEN"
	demoDoorayTokenEnv  = "CONTIPLE_DEMO_DOORAY_TOKEN"
	demoDashboardEnv    = "CONTIPLE_DASHBOARD_PASSWORD"
	demoIMAPPasswordEnv = "CONTIPLE_IMAP_PASSWORD"
)

func (a *app) demoCmd() *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Tell a ticket's whole life against the local services and a Dooray! fake, then keep serving",
		Long: "Runs the worker in-process against the services of scripts/services.sh (PostgreSQL, Redis,\n" +
			"Dovecot, Postfix) and a Dooray! fake on loopback, and tells a story step by step as it really\n" +
			"happens: customer mail in by SMTP, tickets assigned by a trigger, a hold mail out, the customer's\n" +
			"reply threaded, escalation to Dooray!, the task followed by webhook and by poll, comments both\n" +
			"ways, the resolve mail, completion. Then it serves the dashboard and the API until Ctrl-C.\n\n" +
			"It recreates the database " + demoDatabase + " on the PostgreSQL server of CONTIPLE_DATABASE_URL and\n" +
			"flushes the Redis database of CONTIPLE_REDIS_URL: it refuses to run against non-local services.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.demo(cmd.Context(), o) },
	}
	cmd.Flags().StringVar(&o.addr, "addr", "127.0.0.1:8080", "HTTP address of the worker: dashboard, API, webhook")
	cmd.Flags().BoolVar(&o.once, "once", false, "stop when the story is told instead of serving until Ctrl-C")
	cmd.Flags().DurationVar(&o.stepTimeout, "step-timeout", 45*time.Second, "how long each step may take")
	return cmd
}

type demoOptions struct {
	addr        string
	once        bool
	stepTimeout time.Duration
}

func (a *app) demo(ctx context.Context, o demoOptions) error {
	started := time.Now()
	env := map[string]string{}
	for _, name := range []string{"CONTIPLE_DATABASE_URL", "CONTIPLE_REDIS_URL", "CONTIPLE_IMAP_ADDR", demoIMAPPasswordEnv, "CONTIPLE_SMTP_ADDR"} {
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
	l, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("%s is not free (%v): stop what listens there or give --addr", o.addr, err)
	}
	l.Close()
	run := demoRandomHex(3)
	logPath := filepath.Join(os.TempDir(), "contiple-demo-"+run+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	// The worker's log goes to the file; only errors interrupt the story.
	log := slog.New(slog.NewMultiHandler(
		slog.NewJSONHandler(logFile, &slog.HandlerOptions{Level: logLevel()}),
		slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	worker := *a
	worker.log = log

	dbURL, err := demoFreshDatabase(ctx, env["CONTIPLE_DATABASE_URL"])
	if err != nil {
		return err
	}
	redisURL, err := demoFlushRedis(ctx, env["CONTIPLE_REDIS_URL"])
	if err != nil {
		return err
	}
	if os.Getenv(demoDashboardEnv) == "" {
		os.Setenv(demoDashboardEnv, "demo")
	}
	dir, err := os.MkdirTemp("", "contiple-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	out := a.out
	fmt.Fprintf(out, "contiple-worker demo (run %s)\n", run)
	w, err := startStoryWorld(ctx, &worker, storyEnv{
		DatabaseURL: dbURL, RedisURL: redisURL,
		IMAPAddr: env["CONTIPLE_IMAP_ADDR"], IMAPPassword: env[demoIMAPPasswordEnv],
		SMTPAddr: env["CONTIPLE_SMTP_ADDR"], Domain: domain, SupportUser: "support",
		HTTPAddr: o.addr, Run: run, Dir: dir, Setenv: os.Setenv,
	})
	if err != nil {
		return fmt.Errorf("%w (worker log: %s)", err, logPath)
	}
	defer w.Stop()
	fmt.Fprintf(out, "  PostgreSQL  %s (fresh database, migrations %v)\n", demoRedactURL(dbURL), w.Migrations)
	fmt.Fprintf(out, "  Redis       %s (the demo's own database, flushed)\n", demoRedactURL(redisURL))
	fmt.Fprintf(out, "  IMAP        %s@%s (Dovecot, IDLE), reading from UID %d on\n", w.Env.SupportUser, w.Env.IMAPAddr, w.FirstUID)
	fmt.Fprintf(out, "  SMTP        %s (Postfix: delivers @%s into Dovecot)\n", w.Env.SMTPAddr, domain)
	fmt.Fprintf(out, "  Dooray!     fake at %s: project helpdesk (webhook registered), project infra (no webhook: poll every %s)\n",
		w.Fake.URL, w.Config.Dooray.SyncInterval.Std())
	fmt.Fprintf(out, "  worker      http://%s  (configuration %s, log %s)\n", o.addr, filepath.Join(dir, "config.yaml"), logPath)
	fmt.Fprintf(out, "  ready in %s\n", time.Since(started).Round(100*time.Millisecond))

	s := &story{w: w, timeout: o.stepTimeout, say: func(line string) { fmt.Fprintln(out, line) }}
	st, err := s.run(ctx)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(out, "\ninterrupted; stopping the worker")
			return nil
		}
		return fmt.Errorf("the story stopped: %w (worker log: %s)", err, logPath)
	}
	base := "http://" + o.addr
	fmt.Fprintf(out, "\nThe story took %s.\n", st.Took.Round(100*time.Millisecond))
	fmt.Fprintf(out, "  dashboard   %s/monitoring/  (user admin, password %s)\n", base, os.Getenv(demoDashboardEnv))
	fmt.Fprintf(out, "  API         %s/api/v1/  (Authorization: Bearer %s)\n", base, w.APIToken)
	fmt.Fprintf(out, "  database    CONTIPLE_DATABASE_URL='%s' contiple-worker ticket show %d\n", demoRedactURL(dbURL), st.Customers[0].Ticket.ID)
	if open := st.Customers[2]; open.Ticket.ID != 0 {
		fmt.Fprintf(out, "  your turn   %s is still %s; resolve it:\n", ticket.Marker(open.Ticket.ID), open.Ticket.Status)
		fmt.Fprintf(out, "              curl -H 'Authorization: Bearer %s' -d '{\"note\":\"We have re-sent the invoice.\"}' %s/api/v1/tickets/%d/resolve\n",
			w.APIToken, base, open.Ticket.ID)
	}
	if o.once {
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

// demoFreshDatabase drops and creates demoDatabase on the server of base and
// returns its URL.
func demoFreshDatabase(ctx context.Context, base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("CONTIPLE_DATABASE_URL: %w", err)
	}
	admin := *u
	if strings.Trim(admin.Path, "/") == demoDatabase {
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
	for _, q := range []string{"DROP DATABASE IF EXISTS " + demoDatabase + " WITH (FORCE)", "CREATE DATABASE " + demoDatabase} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return "", fmt.Errorf("database: %s: %w", q, err)
		}
	}
	u.Path = "/" + demoDatabase
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

func demoRandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// storyEnv is where the story's world lives: the local services and the
// worker's address. The demo fills it from the environment, the test from testenv.
type storyEnv struct {
	DatabaseURL, RedisURL  string
	IMAPAddr, IMAPPassword string // Dovecot: any user logs in with the password
	SMTPAddr               string // Postfix: customers send here, and so does the worker unless WorkerSMTP is set
	WorkerSMTP             string // host:port of the worker's SMTP server, when not SMTPAddr
	Domain                 string // mail domain delivered into Dovecot
	SupportUser            string // Dovecot user of the support mailbox; the address is SupportUser@Domain
	HTTPAddr               string
	Run                    string // makes customer addresses unique per run
	Dir                    string // for the configuration file
	Setenv                 func(key, value string) error
}

// storyWorld is the running worker, the Dooray! fake and what the story needs
// to watch them.
type storyWorld struct {
	Env        storyEnv
	Config     *config.Config
	Store      *ticket.Store
	Pool       *pgxpool.Pool
	Fake       *dooraytest.Server
	Helpdesk   string // project with the webhook
	Infra      string // project followed by poll alone
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
func (w *storyWorld) Support() string { return w.Env.SupportUser + "@" + w.Env.Domain }

// demoConfig is the worker's configuration for the story: short intervals so
// that the story is told in well under two minutes.
const demoConfig = `# Written by contiple-worker demo.
http:
  addr: %[1]q
  dashboard_password_env: ` + demoDashboardEnv + `
  api_tokens:
    - {name: admin, role: administrator, token_env: ` + demoAPITokenEnv + `}
  webhook_token_env: ` + demoWebhookTokenEnv + `
smtp:
  host: %[2]q
  port: %[3]d
  tls: none
  timeout: 20s
dooray:
  base_url: %[4]q
  token_env: ` + demoDoorayTokenEnv + `
  bot_member_id: %[5]q
  sync_interval: 2s
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
      password_env: ` + demoIMAPPasswordEnv + `
      folder: INBOX
      after: seen
      idle: true
      poll_interval: 5s
    dooray:
      project_id: %[10]q
      to_member_ids: [%[11]q]
    forbidden_words: ["絶対", "必ず", "guarantee"]
    triggers:
      - name: rotation
        when:
          channels: [email]
        then:
          assign_sequence: [ito, park, jones]
          group: first-line
`

// startStoryWorld starts the Dooray! fake, writes the configuration, migrates,
// points the support mailbox at its current end (mail of earlier runs stays
// unread by this database), runs the worker in-process with a.serve, and
// registers the webhook on the helpdesk project as `dooray hook register` does.
func startStoryWorld(ctx context.Context, a *app, e storyEnv) (w *storyWorld, err error) {
	w = &storyWorld{Env: e}
	// The fake answers with rate-limit headers, as Dooray! does: the worker's
	// limiter learns the bucket from them instead of pacing at its cautious
	// 1 request a second.
	w.Fake = dooraytest.NewServer(dooraytest.WithProjectCode("helpdesk"), dooraytest.WithToken("demo-"+demoRandomHex(12)),
		dooraytest.WithRateLimit(50, 25))
	defer func() {
		if err != nil {
			w.Stop()
		}
	}()
	w.Helpdesk, w.Infra = w.Fake.ProjectID(), w.Fake.AddProject("infra")
	w.APIToken = demoRandomHex(16)
	for k, v := range map[string]string{"CONTIPLE_DATABASE_URL": e.DatabaseURL, "CONTIPLE_REDIS_URL": e.RedisURL,
		demoAPITokenEnv: w.APIToken, demoWebhookTokenEnv: demoRandomHex(16), demoDoorayTokenEnv: w.Fake.Token(),
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
	path := filepath.Join(e.Dir, "config.yaml")
	yaml := fmt.Sprintf(demoConfig, e.HTTPAddr, smtpHost, smtpPort, w.Fake.URL, w.Fake.BotMemberID(),
		e.SupportUser+"@"+e.Domain, imapHost, imapPort, e.SupportUser, w.Helpdesk, w.Fake.OtherMemberID())
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
	defs, err := serviceDefs(w.Config)
	if err != nil {
		return w, err
	}
	if err := w.Store.SyncServices(ctx, defs); err != nil {
		return w, err
	}
	if err := w.skipOldMail(ctx); err != nil {
		return w, err
	}

	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	w.stop, w.served = stop, make(chan error, 1)
	go func() { w.served <- a.serve(runCtx, w.Config) }()
	if err := w.waitHealthy(ctx); err != nil {
		return w, err
	}

	client, err := newDoorayClient(w.Config, nil, a.log, nil)
	if err != nil {
		return w, err
	}
	if w.HookURL, err = doorayHookURL(w.Config, ""); err != nil {
		return w, err
	}
	reg := dooray.HookRegistration{URL: w.HookURL, Type: dooray.HookTypeTask, SendEvents: defaultHookEvents, Option: &dooray.HookOptions{}}
	reg.Option.Body.Include = true
	if _, err := client.RegisterHook(ctx, dooray.ID(w.Helpdesk), reg); err != nil {
		return w, fmt.Errorf("register the webhook: %w", err)
	}
	return w, nil
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
func (w *storyWorld) skipOldMail(ctx context.Context) error {
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

// waitHealthy waits for /healthz, or for serve to fail first.
func (w *storyWorld) waitHealthy(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get("http://" + w.Env.HTTPAddr + "/healthz")
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
			return fmt.Errorf("the worker did not answer on http://%s/healthz within a minute", w.Env.HTTPAddr)
		}
	}
}

// Stop stops the worker (as SIGTERM does), then the fake. It is safe to call twice.
func (w *storyWorld) Stop() error {
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
	if w.Pool != nil {
		w.Pool.Close()
	}
	return w.stopErr
}

// story is the scripted life of three tickets, told as it happens: every step
// acts as a customer, an operator or a Dooray! user would, then waits (up to
// timeout) for the real state and says what it saw.
type story struct {
	w       *storyWorld
	timeout time.Duration
	say     func(line string)
	// check runs after each named step with what the story saw so far: the
	// end-to-end test asserts there. nil in the demo.
	check func(step string, st *storyState) error
	st    storyState
	http  *http.Client
}

// The steps, in order, as check receives them.
const (
	stepTickets   = "tickets-created"
	stepHold      = "hold-mail"
	stepReply     = "reply-threaded"
	stepEscalated = "escalated"
	stepCommented = "dooray-comment-sent"
	stepWorking   = "dooray-working"
	stepCommentIn = "dooray-comment-received"
	stepClosed    = "dooray-closed"
	stepResolved  = "resolve-mail"
	stepCompleted = "completed"
)

// storyState is what the story saw.
type storyState struct {
	Customers    []*storyCustomer // yamada (ja, ISO-2022-JP), kim (ko, UTF-8), smith (en)
	HoldMail     *storyMail       // as read back from yamada's mailbox
	HoldOutbound ticket.OutboundMail
	Reply        string           // Message-ID of yamada's reply
	Posts        map[int64]string // ticket → Dooray! post
	TaskNumbers  map[int64]string // ticket → "helpdesk/1"
	DoorayOut    string           // Dooray! log id of the operator's comment
	DoorayIn     string           // Dooray! log id of the comment written in Dooray!
	Resolve      map[int64]*storyMail
	Took         time.Duration
}

// storyCustomer is one customer and the ticket their first mail made.
type storyCustomer struct {
	Name, Address, Charset string
	Subject, Body          string
	MessageID              string // of the first mail
	Ticket                 ticket.Ticket
}

// storyMail is a mail read back from a Dovecot mailbox.
type storyMail struct {
	Parsed *email.Parsed
	Header mail.Header // as on the wire (encoded words undecoded)
	Raw    []byte
}

func (s *story) printf(format string, args ...any) { s.say(fmt.Sprintf(format, args...)) }

func (s *story) checkpoint(step string) error {
	if s.check == nil {
		return nil
	}
	if err := s.check(step, &s.st); err != nil {
		return fmt.Errorf("after step %s: %w", step, err)
	}
	return nil
}

func demoTook(d time.Duration) string { return fmt.Sprintf("[%.1fs]", d.Seconds()) }

// run tells the story and returns what it saw.
func (s *story) run(ctx context.Context) (*storyState, error) {
	start := time.Now()
	if s.timeout <= 0 {
		s.timeout = 45 * time.Second
	}
	if s.http == nil {
		s.http = &http.Client{Timeout: 20 * time.Second}
	}
	s.st.Posts, s.st.TaskNumbers, s.st.Resolve = map[int64]string{}, map[int64]string{}, map[int64]*storyMail{}
	run, domain := s.w.Env.Run, s.w.Env.Domain
	s.st.Customers = []*storyCustomer{
		{Name: "山田 太郎", Address: "yamada-" + run + "@" + domain, Charset: "ISO-2022-JP", Subject: "ログインできません",
			Body: "サポート窓口 ご担当者様\n\nお世話になっております。山田です。\n昨日からマイページにログインできません。\n" +
				"パスワードを再設定しても「認証エラー」と表示されます。\nご確認をお願いいたします。\n\n山田 太郎\n"},
		{Name: "김민수", Address: "kim-" + run + "@" + domain, Charset: "UTF-8", Subject: "결제가 두 번 청구되었습니다",
			Body: "안녕하세요.\n11월 구독료가 카드에서 두 번 결제되었습니다.\n한 건은 취소해 주시기 바랍니다.\n\n김민수 드림\n"},
		{Name: "John Smith", Address: "smith-" + run + "@" + domain, Charset: "US-ASCII", Subject: "Invoice for October is missing",
			Body: "Hello,\n\nI cannot find the invoice for October in my account.\nCould you send me a copy?\n\nBest regards,\nJohn Smith\n"},
	}
	for _, step := range []func(context.Context) error{
		s.mailsIn, s.hold, s.customerReply, s.escalate, s.commentOut, s.working, s.commentIn, s.closed, s.resolve, s.complete,
	} {
		if err := step(ctx); err != nil {
			return &s.st, err
		}
	}
	s.st.Took = time.Since(start)
	return &s.st, nil
}

// 1. Three customers write in; a trigger assigns each ticket in turn.
func (s *story) mailsIn(ctx context.Context) error {
	s.printf("\n1. Three customers write to %s (SMTP to Postfix → Dovecot → IMAP IDLE → mail:ingest)", s.w.Support())
	for i, c := range s.st.Customers {
		c.MessageID = fmt.Sprintf("%s.%d@%s", s.w.Env.Run, i+1, s.w.Env.Domain)
		raw, err := c.compose(s.w.Support(), c.Subject, c.Body, c.MessageID, "", nil)
		if err != nil {
			return err
		}
		s.printf("   ✉ %s <%s>: 「%s」 (%s)", c.Name, c.Address, c.Subject, c.Charset)
		if err := demoSendMail(ctx, s.w.Env.SMTPAddr, c.Address, s.w.Support(), raw); err != nil {
			return fmt.Errorf("send %s's mail: %w", c.Name, err)
		}
		took, err := s.waitFor(ctx, "the ticket of "+c.Address, func() (bool, error) {
			page, err := s.w.Store.List(ctx, ticket.ListFilter{Service: "support"})
			for _, t := range page.Tickets {
				if strings.EqualFold(t.CustomerEmail, c.Address) {
					c.Ticket = t
					return true, err
				}
			}
			return false, err
		})
		if err != nil {
			return err
		}
		via := "no trigger"
		if ev, ok, err := s.lastEvent(ctx, c.Ticket.ID, "trigger"); err != nil {
			return err
		} else if ok {
			via = fmt.Sprintf("trigger %s", ev.Data["trigger"])
		}
		s.printf("     → ticket %s created from %s <%s> (channel %s), assigned to %s (group %s) by %s, status %s %s",
			ticket.Marker(c.Ticket.ID), c.Ticket.CustomerName, c.Ticket.CustomerEmail, c.Ticket.Channel, c.Ticket.Assignee,
			c.Ticket.Group, via, c.Ticket.Status, demoTook(took))
	}
	return s.checkpoint(stepTickets)
}

// 2. The operator holds the first ticket; the hold mail lands in the customer's mailbox.
func (s *story) hold(ctx context.Context) error {
	c := s.st.Customers[0]
	id := c.Ticket.ID
	note := "ログインの不具合について、ただいま担当部署で調査しております。\nお手数ですが、ご利用のブラウザとエラーコードをお知らせください。"
	s.printf("\n2. %s answers %s with a hold mail (POST /api/v1/tickets/%d/preview, then /hold)", c.Ticket.Assignee, ticket.Marker(id), id)
	var preview struct {
		Subject   string `json:"subject"`
		Forbidden []struct {
			Word string `json:"word"`
		} `json:"forbidden_words"`
	}
	if err := s.call(ctx, "POST", fmt.Sprintf("/api/v1/tickets/%d/preview", id), map[string]any{"action": "hold", "note": note}, &preview); err != nil {
		return err
	}
	words := "no forbidden word"
	if len(preview.Forbidden) > 0 {
		words = fmt.Sprintf("%d forbidden word(s)", len(preview.Forbidden))
	}
	s.printf("     → preview: Subject %q, %s", preview.Subject, words)
	out, err := s.answer(ctx, id, "hold", note)
	if err != nil {
		return err
	}
	s.st.HoldOutbound = out
	m, took, err := s.mailIn(ctx, c, out.MailMessageID)
	if err != nil {
		return err
	}
	s.st.HoldMail = m
	s.printf("     → landed in %s's mailbox %s:", demoUser(c.Address), demoTook(took))
	s.printMail(m)
	return s.checkpoint(stepHold)
}

// answer resolves or holds ticket id through the API, waits for its mail to be
// sent and returns the outbound mail.
func (s *story) answer(ctx context.Context, id int64, action, note string) (ticket.OutboundMail, error) {
	var t ticket.Ticket
	if err := s.call(ctx, "POST", fmt.Sprintf("/api/v1/tickets/%d/%s", id, action), map[string]any{"note": note}, &t); err != nil {
		return ticket.OutboundMail{}, err
	}
	ev, ok, err := s.lastEvent(ctx, id, action)
	if err != nil || !ok {
		return ticket.OutboundMail{}, fmt.Errorf("no %s event on ticket %d (%v)", action, id, err)
	}
	outID, _ := ev.Data["outbound_mail_id"].(float64)
	var out ticket.OutboundMail
	took, err := s.waitFor(ctx, fmt.Sprintf("the %s mail of %s to be sent", action, ticket.Marker(id)), func() (bool, error) {
		out, err = s.w.Store.Outbound(ctx, int64(outID))
		if err == nil && out.State == ticket.OutboundFailed {
			return false, fmt.Errorf("the %s mail failed: %s", action, out.LastError)
		}
		return out.State == ticket.OutboundSent, err
	})
	if err != nil {
		return out, err
	}
	s.printf("     → status %s; %s mail #%d sent over SMTP to %s (attempt %d) %s", t.Status, action, out.ID, out.Recipient, out.Attempts, demoTook(took))
	return out, nil
}

// mailIn waits for the mail with messageID in the customer's Dovecot mailbox.
func (s *story) mailIn(ctx context.Context, c *storyCustomer, messageID string) (*storyMail, time.Duration, error) {
	var m *storyMail
	took, err := s.waitFor(ctx, "<"+messageID+"> in "+c.Address+"'s mailbox", func() (bool, error) {
		var err error
		m, err = s.fetchMail(ctx, demoUser(c.Address), messageID)
		return m != nil, err
	})
	return m, took, err
}

func (s *story) printMail(m *storyMail) {
	p := m.Parsed
	var to []string
	for _, a := range p.To {
		to = append(to, fmt.Sprintf("%s <%s>", a.Name, a.Address))
	}
	s.printf("         From: %s <%s>   To: %s", p.From.Name, p.From.Address, strings.Join(to, ", "))
	s.printf("         Subject: %s", p.Subject)
	s.printf("         Message-ID: %s", m.Header.Get("Message-ID"))
	s.printf("         In-Reply-To: %s", m.Header.Get("In-Reply-To"))
	s.printf("         References: %s", strings.Join(strings.Fields(m.Header.Get("References")), " "))
	ct, _, _ := strings.Cut(m.Header.Get("Content-Type"), ";")
	s.printf("         Auto-Submitted: %s   Content-Type: %s", m.Header.Get("Auto-Submitted"), ct)
}

// 3. The customer answers the hold mail; the reply threads into the ticket.
func (s *story) customerReply(ctx context.Context) error {
	c := s.st.Customers[0]
	hold := s.st.HoldMail.Parsed
	subject := hold.Subject
	if !strings.HasPrefix(strings.ToLower(subject), "re:") {
		subject = "Re: " + subject
	}
	var quoted strings.Builder
	for line := range strings.Lines(hold.Text) {
		quoted.WriteString("> " + line)
	}
	body := "ご連絡ありがとうございます。\nブラウザは Chrome 131、エラーコードは E-4012 です。\nよろしくお願いいたします。\n\n山田\n\n" +
		fmt.Sprintf("%s %s <%s>:\n", hold.Date, hold.From.Name, hold.From.Address) + quoted.String()
	s.st.Reply = fmt.Sprintf("%s.reply@%s", s.w.Env.Run, s.w.Env.Domain)
	raw, err := c.compose(s.w.Support(), subject, body, s.st.Reply, hold.MessageID, []string{c.MessageID, hold.MessageID})
	if err != nil {
		return err
	}
	s.printf("\n3. %s replies to the hold mail (In-Reply-To: <%s>)", c.Name, hold.MessageID)
	if err := demoSendMail(ctx, s.w.Env.SMTPAddr, c.Address, s.w.Support(), raw); err != nil {
		return fmt.Errorf("send the reply: %w", err)
	}
	var t ticket.Ticket
	took, err := s.waitFor(ctx, "the reply in "+ticket.Marker(c.Ticket.ID), func() (bool, error) {
		msgs, err := s.w.Store.Messages(ctx, c.Ticket.ID)
		if err != nil {
			return false, err
		}
		for _, m := range msgs {
			if m.MailMessageID == s.st.Reply {
				t, err = s.w.Store.Get(ctx, c.Ticket.ID)
				return true, err
			}
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	ev, _, err := s.lastEvent(ctx, t.ID, string(ticket.ActionCustomerReply))
	if err != nil {
		return err
	}
	s.printf("     → threaded into %s by its In-Reply-To; the ticket reopened: %s → %s %s", ticket.Marker(t.ID), ev.From, t.Status, demoTook(took))
	return s.checkpoint(stepReply)
}

// 4. Two tickets are escalated to Dooray!: one to a project with a webhook, one to a project without.
func (s *story) escalate(ctx context.Context) error {
	s.printf("\n4. Escalations to Dooray! (POST /api/v1/tickets/N/escalate → dooray:escalate)")
	for i, e := range []struct{ project, code, content string }{
		{s.w.Helpdesk, "helpdesk", "お客様がマイページにログインできません（認証エラー E-4012、Chrome 131）。パスワード再設定後も再現します。認証サーバーのログ確認をお願いします。"},
		{s.w.Infra, "infra", "11월 구독료 이중 결제 (카드). 결제 서버에서 중복 승인 여부를 확인하고 1건 취소 부탁드립니다."},
	} {
		c := s.st.Customers[i]
		id := c.Ticket.ID
		if err := s.call(ctx, "POST", fmt.Sprintf("/api/v1/tickets/%d/escalate", id),
			map[string]any{"project_id": e.project, "content": e.content}, nil); err != nil {
			return err
		}
		took, err := s.waitStatus(ctx, id, ticket.StatusDoorayTransferred)
		if err != nil {
			return err
		}
		ev, _, err := s.lastEvent(ctx, id, string(ticket.ActionDoorayCreated))
		if err != nil {
			return err
		}
		post, _ := ev.Data["post_id"].(string)
		number, _ := ev.Data["task_number"].(string)
		s.st.Posts[id], s.st.TaskNumbers[id] = post, number
		p, _ := s.w.Fake.Post(post)
		s.printf("   %s by %s to project %s", ticket.Marker(id), c.Ticket.Assignee, e.code)
		s.printf("     → task %s %q (post %s, state %s) created; status dooray_transferred %s", number, p.Subject, post, p.Class, demoTook(took))
	}
	return s.checkpoint(stepEscalated)
}

// 5. The operator adds a comment to the Dooray! task.
func (s *story) commentOut(ctx context.Context) error {
	c := s.st.Customers[0]
	id, post := c.Ticket.ID, s.st.Posts[c.Ticket.ID]
	text := "お客様から追加情報: ブラウザ Chrome 131、エラーコード E-4012。"
	s.printf("\n5. %s adds a comment for Dooray! on %s (POST /api/v1/tickets/%d/dooray-comment → dooray:comment)", c.Ticket.Assignee, ticket.Marker(id), id)
	if err := s.call(ctx, "POST", fmt.Sprintf("/api/v1/tickets/%d/dooray-comment", id), map[string]any{"text": text}, nil); err != nil {
		return err
	}
	var ev ticket.Event
	took, err := s.waitFor(ctx, "the comment on task "+s.st.TaskNumbers[id], func() (bool, error) {
		var ok bool
		var err error
		ev, ok, err = s.lastEvent(ctx, id, ticket.EventDoorayCommentSent)
		return ok, err
	})
	if err != nil {
		return err
	}
	s.st.DoorayOut, _ = ev.Data["dooray_log_id"].(string)
	s.printf("     → comment %s on task %s (%d comment(s) on it in Dooray!) %s", s.st.DoorayOut, s.st.TaskNumbers[id], len(s.w.Fake.Comments(post)), demoTook(took))
	return s.checkpoint(stepCommented)
}

// 6. In Dooray!, someone starts both tasks: one ticket follows by webhook, the other by poll.
func (s *story) working(ctx context.Context) error {
	s.printf("\n6. In Dooray!, %s moves both tasks to 進行中 (working)", demoDoorayUser)
	return s.moveBoth(ctx, dooray.Working, ticket.StatusDoorayInProgress, stepWorking)
}

// 8. … and closes them.
func (s *story) closed(ctx context.Context) error {
	s.printf("\n8. In Dooray!, %s closes both tasks (完了)", demoDoorayUser)
	return s.moveBoth(ctx, dooray.Closed, ticket.StatusDoorayAnswered, stepClosed)
}

// demoDoorayUser is the fake's second member, who acts in Dooray!'s web UI.
const demoDoorayUser = "Kim Minji"

func (s *story) moveBoth(ctx context.Context, class dooray.WorkflowClass, want ticket.Status, step string) error {
	for i, project := range []string{s.w.Helpdesk, s.w.Infra} {
		id := s.st.Customers[i].Ticket.ID
		post := s.st.Posts[id]
		before := len(s.w.Fake.Deliveries())
		lists := s.w.Fake.Requests()[dooraytest.RouteListPosts]
		if err := s.w.Fake.MovePost(project, post, string(class)); err != nil {
			return err
		}
		took, err := s.waitStatus(ctx, id, want)
		if err != nil {
			return err
		}
		var hooks []string
		for _, d := range s.w.Fake.Deliveries()[before:] {
			hooks = append(hooks, fmt.Sprintf("%s → %d", d.Event, d.Status))
		}
		how := "no webhook on this project: the poll (dooray:sync every " + s.w.Config.Dooray.SyncInterval.Std().String() +
			fmt.Sprintf(", %d list request(s) meanwhile) found the change", s.w.Fake.Requests()[dooraytest.RouteListPosts]-lists)
		if len(hooks) > 0 {
			how = "webhook " + strings.Join(hooks, ", ") + " queued a sync of the task"
		}
		s.printf("   task %s → %s: %s", s.st.TaskNumbers[id], class, how)
		s.printf("     → %s %s %s", ticket.Marker(id), want, demoTook(took))
	}
	return s.checkpoint(step)
}

// 7. A comment written in Dooray! comes back into the ticket's history.
func (s *story) commentIn(ctx context.Context) error {
	c := s.st.Customers[0]
	id, post := c.Ticket.ID, s.st.Posts[c.Ticket.ID]
	text := "原因は認証サーバーのセッションキャッシュでした。本日 14:00 に修正をリリースしました。"
	s.printf("\n7. %s answers on task %s in Dooray!: %q", demoDoorayUser, s.st.TaskNumbers[id], text)
	logID, err := s.w.Fake.AddComment(s.w.Helpdesk, post, text)
	if err != nil {
		return err
	}
	s.st.DoorayIn = logID
	var got ticket.Message
	took, err := s.waitFor(ctx, "the Dooray! comment in "+ticket.Marker(id), func() (bool, error) {
		msgs, err := s.w.Store.Messages(ctx, id)
		for _, m := range msgs {
			if m.DoorayLogID == logID {
				got = m
				return true, err
			}
		}
		return false, err
	})
	if err != nil {
		return err
	}
	s.printf("     → in the history of %s as a %s message from %s %s", ticket.Marker(id), got.Kind, got.Author, demoTook(took))
	return s.checkpoint(stepCommentIn)
}

// 9. Both escalated tickets are resolved; the resolve mails land in the mailboxes.
func (s *story) resolve(ctx context.Context) error {
	s.printf("\n9. The operators resolve %s and %s (POST /api/v1/tickets/N/resolve → mail:send)",
		ticket.Marker(s.st.Customers[0].Ticket.ID), ticket.Marker(s.st.Customers[1].Ticket.ID))
	for i, note := range []string{
		"認証サーバーの不具合が原因でした。本日修正をリリースしましたので、再度ログインをお試しください。",
		"중복 결제 1건을 취소했습니다. 카드사에 반영되기까지 3~5 영업일이 걸립니다.",
	} {
		c := s.st.Customers[i]
		s.printf("   %s resolves %s", c.Ticket.Assignee, ticket.Marker(c.Ticket.ID))
		out, err := s.answer(ctx, c.Ticket.ID, "resolve", note)
		if err != nil {
			return err
		}
		m, took, err := s.mailIn(ctx, c, out.MailMessageID)
		if err != nil {
			return err
		}
		s.st.Resolve[c.Ticket.ID] = m
		s.printf("     → landed in %s's mailbox %s:", demoUser(c.Address), demoTook(took))
		s.printMail(m)
	}
	return s.checkpoint(stepResolved)
}

// 10. An administrator completes the resolved tickets.
func (s *story) complete(ctx context.Context) error {
	s.printf("\n10. An administrator completes them (POST /api/v1/tickets/N/complete)")
	for _, c := range s.st.Customers[:2] {
		var t ticket.Ticket
		if err := s.call(ctx, "POST", fmt.Sprintf("/api/v1/tickets/%d/complete", c.Ticket.ID), map[string]any{}, &t); err != nil {
			return err
		}
		c.Ticket = t
		s.printf("     → %s %s", ticket.Marker(t.ID), t.Status)
	}
	for _, c := range s.st.Customers[:2] {
		evs, err := s.w.Store.Events(ctx, c.Ticket.ID)
		if err != nil {
			return err
		}
		var path []string
		for _, e := range evs {
			if e.To != "" && e.To != e.From {
				path = append(path, string(e.To))
			}
		}
		s.printf("   %s went %s (%d events)", ticket.Marker(c.Ticket.ID), strings.Join(path, " → "), len(evs))
	}
	var err error
	last := s.st.Customers[2]
	if last.Ticket, err = s.w.Store.Get(ctx, last.Ticket.ID); err != nil {
		return err
	}
	return s.checkpoint(stepCompleted)
}

// waitFor polls cond until it holds, the step's timeout passes or ctx ends,
// and returns how long it took.
func (s *story) waitFor(ctx context.Context, what string, cond func() (bool, error)) (time.Duration, error) {
	start := time.Now()
	deadline := start.Add(s.timeout)
	for {
		ok, err := cond()
		if err != nil {
			return time.Since(start), fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return time.Since(start), nil
		}
		if time.Now().After(deadline) {
			return time.Since(start), fmt.Errorf("waited %s for %s in vain", s.timeout, what)
		}
		select {
		case <-ctx.Done():
			return time.Since(start), ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *story) waitStatus(ctx context.Context, id int64, want ticket.Status) (time.Duration, error) {
	var last ticket.Status
	took, err := s.waitFor(ctx, fmt.Sprintf("%s to become %s", ticket.Marker(id), want), func() (bool, error) {
		t, err := s.w.Store.Get(ctx, id)
		last = t.Status
		return t.Status == want, err
	})
	if err != nil {
		return took, fmt.Errorf("%w (it is %s)", err, last)
	}
	return took, nil
}

// lastEvent is the ticket's newest event of kind.
func (s *story) lastEvent(ctx context.Context, id int64, kind string) (ticket.Event, bool, error) {
	evs, err := s.w.Store.Events(ctx, id)
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Kind == kind {
			return evs[i], true, err
		}
	}
	return ticket.Event{}, false, err
}

// call is the helpdesk application: JSON over HTTP to /api/v1 with the bearer token.
func (s *story) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+s.w.Env.HTTPAddr+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.w.APIToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct{ Code, Message string }
		}
		json.Unmarshal(b, &e)
		return fmt.Errorf("%s %s: %s: %s (%s)", method, path, resp.Status, e.Error.Message, e.Error.Code)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// fetchMail reads a Dovecot user's INBOX (BODY.PEEK, nothing flagged) and
// returns the mail with messageID, or nil when it has not arrived.
func (s *story) fetchMail(ctx context.Context, user, messageID string) (*storyMail, error) {
	host, port, err := demoSplitHostPort(s.w.Env.IMAPAddr)
	if err != nil {
		return nil, err
	}
	mb, err := email.Dial(ctx, email.Account{Host: host, Port: port, TLS: email.TLSNone, Username: user,
		Password: s.w.Env.IMAPPassword, Folder: "INBOX", NoIdle: true, Timeout: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	defer mb.Close()
	var found *storyMail
	err = mb.Fetch(ctx, 0, 0, 0, func(f email.Fetched) error {
		if found != nil || f.Raw == nil {
			return nil
		}
		p, err := email.Parse(f.Raw, email.ParseOptions{})
		if err != nil || p.MessageID != messageID {
			return nil
		}
		m, err := mail.ReadMessage(bytes.NewReader(f.Raw))
		if err != nil {
			return err
		}
		found = &storyMail{Parsed: p, Header: m.Header, Raw: f.Raw}
		return nil
	})
	return found, err
}

// demoUser is the Dovecot user of an address: its local part.
func demoUser(address string) string {
	local, _, _ := strings.Cut(address, "@")
	return local
}

// compose writes a mail from the customer, as a mail client of their language
// would: ISO-2022-JP (7bit), UTF-8 (base64) or US-ASCII.
func (c *storyCustomer) compose(to, subject, body, messageID, inReplyTo string, refs []string) ([]byte, error) {
	word := func(s string) (string, error) { return s, nil }
	text := strings.ReplaceAll(body, "\n", "\r\n")
	cte := "7bit"
	switch c.Charset {
	case "ISO-2022-JP":
		enc := japanese.ISO2022JP.NewEncoder()
		word = func(s string) (string, error) {
			b, err := enc.String(s)
			return mime.BEncoding.Encode("ISO-2022-JP", b), err
		}
		var err error
		if text, err = enc.String(text); err != nil {
			return nil, err
		}
	case "UTF-8":
		word = func(s string) (string, error) { return mime.BEncoding.Encode("UTF-8", s), nil }
		b64 := base64.StdEncoding.EncodeToString([]byte(text))
		var wrapped strings.Builder
		for len(b64) > 76 {
			wrapped.WriteString(b64[:76] + "\r\n")
			b64 = b64[76:]
		}
		wrapped.WriteString(b64 + "\r\n")
		text, cte = wrapped.String(), "base64"
	}
	name, err := word(c.Name)
	if err != nil {
		return nil, err
	}
	subj, err := word(subject)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s <%s>\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s>\r\n",
		name, c.Address, to, subj, time.Now().Format(time.RFC1123Z), messageID)
	if inReplyTo != "" {
		fmt.Fprintf(&b, "In-Reply-To: <%s>\r\n", inReplyTo)
	}
	if len(refs) > 0 {
		fmt.Fprintf(&b, "References: <%s>\r\n", strings.Join(refs, "> <"))
	}
	fmt.Fprintf(&b, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=%s\r\nContent-Transfer-Encoding: %s\r\n\r\n%s", c.Charset, cte, text)
	return []byte(b.String()), nil
}

// demoSendMail submits raw to the SMTP server at addr, as a customer's mail client.
func demoSendMail(ctx context.Context, addr, from, to string, raw []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.Hello("customer.invalid"); err != nil {
		return err
	}
	if err := c.SendMail(from, []string{to}, bytes.NewReader(raw)); err != nil {
		return err
	}
	return c.Quit()
}
