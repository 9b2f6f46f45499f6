package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contiple/contiple-worker/internal/testenv"
)

// run runs the CLI in-process and returns its output and error.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRoot(&out)
	root.SetArgs(args)
	root.SetErr(&out)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestTicketCommands(t *testing.T) {
	pool := testenv.NewDatabase(t)
	t.Setenv("CONTIPLE_DATABASE_URL", testenv.URLFor(t, pool))
	if _, err := pool.Exec(context.Background(),
		`INSERT INTO services (key, name, address) VALUES ('support', 'Support', 'support@example.test')`); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "ticket", "create", "--service", "support", "--subject", "결제 오류", "--customer-email", "kim@example.kr", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ ID int64 }
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.ID == 0 {
		t.Fatalf("create --json printed %q", out)
	}
	if _, err := run(t, "ticket", "resolve", "1", "--note", "done"); err == nil || err.Error() != "ticket 1: cannot resolve a ticket that is unassigned" {
		t.Fatalf("refused resolve: %v", err)
	}
	if _, err := run(t, "ticket", "resolve", "1"); err == nil || !strings.Contains(err.Error(), `"note" not set`) {
		t.Fatalf("missing flag: %v", err)
	}
	if _, err := run(t, "ticket", "show", "42"); err == nil || err.Error() != "ticket 42: not found" {
		t.Fatalf("unknown ticket: %v", err)
	}
	for _, args := range [][]string{
		{"ticket", "assign", "1", "--operator", "lee", "--via", "keep"},
		{"ticket", "hold", "1", "--note", "확인 중입니다"},
		{"ticket", "comment", "1", "--note", "called the customer"},
	} {
		if out, err := run(t, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	out, err = run(t, "ticket", "show", "1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[CT-1] 결제 오류", "status    on_hold", "hold by", "확인 중입니다", "assign by", "unassigned → in_progress", "in_progress → on_hold"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	if out, err := run(t, "config", "check", "../../config.example.yaml"); err != nil {
		t.Fatalf("example: %v\n%s", err, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("smtp: {port: 0}\nservices: []\nextra: 1\n"), 0o600)
	out, err := run(t, "config", "check", bad)
	if err == nil || !strings.Contains(err.Error(), "problem(s)") {
		t.Fatalf("bad config accepted: %v", err)
	}
	for _, want := range []string{"extra: unknown key (line 3)", "smtp.host: is required", "smtp.port: 0 is not a port", "services: declare at least one service"} {
		if !strings.Contains(out, want) {
			t.Errorf("config check output lacks %q:\n%s", want, out)
		}
	}
}

func TestMailParse(t *testing.T) {
	corpus := "../../../shared/mail-corpus/mikel-mail/multi_charset/japanese_attachment.eml"
	if _, err := os.Stat(corpus); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	out, err := run(t, "mail", "parse", corpus, "/nonexistent.eml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one JSON object per file, got:\n%s", out)
	}
	var first, second struct {
		Subject     string
		From        struct{ Address string }
		Attachments []struct{ Filename string }
		Error       string
	}
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[1]), &second)
	if first.From.Address != "raasdnil@gmail.com" || len(first.Attachments) != 1 || first.Attachments[0].Filename != "てすと.txt" {
		t.Errorf("parsed %+v", first)
	}
	if !strings.Contains(second.Error, "no such file") {
		t.Errorf("missing file: %+v", second)
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// The README's quick start: migrate with the example configuration, then the
// ticket commands find its services.
func TestMigrateSyncsTheConfiguredServices(t *testing.T) {
	pool := testenv.NewEmptyDatabase(t)
	t.Setenv("CONTIPLE_DATABASE_URL", testenv.URLFor(t, pool))
	t.Setenv("CONTIPLE_IMAP_PASSWORD", "secret")
	out, err := run(t, "migrate", "--config", "../../config.example.yaml")
	if err != nil || !strings.Contains(out, "applied migration 001") || !strings.Contains(out, "service(s) synced") {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	if out, err := run(t, "ticket", "create", "--service", "support", "--subject", "ログインできません",
		"--customer-email", "taro@example.jp", "--body", "助けて"); err != nil || !strings.Contains(out, "[CT-1]") {
		t.Fatalf("ticket create after migrate: %v\n%s", err, out)
	}
	if out, err := run(t, "migrate", "--json"); err != nil || !strings.Contains(out, `"applied": []`) {
		t.Errorf("second migrate: %v\n%s", err, out)
	}
}
