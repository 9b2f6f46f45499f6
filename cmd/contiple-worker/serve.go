package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/contiple/contiple-worker/api"
	"github.com/contiple/contiple-worker/channels/email"
	"github.com/contiple/contiple-worker/internal/config"
	"github.com/contiple/contiple-worker/jobs"
	"github.com/contiple/contiple-worker/mailer"
	"github.com/contiple/contiple-worker/migrations"
	"github.com/contiple/contiple-worker/ticket"
)

func (a *app) serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the worker: asynq queues, outbox relay, HTTP (/healthz /readyz /metrics /monitoring/)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			limitHeap(cfg)
			return a.serve(cmd.Context(), cfg)
		},
	}
}

// workers is how many tasks one serve process runs at once.
const workers = 10

func (a *app) serve(ctx context.Context, cfg *config.Config) error {
	log := a.log
	// Everything the configuration or the environment gets wrong is reported
	// before anything waits.
	pool, err := newPool()
	if err != nil {
		return err
	}
	defer pool.Close()
	store, err := storeOn(pool)
	if err != nil {
		return err
	}
	store.SetSuppressFor(cfg.SMTP.SuppressFor.Std())
	defs, err := serviceDefs(cfg)
	if err != nil {
		return err
	}
	redisOpt, rdb, err := redisFromEnv()
	if err != nil {
		return err
	}
	defer rdb.Close()
	logins, err := a.newOAuthLogins(cfg, rdb, pool)
	if err != nil {
		return err
	}
	intake, err := mailboxIntakes(cfg, logins)
	if err != nil {
		return err
	}
	sender, err := newSender(cfg, logins)
	if err != nil {
		return err
	}
	defer sender.Close()

	// HTTP first: /healthz answers while the worker waits for PostgreSQL and
	// Redis, and /readyz says which it waits for and why.
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	health := &api.Health{Log: log}
	httpMux := http.NewServeMux()
	health.Mount(httpMux)
	httpSrv := &http.Server{Addr: cfg.HTTP.Addr, Handler: httpMux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := httpSrv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			fail(fmt.Errorf("http server: %w", err))
		}
	}()
	defer func() {
		shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		httpSrv.Shutdown(shutCtx)
	}()
	if err := health.Await(ctx, "postgresql", pool.Ping); err != nil {
		return stopCause(ctx)
	}
	if applied, err := migrations.Up(ctx, pool); err != nil {
		return err
	} else if len(applied) > 0 {
		log.Info("migrations applied", "versions", applied)
	}
	if err := store.SyncServices(ctx, defs); err != nil {
		return fmt.Errorf("sync services: %w", err)
	}
	log.Info("services synced", "count", len(defs))
	if err := health.Await(ctx, "redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() }); err != nil {
		return stopCause(ctx)
	}
	if err := jobs.PublishQueues(ctx, rdb); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	client := asynq.NewClient(redisOpt)
	defer client.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := jobs.NewMetrics(store, log)
	if err := metrics.Register(reg); err != nil {
		return err
	}

	srv := asynq.NewServer(redisOpt, asynq.Config{
		Concurrency:       workers,
		Queues:            jobs.Queues,
		ShutdownTimeout:   25 * time.Second,
		TaskCheckInterval: 100 * time.Millisecond, // an idle worker picks new work up within 0.1 s
		RetryDelayFunc:    jobs.RetryDelay,
		Logger:            asynqLogger{log.With("component", "asynq")},
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			id, _ := asynq.GetTaskID(ctx)
			retried, _ := asynq.GetRetryCount(ctx)
			log.Warn("task failed", "task_type", t.Type(), "task_id", id, "retried", retried,
				"final", errors.Is(err, asynq.SkipRetry) || errors.Is(err, asynq.RevokeTask), "err", err)
		}),
	})
	poll := &jobs.MailPoll{Store: store, Log: log.With("component", "mail:poll"), Mailboxes: intake, MaxBytes: cfg.Mail.MaxMessageBytes}
	doorayOrgs, doorayEvery, err := doorayOrganizations(cfg, rdb, log, metrics.DoorayWait)
	if err != nil {
		return err
	}
	periodic := append(jobs.Schedule(intake, doorayEvery), jobs.RawRetentionSchedule(cfg.Mail.RawRetention.Std())...)
	mux := asynq.NewServeMux()
	mux.Use(metrics.Middleware, jobs.OutboxDone(pool, log), metrics.Recurring, jobs.Once(rdb, periodic),
		jobs.Recover(log, a.redact.Redact))
	poll.Register(mux)
	(&jobs.RawRetention{Store: store, After: cfg.Mail.RawRetention.Std(), Log: log.With("component", "retention")}).Register(mux)
	(&jobs.MailIngest{Store: store, Log: log.With("component", "mail:ingest"), Spam: spamRules(cfg), Locales: serviceLocales(cfg), TrackerDomains: cfg.Dooray.MailDomains,
		Parse:  email.ParseOptions{MaxSize: cfg.Mail.MaxMessageBytes, MaxAttachmentSize: cfg.Mail.MaxAttachmentBytes},
		Budget: jobs.NewMemoryBudget(cfg.Mail.MemoryBudget)}).Register(mux)
	jobs.NewMailSend(store, sender, jobs.NewSMTPRateLimiter(rdb, cfg.SMTP.RatePerMinute), sender.Addr(),
		cfg.SMTP.RecipientPerHour, log.With("component", "mail:send")).Register(mux)
	if len(doorayOrgs) > 0 {
		jobs.NewDooray(jobs.DoorayConfig{Store: store, Organizations: doorayOrgs, Queue: client, Log: log.With("component", "dooray"),
			SyncInterval: cfg.Dooray.SyncInterval.Std()}).Register(mux)
	} else {
		log.Warn("Dooray! disabled: no organisation in dooray.organizations (or dooray.base_url); escalations wait in the dooray queue")
	}
	if err := srv.Start(mux); err != nil {
		return fmt.Errorf("asynq server: %w", err)
	}

	a.mountRoutes(httpMux, cfg, routes{redisOpt: redisOpt, reg: reg, store: store, client: client})
	var wg sync.WaitGroup
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	inspector := asynq.NewInspector(redisOpt)
	defer inspector.Close()
	relay := &jobs.Relay{Pool: pool, Client: client, Inspector: inspector, Redis: rdb, Log: log.With("component", "relay")}
	wg.Go(func() { relay.Run(runCtx) })
	wg.Go(func() { poll.RunIDLE(runCtx, rdb) })
	scheduler := asynq.NewScheduler(redisOpt, &asynq.SchedulerOpts{Logger: asynqLogger{log.With("component", "scheduler")}})
	for _, p := range periodic {
		if _, err := scheduler.Register(p.Spec(), p.Task, p.Opts...); err != nil {
			return fmt.Errorf("scheduler: %w", err)
		}
	}
	if err := scheduler.Start(); err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	defer scheduler.Shutdown()
	health.Started()
	log.Info("serving", "http", cfg.HTTP.Addr, "queues", jobs.Queues)

	<-ctx.Done()
	err = stopCause(ctx)
	if err != nil {
		log.Error("stopping", "err", err)
	} else {
		log.Info("shutting down: finishing running tasks")
	}
	stop()
	srv.Shutdown()
	wg.Wait()
	log.Info("stopped")
	return err
}

