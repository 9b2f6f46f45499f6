package demo

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/text/encoding/japanese"

	"github.com/contiple/contiple-worker/channels/email"
)

// returns the mail with messageID, or nil when it has not arrived.
func (s *Story) fetchMail(ctx context.Context, user, messageID string) (*Mail, error) {
	host, port, err := demoSplitHostPort(s.World.Env.IMAPAddr)
	if err != nil {
		return nil, err
	}
	mb, err := email.Dial(ctx, email.Account{Host: host, Port: port, TLS: email.TLSNone, Username: user,
		Password: s.World.Env.IMAPPassword, Folder: "INBOX", NoIdle: true, Timeout: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	defer mb.Close()
	var found *Mail
	err = mb.Fetch(ctx, 0, 0, 0, func(f email.Fetched) error {
		if found != nil || f.Raw == nil {
			return nil
		}
		p, err := email.Parse(f.Raw, email.ParseOptions{})
		if err != nil || p.MessageID != messageID {
			return nil
		}
		m, err := mail.ReadMessage(bytes.NewReader(f.Raw))
		if err != nil {
			return err
		}
		found = &Mail{Parsed: p, Header: m.Header, Raw: f.Raw}
		return nil
	})
	return found, err
}

// demoUser is the Dovecot user of an address: its local part.
func demoUser(address string) string {
	local, _, _ := strings.Cut(address, "@")
	return local
}

// compose writes a mail from the customer, as a mail client of their language
// would: ISO-2022-JP (7bit), UTF-8 (base64) or US-ASCII.
func (c *Customer) compose(to, subject, body, messageID, inReplyTo string, refs []string) ([]byte, error) {
	word := func(s string) (string, error) { return s, nil }
	text := strings.ReplaceAll(body, "\n", "\r\n")
	cte := "7bit"
	switch c.Charset {
	case "ISO-2022-JP":
		enc := japanese.ISO2022JP.NewEncoder()
		word = func(s string) (string, error) {
			b, err := enc.String(s)
			return mime.BEncoding.Encode("ISO-2022-JP", b), err
		}
		var err error
		if text, err = enc.String(text); err != nil {
			return nil, err
		}
	case "UTF-8":
		word = func(s string) (string, error) { return mime.BEncoding.Encode("UTF-8", s), nil }
		b64 := base64.StdEncoding.EncodeToString([]byte(text))
		var wrapped strings.Builder
		for len(b64) > 76 {
			wrapped.WriteString(b64[:76] + "\r\n")
			b64 = b64[76:]
		}
		wrapped.WriteString(b64 + "\r\n")
		text, cte = wrapped.String(), "base64"
	}
	name, err := word(c.Name)
	if err != nil {
		return nil, err
	}
	subj, err := word(subject)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s <%s>\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s>\r\n",
		name, c.Address, to, subj, time.Now().Format(time.RFC1123Z), messageID)
	if inReplyTo != "" {
		fmt.Fprintf(&b, "In-Reply-To: <%s>\r\n", inReplyTo)
	}
	if len(refs) > 0 {
		fmt.Fprintf(&b, "References: <%s>\r\n", strings.Join(refs, "> <"))
	}
	fmt.Fprintf(&b, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=%s\r\nContent-Transfer-Encoding: %s\r\n\r\n%s", c.Charset, cte, text)
	return []byte(b.String()), nil
}

// demoSendMail submits raw to the SMTP server at addr, as a customer's mail client.
func demoSendMail(ctx context.Context, addr, from, to string, raw []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.Hello("customer.invalid"); err != nil {
		return err
	}
	if err := c.SendMail(from, []string{to}, bytes.NewReader(raw)); err != nil {
		return err
	}
	return c.Quit()
}
