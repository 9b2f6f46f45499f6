package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAPITokensAreCheckedAndRead(t *testing.T) {
	const file = `
http:
  addr: 127.0.0.1:8080
  api_token_env: OLD_TOKEN
  api_tokens:
    - {name: helpdesk, role: operator, token_env: OP_TOKEN}
    - {name: lead, role: administrator, token_env: ADMIN_TOKEN}
    - {name: helpdesk, role: boss}
    - {name: api, role: operator, token_env: X}
smtp: {host: h, port: 25, tls: none, suppress_for: -1h}
services: [{key: s, name: S, address: s@example.test}]
`
	_, err := Parse([]byte(file))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v, want Problems", err)
	}
	var paths []string
	for _, p := range ps {
		paths = append(paths, p.Path)
	}
	want := []string{"http.api_tokens[2].name", "http.api_tokens[2].role", "http.api_tokens[2].token_env",
		"http.api_tokens[3].name", "smtp.suppress_for"}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Fatalf("problem paths (-want +got):\n%s\nall:\n%v", diff, err)
	}

	t.Setenv("OLD_TOKEN", "old-secret")
	t.Setenv("OP_TOKEN", "op-secret")
	t.Setenv("ADMIN_TOKEN", "op-secret") // the same secret twice: neither is trusted
	h := HTTP{APITokenEnv: "OLD_TOKEN", APITokens: []APIToken{{Name: "helpdesk", Role: "operator", TokenEnv: "OP_TOKEN"},
		{Name: "lead", Role: "administrator", TokenEnv: "ADMIN_TOKEN"}, {Name: "bot", Role: "operator", TokenEnv: "UNSET_TOKEN"}}}
	got, err := ResolveAPITokens(h)
	if diff := cmp.Diff([]ResolvedAPIToken{{Name: "api", Role: "administrator", Secret: "old-secret"}}, got); diff != "" {
		t.Errorf("tokens (-want +got):\n%s", diff)
	}
	if err == nil || !strings.Contains(err.Error(), `"helpdesk" and "lead" have the same secret`) || !strings.Contains(err.Error(), "UNSET_TOKEN") ||
		strings.Contains(err.Error(), "op-secret") {
		t.Errorf("error: %v", err)
	}
}
