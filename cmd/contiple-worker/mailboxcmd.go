package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/contiple/contiple-worker/internal/config"
	"github.com/contiple/contiple-worker/internal/oauth"
)

func (a *app) mailboxCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "mailbox", Short: "Mailbox logins"}
	authorize := &cobra.Command{
		Use:   "authorize [SERVICE]",
		Short: "Consent once to a mailbox's (or with --smtp the SMTP account's) delegated OAuth2 access and store the refresh token",
		Long: "For an oauth2 block with grant refresh_token: Microsoft runs the device-code flow (open the URL\n" +
			"shown, type the code); Google and generic providers open a browser on a loopback redirect\n" +
			"(authorization code with PKCE). The refresh token goes to the block's refresh_token_file, or\n" +
			"sealed into the database with refresh_token_store: database (then CONTIPLE_DATABASE_URL and\n" +
			"CONTIPLE_MASK_KEY are needed);\n" +
			"running workers use it at their next login.\n" +
			"For app-only grants (client_credentials, jwt), which no person authorizes, it checks that the\n" +
			"application's access works now and lets the workers try again at once.",
		Args: cobra.MaximumNArgs(1),
	}
	smtp := authorize.Flags().Bool("smtp", false, "authorize the SMTP account (smtp.oauth2) instead of a mailbox")
	listen := authorize.Flags().String("listen", "127.0.0.1:0", "loopback address for the browser's redirect (register http://127.0.0.1 with the provider)")
	wait := authorize.Flags().Duration("timeout", 10*time.Minute, "how long to wait for the person to consent")
	authorize.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := a.loadConfig()
		if err != nil {
			return err
		}
		login, block, err := oauthBlock(cfg, args, *smtp)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), *wait)
		defer cancel()
		if block.Grant != oauth.GrantRefreshToken {
			return a.checkAppAccess(ctx, login, block)
		}
		oc, err := oauthConfig(login, block)
		if err != nil {
			return err
		}
		rt, err := oauth.Authorize(ctx, oc, *listen, func(url, code string) {
			// Instructions go to stderr, so that --json output stays one object.
			if code != "" {
				fmt.Fprintf(os.Stderr, "Open %s and enter the code %s (sign in as %s).\n", url, code, block.Subject)
			} else {
				fmt.Fprintf(os.Stderr, "Open this URL in a browser on this machine and sign in as %s:\n%s\n", block.Subject, url)
			}
		})
		if err != nil {
			return err
		}
		where := block.RefreshTokenFile
		var pool *pgxpool.Pool
		if block.RefreshTokenStore == config.RefreshInDatabase {
			if pool, err = a.openPool(ctx); err != nil {
				return err
			}
			defer pool.Close()
			where = "the database (sealed)"
		}
		store, err := refreshStore(login, block, pool)
		if err != nil {
			return err
		}
		if err := store.Save(ctx, rt); err != nil {
			return err
		}
		forgotten := forgetSharedToken(ctx, login)
		if a.json {
			return printJSON(a.out, map[string]any{"login": login, "stored_in": where, "cache_cleared": forgotten})
		}
		fmt.Fprintf(a.out, "%s: authorized; refresh token stored in %s\n", login, where)
		return nil
	}
	cmd.AddCommand(authorize)
	return cmd
}

// oauthBlock picks the oauth2 block to authorize.
func oauthBlock(cfg *config.Config, args []string, smtp bool) (string, *config.OAuth2, error) {
	var login string
	var block *config.OAuth2
	switch {
	case smtp && len(args) > 0:
		return "", nil, errors.New("give a SERVICE or --smtp, not both")
	case smtp:
		login, block = smtpLogin, cfg.SMTP.OAuth2
	case len(args) == 0:
		return "", nil, errors.New("give the SERVICE whose mailbox to authorize, or --smtp")
	default:
		for _, s := range cfg.Services {
			if s.Key == args[0] {
				if s.Mailbox == nil {
					return "", nil, fmt.Errorf("service %q has no mailbox", args[0])
				}
				login, block = mailboxLogin(s.Key), s.Mailbox.OAuth2
			}
		}
		if login == "" {
			return "", nil, fmt.Errorf("no service %q in the configuration", args[0])
		}
	}
	if block == nil {
		return "", nil, fmt.Errorf("%s has no oauth2 block: it logs in with a password", login)
	}
	return login, block, nil
}

// checkAppAccess fetches a token for an app-only login, past any pause after
// a lost authorization: the operator has fixed the secret or the consent.
func (a *app) checkAppAccess(ctx context.Context, login string, block *config.OAuth2) error {
	_, rdb, err := redisFromEnv()
	if err != nil {
		return err
	}
	defer rdb.Close()
	if err := oauth.ForgetShared(ctx, rdb, login); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	src, err := a.oauthSource(login, block, rdb, nil)
	if err != nil {
		return err
	}
	if _, err := src.Token(ctx); err != nil {
		return err
	}
	if a.json {
		return printJSON(a.out, map[string]any{"login": login, "grant": block.Grant, "access": "ok"})
	}
	fmt.Fprintf(a.out, "%s: the application's access works (%s grant, no person needed); workers use it at once\n", login, block.Grant)
	return nil
}

// forgetSharedToken drops the workers' cached token and the memory of a lost
// authorization, so the new grant is used at once. Without CONTIPLE_REDIS_URL
// the workers still notice the new refresh token at their next attempt.
func forgetSharedToken(ctx context.Context, login string) bool {
	if os.Getenv("CONTIPLE_REDIS_URL") == "" {
		return false
	}
	_, rdb, err := redisFromEnv()
	if err != nil {
		return false
	}
	defer rdb.Close()
	return oauth.ForgetShared(ctx, rdb, login) == nil
}
