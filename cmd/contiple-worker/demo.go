package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/contiple/contiple-worker/internal/config"
	"github.com/contiple/contiple-worker/internal/demo"
	"github.com/contiple/contiple-worker/ticket"
)

func (a *app) demoCmd() *cobra.Command {
	o := demo.Options{Out: a.out}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Tell a ticket's whole life against the local services and a Dooray! fake, then keep serving",
		Long: "Runs the worker in-process against the services of scripts/services.sh (PostgreSQL, Redis,\n" +
			"Dovecot, Postfix) and a Dooray! fake on loopback, and tells a story step by step as it really\n" +
			"happens: customer mail in by SMTP, tickets assigned by a trigger, a hold mail out, the customer's\n" +
			"reply threaded, escalation to Dooray!, the task followed by webhook and by poll, comments both\n" +
			"ways, the resolve mail, completion. Then it serves the dashboard and the API until Ctrl-C.\n\n" +
			"It recreates the database " + demo.Database + " on the PostgreSQL server of CONTIPLE_DATABASE_URL and\n" +
			"flushes the Redis database of CONTIPLE_REDIS_URL: it refuses to run against non-local services.\n\n" +
			"With --oauth2 the support mailbox and the SMTP account log in with OAuth2 tokens (client credentials)\n" +
			"from an authorization server started in-process on loopback, signing with CONTIPLE_OAUTH_SIGNING_KEY\n" +
			"(scripts/services.sh env), which Dovecot checks; Postfix's SMTP AUTH goes through Dovecot.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Out, o.LogLevel = a.out, logLevel()
			o.NewWorker = func(log *slog.Logger) demo.Worker {
				w := *a
				w.log = log
				return demoWorker{&w}
			}
			return demo.Run(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.Addr, "addr", "127.0.0.1:8080", "HTTP address of the worker: dashboard, API, webhook")
	cmd.Flags().BoolVar(&o.Once, "once", false, "stop when the story is told instead of serving until Ctrl-C")
	cmd.Flags().BoolVar(&o.OAuth2, "oauth2", false, "log the support mailbox and the SMTP account in with OAuth2 tokens instead of the password")
	cmd.Flags().DurationVar(&o.StepTimeout, "step-timeout", 45*time.Second, "how long each step may take")
	return cmd
}

// demoWorker is the worker the demo runs: serve, and the Dooray! hook
// registration of `dooray hook register`.
type demoWorker struct{ a *app }

func (w demoWorker) Serve(ctx context.Context, cfg *config.Config) error { return w.a.serve(ctx, cfg) }

func (w demoWorker) SyncServices(ctx context.Context, cfg *config.Config, store *ticket.Store) error {
	defs, err := serviceDefs(cfg)
	if err != nil {
		return err
	}
	return store.SyncServices(ctx, defs)
}

func (w demoWorker) RegisterHook(ctx context.Context, cfg *config.Config, org, project string) (string, error) {
	o, err := doorayOrganization(cfg, org)
	if err != nil {
		return "", err
	}
	client, err := newDoorayClient(o, nil, w.a.log, nil)
	if err != nil {
		return "", err
	}
	hookURL, err := doorayHookURL(cfg, o, "")
	if err != nil {
		return "", err
	}
	_, err = registerHook(ctx, client, project, hookURL, defaultHookEvents)
	return hookURL, err
}
