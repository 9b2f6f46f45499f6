package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/oauth2/google"
	"golang.org/x/oauth2/microsoft"
)

// Providers.
const (
	ProviderMicrosoft = "microsoft" // Microsoft 365 / Entra ID
	ProviderGoogle    = "google"    // Google Workspace
	ProviderGeneric   = "generic"   // any OAuth2 server: token_url, client, scopes
)

// Grants: how the worker obtains access tokens without a person.
const (
	// GrantClientCredentials: app-only access (Microsoft 365: the application
	// is given the mailbox in Exchange; generic servers).
	GrantClientCredentials = "client_credentials"
	// GrantRefreshToken: delegated access; a person consents once with
	// `contiple-worker mailbox authorize`, and the refresh token is kept.
	GrantRefreshToken = "refresh_token"
	// GrantJWT: a Google service account with domain-wide delegation acts as
	// the mailbox (the JWT's subject).
	GrantJWT = "jwt"
)

// Default scopes per provider, for mail over IMAP and SMTP.
var (
	ScopesMicrosoftApp       = []string{"https://outlook.office365.com/.default"}
	ScopesMicrosoftDelegated = []string{"https://outlook.office.com/IMAP.AccessAsUser.All", "https://outlook.office.com/SMTP.Send", "offline_access"}
	ScopesGoogle             = []string{"https://mail.google.com/"}
)

// Grants returns the grants a provider supports here.
func Grants(provider string) []string {
	switch provider {
	case ProviderMicrosoft:
		return []string{GrantClientCredentials, GrantRefreshToken}
	case ProviderGoogle:
		return []string{GrantJWT, GrantRefreshToken}
	case ProviderGeneric:
		return []string{GrantClientCredentials, GrantRefreshToken}
	}
	return nil
}

// Config is one OAuth2 login (a mailbox's or the SMTP account's) with its
// secrets resolved. Its String leaves the secrets out.
type Config struct {
	// Name keys the shared cache and names the login in errors and logs,
	// e.g. "mailbox support" or "smtp". Logins with the same Name share tokens.
	Name     string
	Provider string
	Grant    string
	TenantID string // microsoft: the directory (tenant) id or domain
	ClientID string
	// ClientSecret is required for client_credentials; public clients of
	// the device or loopback flows may leave it empty.
	ClientSecret string
	// TokenURL, AuthURL and DeviceAuthURL override the provider's endpoints
	// (generic: TokenURL is required; tests point them at oauthtest).
	TokenURL, AuthURL, DeviceAuthURL string
	Scopes                           []string // empty: the provider's default for the grant
	// ServiceAccountKey is Google's JSON key of the service account (jwt).
	ServiceAccountKey []byte
	// Subject is the mailbox a Google service account acts as (jwt).
	Subject string
	// Reauthorize tells the operator what to do when the grant is lost,
	// e.g. "run `contiple-worker mailbox authorize support`".
	Reauthorize string
	// HTTPClient calls the token endpoint; nil: one with a 30 s timeout.
	HTTPClient *http.Client
}

func (c Config) String() string {
	return fmt.Sprintf("oauth2 %s (%s %s, client %s)", c.Name, c.Provider, c.Grant, c.ClientID)
}

// Endpoint is the provider's endpoints with the overrides applied. The
// client authenticates one fixed way (x/oauth2's auto-detection would send a
// refused request twice): in the form for Microsoft and Google, with HTTP
// Basic (which RFC 6749 servers must support) for a generic provider.
func (c Config) Endpoint() oauth2.Endpoint {
	e := oauth2.Endpoint{AuthStyle: oauth2.AuthStyleInHeader}
	switch c.Provider {
	case ProviderMicrosoft:
		e = microsoft.AzureADEndpoint(c.TenantID)
		e.AuthStyle = oauth2.AuthStyleInParams
	case ProviderGoogle:
		e = google.Endpoint
	}
	for _, o := range []struct {
		dst *string
		v   string
	}{{&e.TokenURL, c.TokenURL}, {&e.AuthURL, c.AuthURL}, {&e.DeviceAuthURL, c.DeviceAuthURL}} {
		if o.v != "" {
			*o.dst = o.v
		}
	}
	return e
}

