package config

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRedactorKnowsEverySecretTheConfigurationNames: the values behind every
// *_env and *_file key, the URLs' passwords, and any password written in a
// URL are replaced wherever they appear in a log line, errors included.
func TestRedactorKnowsEverySecretTheConfigurationNames(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("dooray-token-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CT_R_IMAP", "imap-pass-456")
	t.Setenv("CT_R_API", "api-token-789")
	c, err := Parse([]byte(`
http: {api_token_env: CT_R_API}
smtp: {host: 127.0.0.1, port: 25}
dooray: {base_url: "https://api.dooray.com", token_file: ` + tokenFile + `}
services:
  - key: s
    name: S
    address: s@example.test
    mailbox: {host: 127.0.0.1, port: 143, tls: none, username: u, password_env: CT_R_IMAP}
`))
	if err != nil {
		t.Fatal(err)
	}
	r := &Redactor{}
	r.AddConfig(c)
	r.AddURL("postgres://app:pg%2Fpass-000@db:5432/x")
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: r.ReplaceAttr}))
	log.Error("login imap-pass-456 refused", "err", errors.New("token dooray-token-123 and api-token-789"),
		"url", "redis://:unknown-pass-111@host:1/0", "dsn", "pg/pass-000")
	out := buf.String()
	for _, s := range []string{"imap-pass-456", "dooray-token-123", "api-token-789", "unknown-pass-111", "pg/pass-000"} {
		if strings.Contains(out, s) {
			t.Errorf("log holds %s: %s", s, out)
		}
	}
	if !strings.Contains(out, "[redacted]") || !strings.Contains(out, "redis://:xxxxx@host:1/0") {
		t.Errorf("log: %s", out)
	}
	var none *Redactor
	if got := none.Redact("ok redis://u:p4ss@h"); got != "ok redis://u:xxxxx@h" {
		t.Errorf("nil redactor: %q", got)
	}
}
