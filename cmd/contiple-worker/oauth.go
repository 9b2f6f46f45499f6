package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/contiple/contiple-worker/internal/config"
	"github.com/contiple/contiple-worker/internal/oauth"
)

// oauthLogins are the OAuth2 logins of the configured accounts: mailboxes by
// service key, and the SMTP account (nil when it uses a password).
type oauthLogins struct {
	mailboxes map[string]*oauth.Authenticator
	smtp      *oauth.Authenticator
}

// newOAuthLogins builds a token source per oauth2 block, sharing tokens
// through rdb, sealed with the mask key when one is set; refresh tokens
// kept in the database live in pool.
func (a *app) newOAuthLogins(cfg *config.Config, rdb redis.UniversalClient, pool *pgxpool.Pool) (oauthLogins, error) {
	l := oauthLogins{mailboxes: map[string]*oauth.Authenticator{}}
	for _, s := range cfg.Services {
		m := s.Mailbox
		if m == nil || m.OAuth2 == nil {
			continue
		}
		src, err := a.oauthSource(mailboxLogin(s.Key), m.OAuth2, rdb, pool)
		if err != nil {
			return l, err
		}
		l.mailboxes[s.Key] = &oauth.Authenticator{Source: src, User: m.Username, Host: m.Host, Port: m.Port}
	}
	if o := cfg.SMTP.OAuth2; o != nil {
		src, err := a.oauthSource(smtpLogin, o, rdb, pool)
		if err != nil {
			return l, err
		}
		l.smtp = &oauth.Authenticator{Source: src, User: cfg.SMTP.Username, Host: cfg.SMTP.Host, Port: cfg.SMTP.Port}
	}
	return l, nil
}

// The names of the logins: they key the shared cache and name the command
// that mends a lost authorization.
const smtpLogin = "smtp"

func mailboxLogin(service string) string { return "mailbox:" + service }

func reauthorizeHint(login string) string {
	if login == smtpLogin {
		return "run `contiple-worker mailbox authorize --smtp`"
	}
	return "run `contiple-worker mailbox authorize " + strings.TrimPrefix(login, "mailbox:") + "`"
}

// oauthConfig reads the block's secrets into an oauth.Config.
func oauthConfig(login string, o *config.OAuth2) (oauth.Config, error) {
	secret, err := config.Secret(o.ClientSecretEnv, o.ClientSecretFile)
	if err != nil {
		return oauth.Config{}, fmt.Errorf("%s oauth2 client secret: %w", login, err)
	}
	key, err := config.Secret(o.ServiceAccountKeyEnv, o.ServiceAccountKeyFile)
	if err != nil {
		return oauth.Config{}, fmt.Errorf("%s oauth2 service account key: %w", login, err)
	}
	return oauth.Config{Name: login, Provider: o.Provider, Grant: o.Grant, TenantID: o.TenantID, ClientID: o.ClientID,
		ClientSecret: secret, TokenURL: o.TokenURL, AuthURL: o.AuthURL, DeviceAuthURL: o.DeviceAuthURL, Scopes: o.Scopes,
		ServiceAccountKey: []byte(key), Subject: o.Subject, Reauthorize: reauthorizeHint(login)}, nil
}

func (a *app) oauthSource(login string, o *config.OAuth2, rdb redis.UniversalClient, pool *pgxpool.Pool) (*oauth.Source, error) {
	oc, err := oauthConfig(login, o)
	if err != nil {
		return nil, err
	}
	opt := oauth.SourceOptions{Redis: rdb, Log: a.log.With("component", "oauth2")}
	if opt.Sealer, err = oauthSealer(oauth.SealCache); err != nil {
		return nil, err
	}
	if opt.Store, err = refreshStore(login, o, pool); err != nil {
		return nil, err
	}
	return oauth.NewSource(oc, opt)
}

// cliOAuthLogins is newOAuthLogins for a one-shot command: it connects to
// Redis (the shared token cache) only when some account logs in with OAuth2.
// The returned func closes that connection.
func (a *app) cliOAuthLogins(cfg *config.Config, pool *pgxpool.Pool) (oauthLogins, func(), error) {
	uses := cfg.SMTP.OAuth2 != nil
	for _, s := range cfg.Services {
		uses = uses || s.Mailbox != nil && s.Mailbox.OAuth2 != nil
	}
	if !uses {
		return oauthLogins{}, func() {}, nil
	}
	_, rdb, err := redisFromEnv()
	if err != nil {
		return oauthLogins{}, nil, fmt.Errorf("%w (OAuth2 tokens are shared through Redis)", err)
	}
	l, err := a.newOAuthLogins(cfg, rdb, pool)
	if err != nil {
		rdb.Close()
		return oauthLogins{}, nil, err
	}
	return l, func() { rdb.Close() }, nil
}

// refreshStore is where the block keeps its refresh token (nil: none needed).
func refreshStore(login string, o *config.OAuth2, pool *pgxpool.Pool) (oauth.RefreshStore, error) {
	switch {
	case o.Grant != oauth.GrantRefreshToken:
		return nil, nil
	case o.RefreshTokenStore == config.RefreshInDatabase:
		sealer, err := oauthSealer(oauth.SealRefresh)
		if err != nil {
			return nil, err
		}
		if sealer == nil {
			return nil, fmt.Errorf("%s: refresh_token_store: database needs CONTIPLE_MASK_KEY (the refresh token is sealed with it)", login)
		}
		return oauth.DBStore{Pool: pool, Login: login, Sealer: sealer}, nil
	}
	return oauth.FileStore{Path: o.RefreshTokenFile}, nil
}

// oauthSealer seals with a key derived from CONTIPLE_MASK_KEY; nil without one.
func oauthSealer(purpose string) (*oauth.Sealer, error) {
	key := strings.TrimSpace(os.Getenv("CONTIPLE_MASK_KEY"))
	if key == "" {
		return nil, nil
	}
	s, err := oauth.NewSealer([]byte(key), purpose)
	if err != nil {
		return nil, fmt.Errorf("CONTIPLE_MASK_KEY: %w", err)
	}
	return s, nil
}
