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
	if strings.Contains(out, "w3bh00k-s3cret") || !strings.Contains(out, "http://127.0.0.1:8080/webhooks/dooray/default/<token>") {
		t.Errorf("output %q", out)
	}
	if got := fake.Hooks(fake.ProjectID()); len(got) != 1 || got[0] != "http://127.0.0.1:8080/webhooks/dooray/default/w3bh00k-s3cret" {
		t.Errorf("hooks of the service's project: %v", got)
	}

	out, err = run("hook", "register", "--project", second, "--url", "https://bridge.example.com/helpdesk/", "--events", "postWorkflowChanged")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got := fake.Hooks(second); len(got) != 1 || got[0] != "https://bridge.example.com/helpdesk/webhooks/dooray/default/w3bh00k-s3cret" {
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

// `dooray hook register --organization K` registers on K's host with K's
// token, the URL carrying K and K's own webhook token; the projects default
// to those the services name in K.
func TestDoorayHookRegisterPerOrganization(t *testing.T) {
	main := dooraytest.NewServer(dooraytest.WithToken("main-api-token"))
	defer main.Close()
	gov := dooraytest.NewServer(dooraytest.WithToken("gov-api-token"), dooraytest.WithOrganizationID("2000000000000000002"))
	defer gov.Close()
	govSecond := gov.AddProject("second")
	t.Setenv("TEST_MAIN_TOKEN", main.Token())
	t.Setenv("TEST_GOV_TOKEN", gov.Token())
	t.Setenv("TEST_MAIN_HOOK", "main-hook-s3cret")
	t.Setenv("TEST_GOV_HOOK", "gov-hook-s3cret")
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfg, []byte(`
http: {addr: "127.0.0.1:8080"}
smtp: {host: 127.0.0.1, port: 2525}
dooray:
  organizations:
    - {key: main, base_url: "`+main.URL+`", token_env: TEST_MAIN_TOKEN, webhook_token_env: TEST_MAIN_HOOK}
    - {key: gov, base_url: "`+gov.URL+`", token_env: TEST_GOV_TOKEN, webhook_token_env: TEST_GOV_HOOK, rate_per_second: 2, burst: 2}
services:
  - key: support
    name: Support
    address: support@example.test
    dooray:
      organization: main
      project_id: "`+main.ProjectID()+`"
      organizations: [{key: gov, projects: ["`+gov.ProjectID()+`", "`+govSecond+`"]}]
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
	if _, err := run("hook", "register"); err == nil || !strings.Contains(err.Error(), "--organization") {
		t.Errorf("two organisations, none named: %v", err)
	}
	if out, err := run("hook", "register", "--organization", "gov"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, p := range []string{gov.ProjectID(), govSecond} {
		if got := gov.Hooks(p); len(got) != 1 || got[0] != "http://127.0.0.1:8080/webhooks/dooray/gov/gov-hook-s3cret" {
			t.Errorf("gov's project %s hooks: %v", p, got)
		}
	}
	if got := main.Hooks(main.ProjectID()); len(got) != 0 {
		t.Errorf("main got hooks: %v", got)
	}
	if out, err := run("hook", "register", "--organization", "main"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got := main.Hooks(main.ProjectID()); len(got) != 1 || got[0] != "http://127.0.0.1:8080/webhooks/dooray/main/main-hook-s3cret" {
		t.Errorf("main's hooks: %v", got)
	}
	if _, err := run("hook", "register", "--organization", "finance"); err == nil || !strings.Contains(err.Error(), "main, gov") {
		t.Errorf("unknown organisation: %v", err)
	}
}
