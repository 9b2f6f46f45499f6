package email

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
)

// TXTLookup returns the DNS TXT records of a name, as net.LookupTXT does. Tests
// serve their own keys through it.
type TXTLookup func(name string) ([]string, error)

// ErrDKIMTemporary is a DKIM check that could not be made now (the key's DNS
// lookup failed temporarily): try again later rather than decide.
var ErrDKIMTemporary = errors.New("dkim: temporary failure")

// maxDKIMSignatures bounds the work on hostile mail that carries many.
const maxDKIMSignatures = 5

// DKIMAuthenticated reports whether raw carries a valid DKIM signature
// (RFC 6376) of one of domains that vouches for its author: the signing
// domain (d=) is that domain, the signature covers the From field, and
// From's one address is in that domain or below it. It returns the domain,
// or "" when no signature qualifies. lookup nil uses the system's DNS.
//
// The header alone proves nothing (anyone can write From: x@dooray.com); only
// the domain's key does.
func DKIMAuthenticated(raw []byte, domains []string, lookup TXTLookup) (string, error) {
	h, _ := readHeader(raw)
	from := parseAddressList(h.get("from"), "")
	if len(from) != 1 || len(h.values("from")) != 1 {
		return "", nil // DMARC's rule too: one author, one From field
	}
	_, fromDomain, ok := strings.Cut(strings.ToLower(from[0].Address), "@")
	if !ok {
		return "", nil
	}
	if !bytes.Contains(raw, []byte("\r\n")) {
		raw = bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n")) // signatures are over CRLF lines
	}
	opts := &dkim.VerifyOptions{MaxVerifications: maxDKIMSignatures}
	if lookup != nil {
		opts.LookupTXT = lookup
	}
	verifications, err := dkim.VerifyWithOptions(bytes.NewReader(raw), opts)
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		return "", nil // a header we cannot read: nothing is authenticated
	}
	var temporary error
	for _, v := range verifications {
		d := strings.ToLower(v.Domain)
		if !containsFold(domains, d) || (fromDomain != d && !strings.HasSuffix(fromDomain, "."+d)) || !signsFrom(v.HeaderKeys) {
			continue
		}
		switch {
		case v.Err == nil:
			return d, nil
		case dkim.IsTempFail(v.Err):
			temporary = fmt.Errorf("%w: %s: %v", ErrDKIMTemporary, d, v.Err)
		}
	}
	return "", temporary
}

func signsFrom(keys []string) bool {
	for _, k := range keys {
		if strings.EqualFold(strings.TrimSpace(k), "from") {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
