package config

import (
	"path/filepath"
	"slices"
	"strings"

	"github.com/contiple/contiple-worker/internal/oauth"
)

var providers = []string{oauth.ProviderMicrosoft, oauth.ProviderGoogle, oauth.ProviderGeneric}

// oauth2 checks the oauth2 block of an account at path p (smtp or
// services[i].mailbox): the provider, its grants, what each grant needs, and
// that secrets are named by *_env or *_file.
func (v *validator) oauth2(p, username, passwordEnv, passwordFile string, o *OAuth2) {
	q := p + ".oauth2"
	if username == "" {
		v.add(p+".username", "is required with oauth2 (the account the token logs in)")
	}
	if passwordEnv != "" || passwordFile != "" {
		v.add(p+".password_env", "give a password or an oauth2 block, not both")
	}
	if !slices.Contains(providers, o.Provider) {
		v.add(q+".provider", "%q is not one of %s", o.Provider, strings.Join(providers, ", "))
		return
	}
	grants := oauth.Grants(o.Provider)
	if !slices.Contains(grants, o.Grant) {
		v.add(q+".grant", "%q is not one of %s (for provider %s)", o.Grant, strings.Join(grants, ", "), o.Provider)
		return
	}
	v.secret(q+".client_secret", o.ClientSecretEnv, o.ClientSecretFile)
	v.secret(q+".service_account_key", o.ServiceAccountKeyEnv, o.ServiceAccountKeyFile)
	hasSecret := o.ClientSecretEnv != "" || o.ClientSecretFile != ""
	if o.Provider == oauth.ProviderMicrosoft && o.TenantID == "" {
		v.add(q+".tenant_id", "is required for microsoft (the directory id or domain)")
	}
	if o.Provider == oauth.ProviderGeneric && o.TokenURL == "" {
		v.add(q+".token_url", "is required for a generic provider")
	}
	for _, u := range []struct{ key, val string }{{"token_url", o.TokenURL}, {"auth_url", o.AuthURL}, {"device_auth_url", o.DeviceAuthURL}} {
		if u.val != "" {
			v.httpURL(q+"."+u.key, u.val)
		}
	}
	switch o.Grant {
	case oauth.GrantClientCredentials:
		if o.ClientID == "" {
			v.add(q+".client_id", "is required for client_credentials")
		}
		if !hasSecret {
			v.add(q+".client_secret_env", "is required for client_credentials (or client_secret_file)")
		}
	case oauth.GrantRefreshToken:
		if o.ClientID == "" {
			v.add(q+".client_id", "is required for refresh_token")
		}
		switch o.RefreshTokenStore {
		case RefreshInFile:
			if o.RefreshTokenFile == "" {
				v.add(q+".refresh_token_file", "is required for refresh_token (`contiple-worker mailbox authorize` writes it), or refresh_token_store: database")
			} else if !filepath.IsAbs(o.RefreshTokenFile) {
				v.add(q+".refresh_token_file", "%q must be an absolute path", o.RefreshTokenFile)
			}
		case RefreshInDatabase:
			if o.RefreshTokenFile != "" {
				v.add(q+".refresh_token_file", "is not used with refresh_token_store: database")
			}
		default:
			v.add(q+".refresh_token_store", "%q is not file or database", o.RefreshTokenStore)
		}
		if o.Provider == oauth.ProviderGeneric && o.AuthURL == "" && o.DeviceAuthURL == "" {
			v.add(q+".auth_url", "a generic provider needs auth_url or device_auth_url for `mailbox authorize`")
		}
	case oauth.GrantJWT:
		if o.ServiceAccountKeyEnv == "" && o.ServiceAccountKeyFile == "" {
			v.add(q+".service_account_key_file", "is required for jwt (or service_account_key_env)")
		}
	}
	if o.Grant != oauth.GrantJWT && (o.ServiceAccountKeyEnv != "" || o.ServiceAccountKeyFile != "") {
		v.add(q+".service_account_key_file", "is only used by the jwt grant")
	}
	if o.Grant != oauth.GrantRefreshToken && o.RefreshTokenFile != "" {
		v.add(q+".refresh_token_file", "is only used by the refresh_token grant")
	}
	if o.Grant != oauth.GrantRefreshToken && o.RefreshTokenStore != "" {
		v.add(q+".refresh_token_store", "is only used by the refresh_token grant")
	}
}
