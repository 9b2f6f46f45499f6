package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contiple/contiple-worker/dooray/dooraytest"
	"github.com/contiple/contiple-worker/internal/testenv"
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

// config check accepts the old single dooray block and says how to move it
// into dooray.organizations.
func TestConfigCheckSaysHowToMoveTheDoorayBlock(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfg, []byte(`
http: {addr: "127.0.0.1:8080"}
smtp: {host: 127.0.0.1, port: 2525}
dooray: {base_url: "https://api.dooray.com", token_env: MY_DOORAY_TOKEN, bot_member_id: "4100000000000000001"}
services:
  - {key: support, name: Support, address: support@example.test, dooray: {project_id: "7"}}
`), 0o600)
	out, err := run(t, "config", "check", cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{": ok", "note: dooray: the single dooray block is read as organisation \"default\"",
		"organizations:", "- key: default", "base_url: https://api.dooray.com", "token_env: MY_DOORAY_TOKEN"} {
		if !strings.Contains(out, want) {
			t.Errorf("config check output lacks %q:\n%s", want, out)
		}
	}
}

// ticket escalate --organization K --project P chooses where the task goes;
// without them the service's defaults apply.
func TestTicketEscalateChoosesTheOrganization(t *testing.T) {
	pool := testenv.NewDatabase(t)
	t.Setenv("CONTIPLE_DATABASE_URL", testenv.URLFor(t, pool))
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO services (key, name, address, settings) VALUES ('support', 'Support', 'support@example.test', $1)`,
		map[string]any{"dooray_organization": "main", "dooray_project_id": "11",
			"dooray_organizations": []map[string]any{{"key": "gov", "projects": []string{"21", "22"}}}}); err != nil {
		t.Fatal(err)
	}
	for i, tt := range []struct {
		args []string
		want string
	}{
		{nil, "main/11"},
		{[]string{"--organization", "gov"}, "gov/21"},
		{[]string{"--organization", "gov", "--project", "22"}, "gov/22"},
	} {
		if out, err := run(t, "ticket", "create", "--service", "support", "--subject", "s", "--customer-email", "a@example.jp"); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		id := fmt.Sprint(i + 1)
		if out, err := run(t, "ticket", "assign", id, "--operator", "kim"); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if out, err := run(t, append([]string{"ticket", "escalate", id, "--content", "please"}, tt.args...)...); err != nil {
			t.Fatalf("escalate %v: %v\n%s", tt.args, err, out)
		}
		var got string
		pool.QueryRow(ctx, `SELECT organization || '/' || project_id FROM dooray_links WHERE ticket_id = $1`, i+1).Scan(&got)
		if got != tt.want {
			t.Errorf("escalate %v: link %s, want %s", tt.args, got, tt.want)
		}
	}
	if _, err := run(t, "ticket", "create", "--service", "support", "--subject", "s", "--customer-email", "a@example.jp"); err != nil {
		t.Fatal(err)
	}
	run(t, "ticket", "assign", "4", "--operator", "kim")
	if _, err := run(t, "ticket", "escalate", "4", "--content", "x", "--organization", "gov", "--project", "99"); err == nil ||
		!strings.Contains(err.Error(), "does not transfer to project 99") {
		t.Errorf("a project the service does not name: %v", err)
	}
}
