package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contiple/contiple-worker/dooray/dooraytest"
)

func TestDoorayHookRegister(t *testing.T) {
	fake := dooraytest.NewServer()
	defer fake.Close()
	second := fake.AddProject("second")
	t.Setenv("TEST_DOORAY_TOKEN", fake.Token())
	t.Setenv("TEST_WEBHOOK_TOKEN", "w3bh00k-s3cret")
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfg, []byte(`
http: {addr: "127.0.0.1:8080", webhook_token_env: TEST_WEBHOOK_TOKEN}
smtp: {host: 127.0.0.1, port: 2525}
dooray: {base_url: "`+fake.URL+`", token_env: TEST_DOORAY_TOKEN}
services:
  - {key: support, name: Support, address: support@example.test, dooray: {project_id: "`+fake.ProjectID()+`"}}
`), 0o600)
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		a := &app{configPath: cfg, out: &out, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		cmd := a.doorayCmd()
		cmd.SetArgs(args)
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		err := cmd.ExecuteContext(context.Background())
		return out.String(), err
	}

	out, err := run("hook", "register")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(out, "w3bh00k-s3cret") || !strings.Contains(out, "http://127.0.0.1:8080/webhooks/dooray/<token>") {
		t.Errorf("output %q", out)
	}
	if got := fake.Hooks(fake.ProjectID()); len(got) != 1 || got[0] != "http://127.0.0.1:8080/webhooks/dooray/w3bh00k-s3cret" {
		t.Errorf("hooks of the service's project: %v", got)
	}

	out, err = run("hook", "register", "--project", second, "--url", "https://bridge.example.com/helpdesk/", "--events", "postWorkflowChanged")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got := fake.Hooks(second); len(got) != 1 || got[0] != "https://bridge.example.com/helpdesk/webhooks/dooray/w3bh00k-s3cret" {
		t.Errorf("hooks of --project: %v", got)
	}

	a := &app{configPath: cfg, json: true}
	var buf bytes.Buffer
	a.out, a.log = &buf, slog.New(slog.NewTextHandler(io.Discard, nil))
	cmd := a.doorayCmd()
	cmd.SetArgs([]string{"hook", "register", "--project", second})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		ProjectID string `json:"project_id"`
		HookID    string `json:"hook_id"`
	}
	if err := json.Unmarshal(buf.Bytes(), &rows); err != nil || len(rows) != 1 || rows[0].HookID == "" {
		t.Errorf("--json printed %q (%v)", buf.String(), err)
	}

	if _, err := run("hook", "register", "--project", second, "--events", "noSuchEvent"); err == nil {
		t.Error("an unknown event was accepted")
	}
	t.Setenv("TEST_WEBHOOK_TOKEN", "")
	if _, err := run("hook", "register"); err == nil || !strings.Contains(err.Error(), "webhook token") {
		t.Errorf("without a webhook token: %v", err)
	}
}
