package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/redis/go-redis/v9"

	"github.com/contiple/contiple-worker/api"
	"github.com/contiple/contiple-worker/dooray"
	"github.com/contiple/contiple-worker/internal/config"
	"github.com/contiple/contiple-worker/jobs"
	"github.com/contiple/contiple-worker/ticket"
)

// defaultHookEvents are the task events the sync acts on; each is only a hint
// that makes the worker re-read the task.
var defaultHookEvents = []string{
	dooray.EventPostWorkflowChanged, dooray.EventPostCommentCreated, dooray.EventPostMoved,
}

// doorayCmd holds the Dooray! tools: `dooray hook register`.
func (a *app) doorayCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "dooray", Short: "Dooray! tools (project hooks)"}
	hook := &cobra.Command{Use: "hook", Short: "Dooray! project hooks: the webhooks that hint the sync"}
	register := &cobra.Command{
		Use:   "register",
		Short: "Register this worker's webhook on Dooray! projects",
		Long: "Registers POST <url>/webhooks/dooray/<organization>/<token> as a task hook of each project of one\n" +
			"organisation, through its API host with its token. The webhook token is the organisation's\n" +
			"webhook_token_env (http.webhook_token_env for the single dooray block). Dooray! has no API to list\n" +
			"or delete hooks: every run adds one, and old ones are removed in the web UI.",
		Args: cobra.NoArgs,
	}
	org := register.Flags().String("organization", "", "organisation key (default: the only one, or \"default\")")
	projects := register.Flags().StringSlice("project", nil, "project id (repeatable; default: every project the services name in the organisation)")
	base := register.Flags().String("url", "", "public base URL of this worker, or the full hook URL (default http://<http.addr>)")
	events := register.Flags().StringSlice("events", defaultHookEvents, "task events to send")
	register.RunE = func(c *cobra.Command, _ []string) error {
		cfg, err := a.loadConfig()
		if err != nil {
			return err
		}
		o, err := doorayOrganization(cfg, *org)
		if err != nil {
			return err
		}
		client, err := newDoorayClient(o, nil, a.log, nil)
		if err != nil {
			return err
		}
		hookURL, err := doorayHookURL(cfg, o, *base)
		if err != nil {
			return err
		}
		targets := *projects
		if len(targets) == 0 {
			targets = serviceProjects(cfg, o.Key)
		}
		if len(targets) == 0 {
			return fmt.Errorf("no project in organisation %s: give --project P or name projects in services[].dooray", o.Key)
		}
		type registered struct {
			Organization string `json:"organization"`
			ProjectID    string `json:"project_id"`
			HookID       string `json:"hook_id"`
			URL          string `json:"url"` // the token redacted
		}
		var done []registered
		for _, p := range targets {
			id, err := registerHook(c.Context(), client, p, hookURL, *events)
			if err != nil {
				return fmt.Errorf("project %s: %w", p, err)
			}
			done = append(done, registered{Organization: o.Key, ProjectID: p, HookID: string(id), URL: redactHookURL(hookURL)})
		}
		if a.json {
			return printJSON(a.out, done)
		}
		for _, r := range done {
			fmt.Fprintf(a.out, "registered hook %s on project %s of %s → %s (%s)\n", r.HookID, r.ProjectID, r.Organization, r.URL, strings.Join(*events, ", "))
		}
		return nil
	}
	hook.AddCommand(register)
	cmd.AddCommand(hook)
	return cmd
}

