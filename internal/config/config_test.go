package config

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExampleIsValid(t *testing.T) {
	data, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data)
	if err != nil {
		t.Fatalf("config.example.yaml: %v", err)
	}
	if c.Services[0].Mailbox.PollInterval.Std().Seconds() != 30 || c.Services[0].Triggers[1].Then.AssignSequence[1] != "tanaka" {
		t.Fatalf("decoded %+v", c.Services[0])
	}
}

func TestEveryProblemHasItsPath(t *testing.T) {
	const bad = `
http: {addr: nowhere, api_token_env: "my secret token"}
smtp: {host: "", port: 70000, tls: ssl, username: u}
dooray: {base_url: "ftp://x"}
mail: {memory_budget: 1000}
services:
  - key: Support
    name: ""
    address: "Support <support@example.test>"
    mailbox: {host: h, port: 993, username: u, password_env: P, after: archive, pool_interval: 5s}
    templates:
      resolve: {ja: {subject: "", text: "a", text_file: "/nonexistent"}}
      close: {}
    triggers:
      - name: t
        when: {}
        then: {assign_to: a, assign_random: [b], priority: asap}
  - key: Support
`
	_, err := Parse([]byte(bad))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v, want Problems", err)
	}
	var paths []string
	for _, p := range ps {
		paths = append(paths, p.Path)
	}
	want := []string{
		"services[0].mailbox.pool_interval",
		"http.addr", "http.api_token_env", "smtp.host", "smtp.port", "smtp.tls", "smtp.password_env",
		"mail.memory_budget", "dooray.base_url", "dooray.token_env",
		"services[0].key", "services[0].name", "services[0].address", "services[0].mailbox.after",
		"services[0].templates.close",
		"services[0].templates.resolve.ja.subject", "services[0].templates.resolve.ja.text", "services[0].templates.resolve.ja.text_file",
		"services[0].triggers[0].when", "services[0].triggers[0].then", "services[0].triggers[0].then.priority",
		"services[1].key", "services[1].name", "services[1].address",
	}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Fatalf("problem paths (-want +got):\n%s\nall:\n%v", diff, err)
	}
	if !strings.Contains(err.Error(), "services[0].mailbox.pool_interval: unknown key (line 10)") {
		t.Fatalf("message lacks the line of the unknown key:\n%v", err)
	}
}

func TestSecretNeverInError(t *testing.T) {
	t.Setenv("CT_TEST_SECRET", "hunter2")
	if v, err := Secret("CT_TEST_SECRET", ""); err != nil || v != "hunter2" {
		t.Fatalf("Secret = %q, %v", v, err)
	}
	if _, err := Secret("CT_TEST_MISSING", ""); err == nil || !strings.Contains(err.Error(), "CT_TEST_MISSING") {
		t.Fatalf("missing secret: %v", err)
	}
}

// TestPasswordInClearOnlyToLoopback: tls: none sends the IMAP or SMTP
// password in clear, so config check refuses it toward any host that is not
// on loopback unless allow_insecure says so.
func TestPasswordInClearOnlyToLoopback(t *testing.T) {
	file := func(host, smtpExtra, mailboxExtra string) string {
		return `
smtp: {host: ` + host + `, port: 587, tls: none, username: u, password_env: SMTP_PASSWORD` + smtpExtra + `}
services:
  - key: support
    name: Support
    address: support@example.test
    mailbox: {host: ` + host + `, port: 143, tls: none, username: u, password_env: IMAP_PASSWORD` + mailboxExtra + `}
`
	}
	for _, tc := range []struct {
		name, file string
		want       []string
	}{
		{"remote host", file("mail.example.com", "", ""), []string{"smtp.tls", "services[0].mailbox.tls"}},
		{"remote address", file("192.0.2.10", "", ""), []string{"smtp.tls", "services[0].mailbox.tls"}},
		{"allowed", file("mail.example.com", ", allow_insecure: true", ", allow_insecure: true"), nil},
		{"only smtp allowed", file("mail.example.com", ", allow_insecure: true", ""), []string{"services[0].mailbox.tls"}},
		{"loopback v4", file("127.0.0.1", "", ""), nil},
		{"loopback v6", file(`"::1"`, "", ""), nil},
		{"localhost", file("localhost", "", ""), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.file))
			var paths []string
			var ps Problems
			if errors.As(err, &ps) {
				for _, p := range ps {
					paths = append(paths, p.Path)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, paths); diff != "" {
				t.Fatalf("problems (-want +got):\n%s\n%v", diff, err)
			}
			if err != nil && !strings.Contains(err.Error(), "allow_insecure") {
				t.Errorf("the problem does not say how to allow it: %v", err)
			}
		})
	}
}

