package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contiple/contiple-worker/internal/testenv"
)

// mail retry of a mail left on the server as too large fetches it once the
// configuration's limit is raised.
func TestMailRetryFetchesOverLimitMail(t *testing.T) {
	ctx := context.Background()
	pool := testenv.NewDatabase(t)
	t.Setenv("CONTIPLE_DATABASE_URL", testenv.URLFor(t, pool))
	u := testenv.NewIMAPUser(t)
	t.Setenv("CONTIPLE_IMAP_PASSWORD", u.Password)
	raw, err := os.ReadFile("../../jobs/testdata/intake/large_attachment.eml")
	if err != nil {
		t.Fatal(err)
	}
	u.Append("INBOX", string(raw))
	sel, err := u.Client.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	write := func(limit int) {
		os.WriteFile(cfg, []byte(fmt.Sprintf(`
smtp: {host: 127.0.0.1, port: 2525}
mail: {max_message_bytes: %d}
services:
  - key: support
    name: Support
    address: support@example.test
    mailbox: {host: %s, port: %d, tls: none, username: %s, password_env: CONTIPLE_IMAP_PASSWORD}
`, limit, u.Host, u.Port, u.Username)), 0o600)
	}
	write(2000)
	if out, err := run(t, "migrate", "--config", cfg); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	// What mail:poll records for a mail over the limit: no content, failed.
	var id int64
	if err := pool.QueryRow(ctx, `INSERT INTO inbound_mails (mailbox_id, uidvalidity, uid, content_hash, raw, size, state, error)
		SELECT id, $1, 1, '', '', $2, 'failed', 'too large' FROM mailboxes WHERE name = 'support' RETURNING id`,
		int64(sel.UIDValidity), len(raw)).Scan(&id); err != nil {
		t.Fatal(err)
	}
	arg := fmt.Sprint(id)
	if _, err := run(t, "mail", "retry", arg); err == nil || !strings.Contains(err.Error(), "must be fetched from the mailbox") ||
		!strings.Contains(err.Error(), "--config") {
		t.Errorf("without a configuration: %v", err)
	}
	if _, err := run(t, "mail", "retry", arg, "--config", cfg); err == nil || !strings.Contains(err.Error(), "still larger than mail.max_message_bytes") {
		t.Errorf("under the old limit: %v", err)
	}
	write(1 << 20)
	out, err := run(t, "mail", "retry", arg, "--config", cfg)
	if err != nil || !strings.Contains(out, "fetched from its mailbox and queued for ingest") {
		t.Fatalf("retry: %v\n%s", err, out)
	}
	var state string
	var size int
	if err := pool.QueryRow(ctx, "SELECT state, length(raw) FROM inbound_mails WHERE id = $1", id).Scan(&state, &size); err != nil ||
		state != "received" || size != len(raw) {
		t.Errorf("row: %s, %d bytes of %d (%v)", state, size, len(raw), err)
	}
}
