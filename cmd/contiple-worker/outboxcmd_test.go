package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/contiple/contiple-worker/internal/testenv"
)

// The CLI's way back for work that failed: list it, fix the address, lift a
// suppression, run it again; and the filters of ticket list.
func TestOutboxAndSuppressionCommands(t *testing.T) {
	pool := testenv.NewDatabase(t)
	t.Setenv("CONTIPLE_DATABASE_URL", testenv.URLFor(t, pool))
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO services (key, name, address) VALUES ('support', 'Support', 'support@example.test')`); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"ticket", "create", "--service", "support", "--subject", "請求書が届きません", "--customer-email", "kim@exmaple.kr", "--channel", "email", "--body", "請求書"},
		{"ticket", "assign", "1", "--operator", "lee"},
		{"ticket", "resolve", "1", "--note", "再送しました"},
		{"ticket", "create", "--service", "support", "--subject", "other", "--customer-email", "park@example.kr"},
	} {
		if out, err := run(t, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	// The worker found the address failing and gave the task up.
	if _, err := pool.Exec(ctx, `INSERT INTO failing_addresses (address, reason, ticket_id, created_at) VALUES ('kim@exmaple.kr', '5.1.2 bad domain', 1, now() + interval '1 second');
		UPDATE outbound_mails SET state = 'suppressed', last_error = 'kim@exmaple.kr is marked failing';
		UPDATE outbox SET enqueued_at = now(), done_at = now(), failed_at = now(), last_error = 'mail 1 suppressed'`); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "outbox", "failed", "--json")
	var failed struct {
		Outbox []struct {
			OutboxID int64 `json:"outbox_id"`
			Kind     string
		}
		OutboundMails []struct{ ID int64 } `json:"outbound_mails"`
	}
	if err != nil || json.Unmarshal([]byte(out), &failed) != nil || len(failed.Outbox) != 1 || failed.Outbox[0].Kind != "mail:send" || len(failed.OutboundMails) != 1 {
		t.Fatalf("outbox failed: %v\n%s", err, out)
	}
	if out, err := run(t, "mail", "suppressed"); err != nil || !strings.Contains(out, "kim@exmaple.kr") || !strings.Contains(out, "[CT-1]") {
		t.Fatalf("mail suppressed: %v\n%s", err, out)
	}
	if out, err := run(t, "ticket", "update", "1", "--customer-email", "kim@example.kr", "--priority", "high"); err != nil || !strings.Contains(out, "high") {
		t.Fatalf("update: %v\n%s", err, out)
	}
	var recipient string
	if err := pool.QueryRow(ctx, "SELECT recipient FROM outbound_mails").Scan(&recipient); err != nil || recipient != "kim@example.kr" {
		t.Fatalf("the mail not sent is addressed to %q (%v)", recipient, err)
	}
	if out, err := run(t, "outbox", "retry", "1"); err != nil || !strings.Contains(out, "outbox row 2") {
		t.Fatalf("outbox retry: %v\n%s", err, out)
	}
	if _, err := run(t, "outbox", "retry", "1"); err == nil || !strings.Contains(err.Error(), "run again already, as row 2") {
		t.Fatalf("a second retry of the same row: %v", err)
	}
	if out, err := run(t, "outbox", "failed"); err != nil || !strings.Contains(out, "no failed outbox row") {
		t.Fatalf("after the retry: %v\n%s", err, out)
	}
	if out, err := run(t, "mail", "unsuppress", "KIM@exmaple.kr"); err != nil || !strings.Contains(out, "kim@exmaple.kr is mailed again") {
		t.Fatalf("unsuppress: %v\n%s", err, out)
	}
	if out, err := run(t, "mail", "suppressed"); err != nil || !strings.Contains(out, "no suppressed address") {
		t.Fatalf("after unsuppress: %v\n%s", err, out)
	}

	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--status", "resolved,unassigned"}, []string{"2", "1"}},
		{[]string{"--customer", "KIM@example.kr"}, []string{"1"}},
		{[]string{"--text", "請求書"}, []string{"1"}},
		{[]string{"--assignee", "lee", "--status", "resolved"}, []string{"1"}},
		{[]string{"--limit", "1"}, []string{"2"}},
		{[]string{"--starred"}, nil},
	} {
		out, err := run(t, append([]string{"ticket", "list"}, tc.args...)...)
		if err != nil {
			t.Fatalf("list %v: %v", tc.args, err)
		}
		var got []string
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 0 && f[0] != "NUMBER" && f[0] != "more:" {
				got = append(got, f[0])
			}
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("list %v: %v, want %v\n%s", tc.args, got, tc.want, out)
		}
	}
}
