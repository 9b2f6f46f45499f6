package main

import (
	"context"
	"crypto/subtle"
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
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/contiple/contiple-worker/api"
	"github.com/contiple/contiple-worker/channels/email"
	"github.com/contiple/contiple-worker/dooray"
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
	store, pool, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	if applied, err := migrations.Up(ctx, pool); err != nil {
		return err
	} else if len(applied) > 0 {
		log.Info("migrations applied", "versions", applied)
	}
	defs, err := serviceDefs(cfg)
	if err != nil {
		return err
	}
	if err := store.SyncServices(ctx, defs); err != nil {
		return fmt.Errorf("sync services: %w", err)
	}
	log.Info("services synced", "count", len(defs))

	redisURL := os.Getenv("CONTIPLE_REDIS_URL")
	if redisURL == "" {
		return errors.New("CONTIPLE_REDIS_URL is not set")
	}
	redisOpt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		return fmt.Errorf("CONTIPLE_REDIS_URL: %w", err)
	}
	rdb, ok := redisOpt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		return errors.New("CONTIPLE_REDIS_URL: unsupported Redis connection")
	}
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
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
				"final", errors.Is(err, asynq.SkipRetry), "err", err)
		}),
	})
	intake, err := mailboxIntakes(cfg)
	if err != nil {
		return err
	}
	poll := &jobs.MailPoll{Store: store, Log: log.With("component", "mail:poll"), Mailboxes: intake, MaxBytes: cfg.Mail.MaxMessageBytes}
	sender, err := newSender(cfg)
	if err != nil {
		return err
	}
	defer sender.Close()
	var doorayEvery time.Duration // 0: Dooray! is off, nothing to poll
	if cfg.Dooray.BaseURL != "" {
		doorayEvery = cfg.Dooray.SyncInterval.Std()
	}
	periodic := jobs.Schedule(intake, doorayEvery)
	mux := asynq.NewServeMux()
	mux.Use(metrics.Middleware, jobs.OutboxDone(pool, log), jobs.Once(rdb, periodic))
	poll.Register(mux)
	(&jobs.MailIngest{Store: store, Log: log.With("component", "mail:ingest"),
		Parse:  email.ParseOptions{MaxSize: cfg.Mail.MaxMessageBytes, MaxAttachmentSize: cfg.Mail.MaxAttachmentBytes},
		Budget: jobs.NewMemoryBudget(cfg.Mail.MemoryBudget)}).Register(mux)
	jobs.NewMailSend(store, sender, jobs.NewSMTPRateLimiter(rdb, cfg.SMTP.RatePerMinute), sender.Addr(),
		cfg.SMTP.RecipientPerHour, log.With("component", "mail:send")).Register(mux)
	if cfg.Dooray.BaseURL != "" {
		dc, err := newDoorayClient(cfg, dooray.NewRedisLimiter(rdb, "", dooray.LimiterConfig{}), log, metrics.DoorayWait)
		if err != nil {
			return err
		}
		jobs.NewDooray(jobs.DoorayConfig{Store: store, Client: dc, Queue: client, Log: log.With("component", "dooray"),
			BotMemberID: cfg.Dooray.BotMemberID, SyncInterval: doorayEvery}).Register(mux)
	} else {
		log.Warn("Dooray! disabled: dooray.base_url is not configured; escalations wait in the dooray queue")
	}
	if err := srv.Start(mux); err != nil {
		return fmt.Errorf("asynq server: %w", err)
	}

	handler := a.httpHandler(cfg, routes{pool: pool, rdb: rdb, redisOpt: redisOpt, reg: reg, store: store, client: client})
	httpSrv := &http.Server{Addr: cfg.HTTP.Addr, Handler: handler, ReadHeaderTimeout: 10 * time.Second}
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
	httpErr := make(chan error, 1)
	go func() { httpErr <- httpSrv.ListenAndServe() }()
	log.Info("serving", "http", cfg.HTTP.Addr, "queues", jobs.Queues)

	select {
	case <-ctx.Done():
		log.Info("shutting down: finishing running tasks")
	case err = <-httpErr:
		log.Error("http server", "err", err)
	}
	stop()
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	httpSrv.Shutdown(shutCtx)
	srv.Shutdown()
	wg.Wait()
	log.Info("stopped")
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// routes is what the HTTP endpoints need.
type routes struct {
	pool     *pgxpool.Pool
	rdb      redis.UniversalClient
	redisOpt asynq.RedisConnOpt
	reg      *prometheus.Registry
	store    *ticket.Store
	client   *asynq.Client
}

