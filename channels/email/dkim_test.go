package email

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
)

// dkimKeys signs mail as a domain and serves the public keys by TXT lookup.
type dkimKeys struct {
	key  *rsa.PrivateKey
	txt  map[string]string // name → record
	fail error             // returned by every lookup when set
}

func newDKIMKeys(t testing.TB) *dkimKeys {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rec := "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(pub)
	return &dkimKeys{key: key, txt: map[string]string{
		"s1._domainkey.dooray.com": rec, "s1._domainkey.evil.example": rec}}
}

func (k *dkimKeys) lookup(name string) ([]string, error) {
	if k.fail != nil {
		return nil, k.fail
	}
	if r, ok := k.txt[name]; ok {
		return []string{r}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (k *dkimKeys) sign(t testing.TB, domain, raw string, headers ...string) string {
	t.Helper()
	if headers == nil {
		headers = []string{"From", "To", "Subject", "Date", "Message-ID"}
	}
	var out bytes.Buffer
	if err := dkim.Sign(&out, strings.NewReader(raw), &dkim.SignOptions{Domain: domain, Selector: "s1", Signer: k.key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
		HeaderKeys: headers}); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestDKIMAuthenticated(t *testing.T) {
	t.Parallel()
	keys := newDKIMKeys(t)
	mail := func(from string) string {
		return "From: " + from + "\r\nTo: support@example.test\r\nSubject: [CT-1] comment\r\nDate: Tue, 24 Nov 2026 10:00:00 +0900\r\n" +
			"Message-ID: <n1@dooray.com>\r\n\r\nA comment.\r\n"
	}
	domains := []string{"dooray.com"}
	tests := []struct {
		name, raw, want string
	}{
		{"signed by dooray.com", keys.sign(t, "dooray.com", mail("Dooray! <noreply@dooray.com>")), "dooray.com"},
		{"From below the signing domain", keys.sign(t, "dooray.com", mail("noreply@mail.dooray.com")), "dooray.com"},
		{"LF line endings", strings.ReplaceAll(keys.sign(t, "dooray.com", mail("noreply@dooray.com")), "\r\n", "\n"), "dooray.com"},
		{"unsigned", mail("noreply@dooray.com"), ""},
		{"signed by another domain", keys.sign(t, "evil.example", mail("noreply@dooray.com")), ""},
		{"dooray.com signing for another author", keys.sign(t, "dooray.com", mail("someone@customer.example")), ""},
		{"body changed after signing", strings.Replace(keys.sign(t, "dooray.com", mail("noreply@dooray.com")), "A comment.", "Another.", 1), ""},
		{"subject changed after signing", strings.Replace(keys.sign(t, "dooray.com", mail("noreply@dooray.com")), "[CT-1]", "[CT-2]", 1), ""},
		{"second From added", "From: x@evil.example\r\n" + keys.sign(t, "dooray.com", mail("noreply@dooray.com")), ""},
		{"look-alike domain", keys.sign(t, "evil.example", mail("noreply@notdooray.com")), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := DKIMAuthenticated([]byte(tt.raw), domains, keys.lookup)
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	// DNS down: neither yes nor no.
	down := newDKIMKeys(t)
	down.fail = &net.DNSError{Err: "server misbehaving", Name: "s1._domainkey.dooray.com", IsTemporary: true}
	if got, err := DKIMAuthenticated([]byte(keys.sign(t, "dooray.com", mail("noreply@dooray.com"))), domains, down.lookup); !errors.Is(err, ErrDKIMTemporary) || got != "" {
		t.Errorf("DNS down: %q, %v", got, err)
	}
}