func TestRawRetention(t *testing.T) {
	base := "smtp: {host: 127.0.0.1, port: 25}\nservices: [{key: s, name: S, address: s@example.test}]\n"
	c, err := Parse([]byte(base))
	if err != nil || c.Mail.RawRetention != 0 {
		t.Fatalf("default: %v, %v; want 0 (off)", c.Mail.RawRetention, err)
	}
	c, err = Parse([]byte(base + "mail: {raw_retention: 720h}\n"))
	if err != nil || c.Mail.RawRetention.Std().Hours() != 720 {
		t.Fatalf("720h: %v, %v", c.Mail.RawRetention, err)
	}
	if _, err := Parse([]byte(base + "mail: {raw_retention: -1h}\n")); err == nil || !strings.Contains(err.Error(), "mail.raw_retention") {
		t.Fatalf("negative retention: %v", err)
	}
}

func TestDoorayOrganizations(t *testing.T) {
	const base = `
http: {addr: "127.0.0.1:8080", webhook_token_env: HOOK}
smtp: {host: 127.0.0.1, port: 2525}
`
	// The old single block is one organisation, "default", and check says how to move.
	legacy, err := Parse([]byte(base + `
dooray: {base_url: "https://api.dooray.com", token_env: TOKEN, bot_member_id: "41", sync_interval: 10s}
services:
  - {key: support, name: S, address: s@example.test, dooray: {project_id: "7"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []DoorayOrganization{{Key: "default", BaseURL: "https://api.dooray.com", TokenEnv: "TOKEN", BotMemberID: "41",
		SyncInterval: Duration(10e9), WebhookTokenEnv: "HOOK"}}
	if diff := cmp.Diff(want, legacy.DoorayOrganizations()); diff != "" {
		t.Errorf("legacy organisations (-want +got):\n%s", diff)
	}
	if n := legacy.Notices(); len(n) != 1 || !strings.Contains(n[0], "organizations:") || !strings.Contains(n[0], "key: default") {
		t.Errorf("notices %q", n)
	}
	if got := legacy.ServiceDoorayOrganization(legacy.Services[0]); got != "default" {
		t.Errorf("service organisation %q", got)
	}

	two, err := Parse([]byte(base + `
dooray:
  sync_interval: 20s
  organizations:
    - {key: main, base_url: "https://api.dooray.com", token_env: MAIN, webhook_token_env: MAIN_HOOK}
    - {key: gov, base_url: "https://api.gov-dooray.com", token_file: "/dev/null", rate_per_second: 5, burst: 10, sync_interval: 1m}
services:
  - key: support
    name: S
    address: s@example.test
    dooray: {enabled: false, organization: main, project_id: "7", organizations: [{key: gov, projects: ["9"]}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	orgs := two.DoorayOrganizations()
	if len(orgs) != 2 || orgs[0].SyncInterval.Std().Seconds() != 20 || orgs[1].SyncInterval.Std().Minutes() != 1 ||
		orgs[1].WebhookTokenEnv != "" || orgs[1].RatePerSecond != 5 {
		t.Errorf("organisations %+v", orgs)
	}
	if len(two.Notices()) != 0 || *two.Services[0].Dooray.Enabled {
		t.Errorf("notices %q, enabled %v", two.Notices(), *two.Services[0].Dooray.Enabled)
	}

	_, err = Parse([]byte(base + `
dooray:
  base_url: "https://api.dooray.com"
  token_env: T
  organizations:
    - {key: main, base_url: "ftp://x", token_env: M, rate_per_second: -1}
    - {key: main, token_env: M, token_file: /nonexistent}
services:
  - key: support
    name: S
    address: s@example.test
    dooray: {organization: finance, organizations: [{key: main}, {key: gov}]}
`))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v", err)
	}
	var paths []string
	for _, p := range ps {
		paths = append(paths, p.Path)
	}
	wantPaths := []string{"dooray.base_url",
		"dooray.organizations[0].base_url", "dooray.organizations[0].rate_per_second",
		"dooray.organizations[1].key", "dooray.organizations[1].base_url", "dooray.organizations[1].token_file", "dooray.organizations[1].token_file",
		"services[0].dooray.organization", "services[0].dooray.organizations[1].key"}
	if diff := cmp.Diff(wantPaths, paths); diff != "" {
		t.Errorf("problem paths (-want +got):\n%s\n%v", diff, err)
	}
}
