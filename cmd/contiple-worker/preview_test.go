package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contiple/contiple-worker/internal/testenv"
)

func TestTicketPreviewAndForce(t *testing.T) {
	pool := testenv.NewDatabase(t)
	t.Setenv("CONTIPLE_DATABASE_URL", testenv.URLFor(t, pool))
	if _, err := pool.Exec(context.Background(), `INSERT INTO services (key, name, address, locale) VALUES ('support', 'Support', 'support@example.test', 'en');
		INSERT INTO forbidden_words (service_key, word) VALUES ('support', 'guarantee')`); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"ticket", "create", "--service", "support", "--subject", "Cannot log in", "--customer-email", "jane@example.jp", "--customer-name", "Jane Roe"},
		{"ticket", "assign", "1", "--operator", "lee"},
	} {
		if out, err := run(t, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	note := "We guarantee a fix by Friday."
	out, err := run(t, "ticket", "preview", "1", "--action", "resolve", "--note", note)
	if err != nil {
		t.Fatalf("preview: %v\n%s", err, out)
	}
	for _, want := range []string{"From: Support <support@example.test>", "To: Jane Roe <jane@example.jp>",
		"Subject: Re: Cannot log in [CT-1]", "Dear Jane Roe,", note, "Parts: text/plain, text/html",
		"forbidden words: 2", `"guarantee" in text at character`, `"guarantee" in html at character`} {
		if !strings.Contains(out, want) {
			t.Errorf("preview lacks %q:\n%s", want, out)
		}
	}
	out, err = run(t, "ticket", "preview", "1", "--action", "hold", "--note", "Checking.", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Subject   string
		Text      string
		Forbidden []struct{ Word, Part string } `json:"forbidden_words"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.Subject != "Re: Cannot log in [CT-1]" || p.Forbidden == nil || len(p.Forbidden) != 0 {
		t.Fatalf("preview --json: %v\n%s", err, out)
	}
	if _, err := run(t, "ticket", "preview", "1", "--action", "close", "--note", "x"); err == nil || !strings.Contains(err.Error(), "not a mail kind") {
		t.Fatalf("bad action: %v", err)
	}

	// Resolve refuses the forbidden word, and says which, until --force.
	_, err = run(t, "ticket", "resolve", "1", "--note", note)
	if err == nil || !strings.Contains(err.Error(), `forbidden words: "guarantee" in text at`) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("resolve with a forbidden word: %v", err)
	}
	var owed int
	pool.QueryRow(context.Background(), "SELECT count(*) FROM outbound_mails").Scan(&owed)
	if owed != 0 {
		t.Fatal("a refused resolve owes a mail")
	}
	if out, err := run(t, "ticket", "resolve", "1", "--note", note, "--force", "--json"); err != nil || !strings.Contains(out, `"status": "resolved"`) {
		t.Fatalf("resolve --force: %v\n%s", err, out)
	}
	pool.QueryRow(context.Background(), "SELECT count(*) FROM outbound_mails").Scan(&owed)
	if owed != 1 {
		t.Fatalf("%d mails owed after resolve --force", owed)
	}
}

func TestConfigCheckReportsBadTemplates(t *testing.T) {
	dir := t.TempDir()
	htmlFile := filepath.Join(dir, "hold.html")
	os.WriteFile(htmlFile, []byte("<p>{{.Customer.Email}}</p>"), 0o600)
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(`smtp: {host: 127.0.0.1, port: 2525}
services:
  - key: support
    name: Support
    address: support@example.test
    templates:
      resolve:
        ja: {subject: "{{.Ticket.Subject}}", text: "{{.Ticket.Title}}"}
        ko: {subject: "{{.Ticket.Subject", text: "ok"}
      hold:
        en: {subject: "s", text: "{{.Note}}", html_file: "`+htmlFile+`"}
`), 0o600)
	out, err := run(t, "config", "check", cfg)
	if err == nil {
		t.Fatalf("bad templates accepted:\n%s", out)
	}
	for _, want := range []string{
		"services[0].templates.resolve.ja.text: ", "Title",
		"services[0].templates.resolve.ko.subject: ", "unclosed action",
		"services[0].templates.hold.en.html: ", "Email",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("config check output lacks %q:\n%s", want, out)
		}
	}
}