// stopCause is why ctx ended: nil for a signal (a graceful stop), else the
// failure that stopped the worker.
func stopCause(ctx context.Context) error {
	if err := context.Cause(ctx); !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// routes is what the HTTP endpoints need.
type routes struct {
	redisOpt asynq.RedisConnOpt
	reg      *prometheus.Registry
	store    *ticket.Store
	client   *asynq.Client
}

// mountRoutes adds the metrics, the dashboard, the integration API and the
// Dooray! webhook to mux, beside /healthz and /readyz. An endpoint whose
// secret is not configured is not served.
func (a *app) mountRoutes(mux *http.ServeMux, cfg *config.Config, r routes) {
	redisOpt, reg := r.redisOpt, r.reg
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	if password := a.endpointSecret("dashboard", "http.dashboard_password_env", cfg.HTTP.DashboardPasswordEnv); password != "" {
		mon := asynqmon.New(asynqmon.Options{RootPath: "/monitoring", RedisConnOpt: redisOpt})
		mux.Handle("/monitoring/", api.Dashboard("admin", password, mon))
		a.log.Info("dashboard at /monitoring/", "user", "admin")
	}
	if tokens := a.apiTokens(cfg.HTTP); len(tokens) > 0 {
		(&api.V1{Store: r.store, Tokens: tokens, Log: a.log.With("component", "api"), Replies: jobs.NewOutbound(r.store)}).Mount(mux)
		a.log.Info("integration API at /api/v1/", "tokens", len(tokens))
	}
	if orgs := a.webhookOrganizations(cfg); len(orgs) > 0 {
		(&api.Webhook{Organizations: orgs, Links: r.store, Syncs: jobs.DoorayHints{Queue: r.client},
			Log: a.log.With("component", "webhook")}).Mount(mux)
		a.log.Info("Dooray! webhook at /webhooks/dooray/{organization}/{token}")
	}
}

// endpointSecret is the secret guarding an endpoint, or "" (the endpoint is
// off, and the log says why).
func (a *app) endpointSecret(endpoint, key, env string) string {
	if env == "" {
		a.log.Warn(endpoint+" disabled: "+key+" is not configured", "endpoint", endpoint)
		return ""
	}
	token, err := config.Secret(env, "")
	if err != nil {
		a.log.Warn(endpoint+" disabled: no credential", "err", err)
	}
	return token
}

// serviceDefs turns the configured services into what the store keeps.
func serviceDefs(cfg *config.Config) ([]ticket.ServiceDef, error) {
	var defs []ticket.ServiceDef
	for _, s := range cfg.Services {
		d := ticket.ServiceDef{Key: s.Key, Name: s.Name, Address: s.Address, Locale: s.Locale, ForbiddenWords: s.ForbiddenWords,
			Settings: doorayServiceSettings(cfg, s)}
		for _, tr := range s.Triggers {
			d.Triggers = append(d.Triggers, ticket.Trigger{Name: tr.Name,
				FromAddresses: tr.When.FromAddresses, FromDomains: tr.When.FromDomains, SubjectContains: tr.When.SubjectContains,
				BodyContains: tr.When.BodyContains, Channels: tr.When.Channels,
				AssignTo: tr.Then.AssignTo, AssignRandom: tr.Then.AssignRandom, AssignSequence: tr.Then.AssignSequence,
				Group: tr.Then.Group, Priority: tr.Then.Priority})
		}
		if m := s.Mailbox; m != nil {
			d.Mailbox = &ticket.MailboxDef{Host: m.Host, Port: m.Port, Username: m.Username, Folder: m.Folder}
		}
		for kind, locales := range s.Templates {
			for loc, t := range locales {
				text, err := inlineOrFile(t.Text, t.TextFile)
				if err != nil {
					return nil, err
				}
				html, err := inlineOrFile(t.HTML, t.HTMLFile)
				if err != nil {
					return nil, err
				}
				d.Templates = append(d.Templates, ticket.TemplateDef{Kind: kind, Locale: loc, Subject: t.Subject, Text: text, HTML: html})
			}
		}
		defs = append(defs, d)
	}
	return defs, nil
}

// newSender is the SMTP side of mail:send, with its password or OAuth2 login.
func newSender(cfg *config.Config, logins oauthLogins) (*mailer.Sender, error) {
	var password string
	var token mailer.Authenticator
	if logins.smtp != nil {
		token = logins.smtp
	} else if cfg.SMTP.Username != "" {
		var err error
		if password, err = config.Secret(cfg.SMTP.PasswordEnv, cfg.SMTP.PasswordFile); err != nil {
			return nil, fmt.Errorf("smtp: %w", err)
		}
	}
	// As many idle sessions as may be open: none is closed after a mail only
	// to be dialled again for the next.
	return mailer.NewSender(mailer.SMTPConfig{Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, TLS: cfg.SMTP.TLS,
		Username: cfg.SMTP.Username, Password: password, Token: token, Timeout: cfg.SMTP.Timeout.Std(),
		MaxConns: cfg.SMTP.MaxConnections, MaxIdle: cfg.SMTP.MaxConnections})
}

// mailboxIntakes reads each service's mailbox with its password or OAuth2 login.
func mailboxIntakes(cfg *config.Config, logins oauthLogins) (map[string]jobs.MailboxIntake, error) {
	out := map[string]jobs.MailboxIntake{}
	for i, s := range cfg.Services {
		m := s.Mailbox
		if m == nil {
			continue
		}
		password, err := config.Secret(m.PasswordEnv, m.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("services[%d].mailbox: %w", i, err)
		}
		acct := email.Account{Host: m.Host, Port: m.Port, TLS: m.TLS, Username: m.Username, Password: password,
			Folder: m.Folder, NoIdle: !m.IDLE}
		if l := logins.mailboxes[s.Key]; l != nil {
			acct.Auth = l
		}
		out[s.Key] = jobs.MailboxIntake{Name: s.Key, After: m.After, IDLE: m.IDLE, Poll: m.PollInterval.Std(), Account: acct}
	}
	return out, nil
}

// serviceLocales are the services' locales, by service key.
func serviceLocales(cfg *config.Config) map[string]string {
	out := map[string]string{}
	for _, s := range cfg.Services {
		out[s.Key] = s.Locale
	}
	return out
}

// spamRules are the services' own spam verdict headers, by service key.
func spamRules(cfg *config.Config) map[string]email.SpamRule {
	out := map[string]email.SpamRule{}
	for _, s := range cfg.Services {
		out[s.Key] = email.SpamRule{Header: s.Spam.Header, Threshold: s.Spam.Threshold}
	}
	return out
}

func inlineOrFile(inline, file string) (string, error) {
	if file == "" {
		return inline, nil
	}
	b, err := os.ReadFile(file)
	return string(b), err
}

// asynqLogger sends asynq's own logs to slog.
type asynqLogger struct{ l *slog.Logger }

func (l asynqLogger) Debug(args ...any) { l.l.Debug(fmt.Sprint(args...)) }
func (l asynqLogger) Info(args ...any)  { l.l.Info(fmt.Sprint(args...)) }
func (l asynqLogger) Warn(args ...any)  { l.l.Warn(fmt.Sprint(args...)) }
func (l asynqLogger) Error(args ...any) { l.l.Error(fmt.Sprint(args...)) }
func (l asynqLogger) Fatal(args ...any) { l.l.Error(fmt.Sprint(args...)); os.Exit(1) }

// limitHeap gives the Go runtime a soft memory limit that follows
// mail.memory_budget (unless GOMEMLIMIT sets one): twice the budget, or twice
// mail.max_message_bytes when that is larger (a mail over the budget is
// parsed alone, but whole), for the mail read and what its parse makes of it,
// and 48 MiB for the rest of the worker. The collector then runs before
// garbage from big mail piles up instead of letting the heap double, so the
// resident size is set by configuration, not by the mail.
func limitHeap(cfg *config.Config) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(2*max(cfg.Mail.MemoryBudget, cfg.Mail.MaxMessageBytes) + 48<<20)
}
