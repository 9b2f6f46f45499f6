package config

import (
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSpamRuleAndDoorayMailDomains(t *testing.T) {
	data, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Services[0].Spam; got != (Spam{Header: "X-Spam-Score", Threshold: 5}) {
		t.Errorf("example's spam rule: %+v", got)
	}
	if got := c.Dooray.MailDomains; len(got) != 3 || got[0] != "dooray.com" {
		t.Errorf("example's Dooray! mail domains: %v", got)
	}
	const bad = `
smtp: {host: 127.0.0.1, port: 25}
dooray: {mail_domains: [dooray.com, "Dooray.COM", "@dooray.com"]}
services:
  - {key: a, name: A, address: a@example.test, spam: {threshold: 5}}
  - {key: b, name: B, address: b@example.test, spam: {header: "X Spam: Score", threshold: 5}}
`
	_, err = Parse([]byte(bad))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v, want Problems", err)
	}
	var paths []string
	for _, p := range ps {
		paths = append(paths, p.Path)
	}
	if diff := cmp.Diff([]string{"dooray.mail_domains[1]", "dooray.mail_domains[2]", "services[0].spam.header", "services[1].spam.header"}, paths); diff != "" {
		t.Errorf("problems (-want +got):\n%s\n%v", diff, err)
	}
}
