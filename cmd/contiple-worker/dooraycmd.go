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

	"github.com/contiple/contiple-worker/dooray"
	"github.com/contiple/contiple-worker/internal/config"
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
		Long: "Registers POST <url>/webhooks/dooray/<token> as a task hook of each project, through the API.\n" +
			"The token is read from http.webhook_token_env. Dooray! has no API to list or delete hooks:\n" +
			"every run adds one, and old ones are removed in the web UI.",
		Args: cobra.NoArgs,
	}
	projects := register.Flags().StringSlice("project", nil, "project id (repeatable; default: every service's dooray.project_id)")
	base := register.Flags().String("url", "", "public base URL of this worker, or the full hook URL (default http://<http.addr>)")
	events := register.Flags().StringSlice("events", defaultHookEvents, "task events to send")
	register.RunE = func(c *cobra.Command, _ []string) error {
		cfg, err := a.loadConfig()
		if err != nil {
			return err
		}
		client, err := newDoorayClient(cfg, nil, a.log, nil)
		if err != nil {
			return err
		}
		hookURL, err := doorayHookURL(cfg, *base)
		if err != nil {
			return err
		}
		targets := *projects
		if len(targets) == 0 {
			for _, s := range cfg.Services {
				if s.Dooray.ProjectID != "" && !slices.Contains(targets, s.Dooray.ProjectID) {
					targets = append(targets, s.Dooray.ProjectID)
				}
			}
		}
		if len(targets) == 0 {
			return errors.New("no project: give --project P or set services[].dooray.project_id")
		}
		type registered struct {
			ProjectID string `json:"project_id"`
			HookID    string `json:"hook_id"`
			URL       string `json:"url"` // the token redacted
		}
		var done []registered
		for _, p := range targets {
			id, err := registerHook(c.Context(), client, p, hookURL, *events)
			if err != nil {
				return fmt.Errorf("project %s: %w", p, err)
			}
			done = append(done, registered{ProjectID: p, HookID: string(id), URL: redactHookURL(hookURL)})
		}
		if a.json {
			return printJSON(a.out, done)
		}
		for _, r := range done {
			fmt.Fprintf(a.out, "registered hook %s on project %s → %s (%s)\n", r.HookID, r.ProjectID, r.URL, strings.Join(*events, ", "))
		}
		return nil
	}
	hook.AddCommand(register)
	cmd.AddCommand(hook)
	return cmd
}

// registerHook registers hookURL as a task hook of project, with bodies.
func registerHook(ctx context.Context, client *dooray.Client, project, hookURL string, events []string) (dooray.ID, error) {
	reg := dooray.HookRegistration{URL: hookURL, Type: dooray.HookTypeTask, SendEvents: events, Option: &dooray.HookOptions{}}
	reg.Option.Body.Include = true
	return client.RegisterHook(ctx, dooray.ID(project), reg)
}

// newDoorayClient builds the API client from the configuration; limiter may be
// nil (serve passes a dooray.RedisLimiter shared by every worker), and so may
// onWait (serve counts the waits in its metrics).
func newDoorayClient(cfg *config.Config, limiter dooray.Limiter, log *slog.Logger, onWait func(string, time.Duration)) (*dooray.Client, error) {
	if cfg.Dooray.BaseURL == "" {
		return nil, errors.New("dooray.base_url is not configured")
	}
	token, err := config.Secret(cfg.Dooray.TokenEnv, cfg.Dooray.TokenFile)
	if err != nil {
		return nil, fmt.Errorf("dooray token: %w", err)
	}
	if token == "" {
		return nil, errors.New("dooray token: set dooray.token_env or dooray.token_file")
	}
	return dooray.New(dooray.Config{BaseURL: cfg.Dooray.BaseURL, Token: token, Limiter: limiter,
		Logger: log.With("component", "dooray"), MaxRetryWait: 30 * time.Second, OnWait: onWait})
}

// doorayHookURL is the receiver's URL with its token: base is the worker's
// public base URL, or a full URL ending in /webhooks/dooray/ (token appended)
// or already carrying the token.
func doorayHookURL(cfg *config.Config, base string) (string, error) {
	token, err := config.Secret(cfg.HTTP.WebhookTokenEnv, "")
	if err != nil {
		return "", fmt.Errorf("webhook token: %w", err)
	}
	if token == "" {
		return "", errors.New("webhook token: set http.webhook_token_env")
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
		u.Path += url.PathEscape(token)
	default:
		u.Path = strings.TrimRight(u.Path, "/") + route + url.PathEscape(token)
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
