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