// serviceProjects are the projects of organisation org the services name.
func serviceProjects(cfg *config.Config, org string) []string {
	var out []string
	add := func(ps ...string) {
		for _, p := range ps {
			if p != "" && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	for _, s := range cfg.Services {
		if cfg.ServiceDoorayOrganization(s) == org {
			add(s.Dooray.ProjectID)
			add(s.Dooray.Projects...)
		}
		for _, o := range s.Dooray.Organizations {
			if o.Key == org {
				add(o.Projects...)
			}
		}
	}
	return out
}

// registerHook registers hookURL as a task hook of project, with bodies.
func registerHook(ctx context.Context, client *dooray.Client, project, hookURL string, events []string) (dooray.ID, error) {
	reg := dooray.HookRegistration{URL: hookURL, Type: dooray.HookTypeTask, SendEvents: events, Option: &dooray.HookOptions{}}
	reg.Option.Body.Include = true
	return client.RegisterHook(ctx, dooray.ID(project), reg)
}

// newDoorayClient builds the API client of one organisation; limiter may be
// nil (serve passes a dooray.RedisLimiter shared by every worker), and so may
// onWait (serve counts the waits in its metrics).
func newDoorayClient(o config.DoorayOrganization, limiter dooray.Limiter, log *slog.Logger, onWait func(string, time.Duration)) (*dooray.Client, error) {
	token, err := config.Secret(o.TokenEnv, o.TokenFile)
	if err != nil {
		return nil, fmt.Errorf("dooray organisation %s: token: %w", o.Key, err)
	}
	if token == "" {
		return nil, fmt.Errorf("dooray organisation %s: set token_env or token_file", o.Key)
	}
	return dooray.New(dooray.Config{BaseURL: o.BaseURL, Token: token, Limiter: limiter,
		Logger: log.With("component", "dooray", "organization", o.Key), MaxRetryWait: 30 * time.Second, OnWait: onWait})
}

// doorayOrganization finds a configured organisation by key ("": the only one,
// or the default one).
func doorayOrganization(cfg *config.Config, key string) (config.DoorayOrganization, error) {
	orgs := cfg.DoorayOrganizations()
	var keys []string
	for _, o := range orgs {
		if o.Key == key || key == "" && (len(orgs) == 1 || o.Key == config.DefaultOrganization) {
			return o, nil
		}
		keys = append(keys, o.Key)
	}
	if len(orgs) == 0 {
		return config.DoorayOrganization{}, errors.New("no Dooray! organisation is configured (dooray.organizations or dooray.base_url)")
	}
	if key == "" {
		return config.DoorayOrganization{}, fmt.Errorf("several Dooray! organisations (%s): give --organization", strings.Join(keys, ", "))
	}
	return config.DoorayOrganization{}, fmt.Errorf("no Dooray! organisation %q (configured: %s)", key, strings.Join(keys, ", "))
}

// doorayOrganizations is serve's side of every organisation: its client with
// a rate limiter of its own, shared by every worker through Redis (the
// configured cap, or the bucket learnt from Dooray!'s headers), and its poll
// interval.
func doorayOrganizations(cfg *config.Config, rdb redis.Scripter, log *slog.Logger, onWait func(string, time.Duration)) ([]jobs.DoorayOrganization, map[string]time.Duration, error) {
	var orgs []jobs.DoorayOrganization
	every := map[string]time.Duration{}
	for _, o := range cfg.DoorayOrganizations() {
		lc := dooray.LimiterConfig{}
		if o.RatePerSecond > 0 {
			lc = dooray.LimiterConfig{ReplenishRate: o.RatePerSecond, BurstCapacity: max(o.Burst, 1), Fixed: true}
		}
		client, err := newDoorayClient(o, dooray.NewRedisLimiter(rdb, "", lc), log, onWait)
		if err != nil {
			return nil, nil, err
		}
		orgs = append(orgs, jobs.DoorayOrganization{Key: o.Key, Client: client, BotMemberID: o.BotMemberID,
			SyncInterval: o.SyncInterval.Std()})
		every[o.Key] = o.SyncInterval.Std()
	}
	return orgs, every, nil
}

// webhookOrganizations is the webhook receiver's side of every organisation
// with a webhook token.
func (a *app) webhookOrganizations(cfg *config.Config) map[string]api.WebhookOrganization {
	out := map[string]api.WebhookOrganization{}
	for _, o := range cfg.DoorayOrganizations() {
		key := "dooray.organizations[" + o.Key + "].webhook_token_env"
		if token := a.endpointSecret("Dooray! webhook of organisation "+o.Key, key, o.WebhookTokenEnv); token != "" {
			out[o.Key] = api.WebhookOrganization{Token: token, BotMemberID: o.BotMemberID}
		}
	}
	return out
}

// doorayServiceSettings is the Dooray! part of a service as the store keeps it.
func doorayServiceSettings(cfg *config.Config, s config.Service) map[string]any {
	d := s.Dooray
	settings := map[string]any{"dooray_organization": cfg.ServiceDoorayOrganization(s), "dooray_project_id": d.ProjectID,
		"dooray_to_member_ids": d.ToMemberIDs, "dooray_to_emails": d.ToEmails, "dooray_projects": d.Projects}
	if d.Enabled != nil {
		settings["dooray_enabled"] = *d.Enabled
	}
	var orgs []ticket.DoorayServiceOrg
	for _, o := range d.Organizations {
		orgs = append(orgs, ticket.DoorayServiceOrg{Key: o.Key, Projects: o.Projects, ToMemberIDs: o.ToMemberIDs, ToEmails: o.ToEmails})
	}
	if len(orgs) > 0 {
		settings["dooray_organizations"] = orgs
	}
	return settings
}

// doorayHookURL is the receiver's URL of organisation o with its token: base
// is the worker's public base URL, or a full URL ending in /webhooks/dooray/
// (organisation and token appended) or already carrying them.
func doorayHookURL(cfg *config.Config, o config.DoorayOrganization, base string) (string, error) {
	token, err := config.Secret(o.WebhookTokenEnv, "")
	if err != nil {
		return "", fmt.Errorf("webhook token of organisation %s: %w", o.Key, err)
	}
	if token == "" {
		return "", fmt.Errorf("webhook token of organisation %s: set its webhook_token_env (http.webhook_token_env for the single dooray block)", o.Key)
	}
	if base == "" {
		base = "http://" + cfg.HTTP.Addr
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("--url %q is not an http(s) URL", base)
	}
	const route = "/webhooks/dooray/"
	switch {
	case strings.Contains(u.Path, route) && !strings.HasSuffix(u.Path, route):
		return u.String(), nil // token given
	case strings.HasSuffix(u.Path, route):
		u.Path += o.Key + "/" + token
	default:
		u.Path = strings.TrimRight(u.Path, "/") + route + o.Key + "/" + token
	}
	return u.String(), nil
}

// redactHookURL hides the token, the last path segment.
func redactHookURL(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[:i+1] + "<token>"
	}
	return s
}