// scopes is Scopes or the provider's default for the grant.
func (c Config) scopes() []string {
	if len(c.Scopes) > 0 {
		return c.Scopes
	}
	switch {
	case c.Provider == ProviderMicrosoft && c.Grant == GrantClientCredentials:
		return ScopesMicrosoftApp
	case c.Provider == ProviderMicrosoft:
		return ScopesMicrosoftDelegated
	case c.Provider == ProviderGoogle:
		return ScopesGoogle
	}
	return nil
}

// OAuth2 is the x/oauth2 configuration of the delegated flows (authorize,
// refresh) for redirectURL (may be empty).
func (c Config) OAuth2(redirectURL string) *oauth2.Config {
	return &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: c.Endpoint(),
		RedirectURL: redirectURL, Scopes: c.scopes()}
}

// Validate reports what is missing for the grant (secrets already resolved).
func (c Config) Validate() error {
	var problems []string
	grants := Grants(c.Provider)
	switch {
	case grants == nil:
		problems = append(problems, fmt.Sprintf("provider %q is not microsoft, google or generic", c.Provider))
	case !contains(grants, c.Grant):
		problems = append(problems, fmt.Sprintf("grant %q is not one of %s for %s", c.Grant, strings.Join(grants, ", "), c.Provider))
	}
	need := func(ok bool, what string) {
		if !ok {
			problems = append(problems, what+" is required")
		}
	}
	switch c.Grant {
	case GrantClientCredentials:
		need(c.ClientID != "", "client_id")
		need(c.ClientSecret != "", "the client secret")
	case GrantRefreshToken:
		need(c.ClientID != "", "client_id")
	case GrantJWT:
		need(len(c.ServiceAccountKey) > 0, "the service account key")
		need(c.Subject != "", "subject (the mailbox the service account acts as)")
	}
	if c.Provider == ProviderMicrosoft {
		need(c.TenantID != "" || c.TokenURL != "", "tenant_id")
	}
	if c.Provider == ProviderGeneric {
		need(c.TokenURL != "", "token_url")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %s", c, strings.Join(problems, "; "))
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// fetch asks the token endpoint for a new access token. refreshToken is the
// current one for GrantRefreshToken; the returned token carries the rotated
// refresh token, or the same one when the server did not rotate it.
func (c Config) fetch(ctx context.Context, refreshToken string) (*oauth2.Token, error) {
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	switch c.Grant {
	case GrantClientCredentials:
		e := c.Endpoint()
		cc := &clientcredentials.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, TokenURL: e.TokenURL,
			Scopes: c.scopes(), AuthStyle: e.AuthStyle}
		return cc.Token(ctx)
	case GrantJWT:
		jc, err := google.JWTConfigFromJSON(c.ServiceAccountKey, c.scopes()...)
		if err != nil {
			return nil, &AuthorizationError{Name: c.Name, Code: "invalid_key", Err: err, hint: "check the service account key file"}
		}
		jc.Subject = c.Subject
		if c.TokenURL != "" {
			jc.TokenURL = c.TokenURL
		}
		return jc.TokenSource(ctx).Token()
	case GrantRefreshToken:
		if refreshToken == "" {
			return nil, &AuthorizationError{Name: c.Name, Code: "no_refresh_token", hint: c.Reauthorize,
				Err: errors.New("no refresh token stored yet")}
		}
		t, err := c.OAuth2("").TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
		if err == nil && t.RefreshToken == "" {
			t.RefreshToken = refreshToken
		}
		return t, err
	}
	return nil, fmt.Errorf("%s: unknown grant %q", c, c.Grant)
}
