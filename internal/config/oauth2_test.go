package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestOAuth2Blocks(t *testing.T) {
	key := filepath.Join(t.TempDir(), "sa.json")
	os.WriteFile(key, []byte("{}"), 0o600)
	const head = "smtp: {host: h, port: 587}\nservices:\n  - key: s\n    name: S\n    address: s@example.test\n    mailbox:\n      host: h\n      port: 993\n      username: s@example.test\n"
	for _, tc := range []struct {
		name, block string
		want        []string // problem paths; none: valid
	}{
		{"microsoft app-only", `{provider: microsoft, grant: client_credentials, tenant_id: contoso.example, client_id: c, client_secret_env: SECRET}`, nil},
		{"microsoft delegated", `{provider: microsoft, grant: refresh_token, tenant_id: contoso.example, client_id: c, refresh_token_file: /var/lib/contiple/s.token}`, nil},
		{"google service account", `{provider: google, grant: jwt, service_account_key_file: ` + key + `}`, nil},
		{"google delegated", `{provider: google, grant: refresh_token, client_id: c, client_secret_env: SECRET, refresh_token_file: /var/lib/s.token}`, nil},
		{"refresh token in the database", `{provider: microsoft, grant: refresh_token, tenant_id: t, client_id: c, refresh_token_store: database}`, nil},
		{"database and file", `{provider: microsoft, grant: refresh_token, tenant_id: t, client_id: c, refresh_token_store: database, refresh_token_file: /x}`, []string{
			"services[0].mailbox.oauth2.refresh_token_file"}},
		{"unknown store", `{provider: microsoft, grant: refresh_token, tenant_id: t, client_id: c, refresh_token_store: vault}`, []string{
			"services[0].mailbox.oauth2.refresh_token_store"}},
		{"generic", `{provider: generic, grant: client_credentials, token_url: "https://idp.example/token", client_id: c, client_secret_file: ` + key + `}`, nil},
		{"unknown provider", `{provider: yahoo, grant: refresh_token}`, []string{"services[0].mailbox.oauth2.provider"}},
		{"grant not for provider", `{provider: google, grant: client_credentials, client_id: c}`, []string{"services[0].mailbox.oauth2.grant"}},
		{"microsoft app-only incomplete", `{provider: microsoft, grant: client_credentials}`, []string{
			"services[0].mailbox.oauth2.tenant_id", "services[0].mailbox.oauth2.client_id", "services[0].mailbox.oauth2.client_secret_env"}},
		{"secret inline", `{provider: microsoft, grant: client_credentials, tenant_id: t, client_id: c, client_secret_env: "the secret itself"}`, []string{
			"services[0].mailbox.oauth2.client_secret_env"}},
		{"refresh token without file", `{provider: google, grant: refresh_token, client_id: c, refresh_token_file: relative.token}`, []string{
			"services[0].mailbox.oauth2.refresh_token_file"}},
		{"jwt without key", `{provider: google, grant: jwt, refresh_token_file: /x}`, []string{
			"services[0].mailbox.oauth2.service_account_key_file", "services[0].mailbox.oauth2.refresh_token_file"}},
		{"generic without urls", `{provider: generic, grant: refresh_token, client_id: c, refresh_token_file: /x, token_url: "ftp://x"}`, []string{
			"services[0].mailbox.oauth2.token_url", "services[0].mailbox.oauth2.auth_url"}},
		{"missing key file", `{provider: google, grant: jwt, service_account_key_file: /nonexistent/sa.json}`, []string{
			"services[0].mailbox.oauth2.service_account_key_file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(head + "      oauth2: " + tc.block + "\n"))
			var ps Problems
			if err != nil && !errors.As(err, &ps) {
				t.Fatal(err)
			}
			var got []string
			for _, p := range ps {
				got = append(got, p.Path)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("problems %v, want %v\n%v", got, tc.want, err)
			}
			if err == nil && c.Services[0].Mailbox.OAuth2.Subject != "s@example.test" {
				t.Fatalf("subject defaults to the username; got %q", c.Services[0].Mailbox.OAuth2.Subject)
			}
		})
	}
}

// An account has a password or an oauth2 block, and oauth2 needs the user name.
func TestOAuth2ReplacesThePassword(t *testing.T) {
	const cfg = `
smtp:
  host: h
  port: 587
  password_env: SMTP_PASSWORD
  oauth2: {provider: microsoft, grant: client_credentials, tenant_id: t, client_id: c, client_secret_env: S}
services: [{key: s, name: S, address: s@example.test}]
`
	_, err := Parse([]byte(cfg))
	var ps Problems
	errors.As(err, &ps)
	var got []string
	for _, p := range ps {
		got = append(got, p.Path)
	}
	if want := []string{"smtp.username", "smtp.password_env"}; !slices.Equal(got, want) {
		t.Fatalf("problems %v, want %v", got, want)
	}
}