// httpHandler mounts the operational endpoints, the integration API and the
// Dooray! webhook. An endpoint whose secret is not configured is not served.
func (a *app) httpHandler(cfg *config.Config, r routes) http.Handler {
	pool, rdb, redisOpt, reg := r.pool, r.rdb, r.redisOpt, r.reg
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		var problems []string
		if err := pool.Ping(ctx); err != nil {
			problems = append(problems, "postgresql: "+err.Error())
		}
		if err := rdb.Ping(ctx).Err(); err != nil {
			problems = append(problems, "redis: "+err.Error())
		}
		if len(problems) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			for _, p := range problems {
				fmt.Fprintln(w, p)
			}
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	if password := a.endpointSecret("dashboard", "http.dashboard_password_env", cfg.HTTP.DashboardPasswordEnv); password != "" {
		mon := asynqmon.New(asynqmon.Options{RootPath: "/monitoring", RedisConnOpt: redisOpt})
		mux.Handle("/monitoring/", basicAuth("admin", password, mon))
		a.log.Info("dashboard at /monitoring/", "user", "admin")
	}
	if token := a.endpointSecret("integration API", "http.api_token_env", cfg.HTTP.APITokenEnv); token != "" {
		(&api.V1{Store: r.store, Token: token, Log: a.log.With("component", "api"), Replies: jobs.NewOutbound(r.store)}).Mount(mux)
		a.log.Info("integration API at /api/v1/")
	}
	if token := a.endpointSecret("Dooray! webhook", "http.webhook_token_env", cfg.HTTP.WebhookTokenEnv); token != "" {
		(&api.Webhook{Token: token, Links: r.store, Syncs: jobs.DoorayHints{Queue: r.client},
			BotMemberID: cfg.Dooray.BotMemberID, Log: a.log.With("component", "webhook")}).Mount(mux)
		a.log.Info("Dooray! webhook at /webhooks/dooray/{token}")
	}
	return mux
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

// basicAuth guards the dashboard, which can retry and delete work.
func basicAuth(user, password string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(user))&subtle.ConstantTimeCompare([]byte(p), []byte(password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="contiple-worker dashboard", charset="UTF-8"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// serviceDefs turns the configured services into what the store keeps.
func serviceDefs(cfg *config.Config) ([]ticket.ServiceDef, error) {
	var defs []ticket.ServiceDef
	for _, s := range cfg.Services {
		d := ticket.ServiceDef{Key: s.Key, Name: s.Name, Address: s.Address, Locale: s.Locale, ForbiddenWords: s.ForbiddenWords,
			Settings: map[string]any{"dooray_project_id": s.Dooray.ProjectID, "dooray_to_member_ids": s.Dooray.ToMemberIDs,
				"dooray_to_emails": s.Dooray.ToEmails}}
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

// newSender is the SMTP side of mail:send, with its password.
func newSender(cfg *config.Config) (*mailer.Sender, error) {
	var password string
	if cfg.SMTP.Username != "" {
		var err error
		if password, err = config.Secret(cfg.SMTP.PasswordEnv, cfg.SMTP.PasswordFile); err != nil {
			return nil, fmt.Errorf("smtp: %w", err)
		}
	}
	// One idle SMTP session per worker: with fewer, sessions are closed after
	// a mail and dialled again for the next when every worker is sending.
	return mailer.NewSender(mailer.SMTPConfig{Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, TLS: cfg.SMTP.TLS,
		Username: cfg.SMTP.Username, Password: password, Timeout: cfg.SMTP.Timeout.Std(), MaxIdle: workers})
}

// mailboxIntakes reads each service's mailbox with its password.
func mailboxIntakes(cfg *config.Config) (map[string]jobs.MailboxIntake, error) {
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
		out[s.Key] = jobs.MailboxIntake{Name: s.Key, After: m.After, IDLE: m.IDLE, Poll: m.PollInterval.Std(),
			Account: email.Account{Host: m.Host, Port: m.Port, TLS: m.TLS, Username: m.Username, Password: password,
				Folder: m.Folder, NoIdle: !m.IDLE}}
	}
	return out, nil
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
