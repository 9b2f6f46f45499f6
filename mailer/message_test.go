package mailer

import (
	"bytes"
	"io"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"

	_ "github.com/emersion/go-message/charset"
	gomail "github.com/emersion/go-message/mail"
)

func testMessage() *Message {
	return &Message{
		From:       Person{Name: "サポート窓口", Address: "support@example.test"},
		To:         Person{Name: "山田 太郎", Address: "taro@example.test"},
		MessageID:  "ct-42-0123456789abcdef@example.test",
		InReplyTo:  "<cust-2@mail.example.jp>",
		References: []string{"cust-1@mail.example.jp", "<cust-2@mail.example.jp>"},
		Subject:    "Re: ログインできません [CT-42]",
		Text:       "山田 太郎 様\n\nご回答いたします。\n",
		HTML:       "<p>山田 太郎 様</p>",
		Date:       time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC),
	}
}

// parsed is a built message read back as a client would.
type parsed struct {
	header mail.Header
	raw    string
	text   string
	html   string
	subj   string
	from   []*gomail.Address
	to     []*gomail.Address
}

func readBack(t *testing.T, raw []byte) parsed {
	t.Helper()
	p := parsed{raw: string(raw)}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail cannot read the message: %v\n%s", err, raw)
	}
	p.header = m.Header
	mr, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if p.subj, err = mr.Header.Subject(); err != nil {
		t.Fatal(err)
	}
	p.from, _ = mr.Header.AddressList("From")
	p.to, _ = mr.Header.AddressList("To")
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(part.Body)
		ct, _, _ := part.Header.(*gomail.InlineHeader).ContentType()
		switch ct {
		case "text/plain":
			p.text = string(b)
		case "text/html":
			p.html = string(b)
		}
	}
	return p
}

func TestBuildThreadsAndEncodes(t *testing.T) {
	t.Parallel()
	raw, err := testMessage().Bytes()
	if err != nil {
		t.Fatal(err)
	}
	p := readBack(t, raw)
	for field, want := range map[string]string{
		"Message-Id":               "<ct-42-0123456789abcdef@example.test>",
		"In-Reply-To":              "<cust-2@mail.example.jp>",
		"References":               "<cust-1@mail.example.jp> <cust-2@mail.example.jp>",
		"Auto-Submitted":           "auto-replied",
		"X-Auto-Response-Suppress": "All",
		"Mime-Version":             "1.0",
	} {
		if got := p.header.Get(field); got != want {
			t.Errorf("%s: %q, want %q", field, got, want)
		}
	}
	if p.subj != "Re: ログインできません [CT-42]" {
		t.Errorf("decoded subject %q", p.subj)
	}
	if raw := p.header.Get("Subject"); !strings.HasPrefix(raw, "=?UTF-8?b?") && !strings.HasPrefix(raw, "=?UTF-8?B?") {
		t.Errorf("subject is not B-encoded UTF-8: %q", raw)
	}
	if len(p.from) != 1 || p.from[0].Name != "サポート窓口" || p.from[0].Address != "support@example.test" {
		t.Errorf("From %v", p.from)
	}
	if len(p.to) != 1 || p.to[0].Name != "山田 太郎" || p.to[0].Address != "taro@example.test" {
		t.Errorf("To %v", p.to)
	}
	if !strings.HasPrefix(p.header.Get("From"), "=?") {
		t.Errorf("From name is not RFC 2047 encoded: %q", p.header.Get("From"))
	}
	mt, _, _ := mime.ParseMediaType(p.header.Get("Content-Type"))
	if mt != "multipart/alternative" || !strings.Contains(p.text, "ご回答いたします。") || p.html != "<p>山田 太郎 様</p>" {
		t.Errorf("body: %s, text %q, html %q", mt, p.text, p.html)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line longer than 998 octets: %.80s…", line)
		}
		for _, c := range []byte(line) {
			if c >= 0x80 {
				t.Fatalf("8-bit byte in the message: %q", line)
			}
		}
	}
}

func TestBuildTextOnlyAndLongReferences(t *testing.T) {
	t.Parallel()
	m := testMessage()
	m.HTML = ""
	m.References = nil
	for i := 0; i < 30; i++ {
		m.References = append(m.References, "r"+strings.Repeat("x", i)+"@example.jp")
	}
	raw, err := m.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	p := readBack(t, raw)
	mt, _, _ := mime.ParseMediaType(p.header.Get("Content-Type"))
	if mt != "text/plain" {
		t.Errorf("content type %s, want text/plain", mt)
	}
	refs := strings.Fields(p.header.Get("References"))
	if len(refs) != maxReferences || refs[0] != "<r@example.jp>" || refs[len(refs)-1] != "<r"+strings.Repeat("x", 29)+"@example.jp>" {
		t.Errorf("References kept %d: first %s last %s", len(refs), refs[0], refs[len(refs)-1])
	}
}

// Nothing a customer or a template controls can add a header.
func TestHeaderInjectionIsImpossible(t *testing.T) {
	t.Parallel()
	evil := "\r\nBcc: victim@example.test\r\nX-Injected: yes"
	for _, tc := range []struct {
		name string
		edit func(m *Message)
	}{
		{"customer name", func(m *Message) { m.To.Name = "Taro" + evil }},
		{"customer name, Japanese", func(m *Message) { m.To.Name = "山田" + evil }},
		{"service name", func(m *Message) { m.From.Name = "Support" + evil }},
		{"subject", func(m *Message) { m.Subject = "Hello" + evil }},
		{"subject with bare LF", func(m *Message) { m.Subject = "Hello\nBcc: victim@example.test\nX-Injected: yes" }},
		{"in-reply-to", func(m *Message) { m.InReplyTo = "a@b" + evil }},
		{"references", func(m *Message) { m.References = []string{"a@b" + evil, "c@d"} }},
		{"text body", func(m *Message) { m.Text = "line\r\n.\r\nBcc: victim@example.test\r\nX-Injected: yes\r\n" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testMessage()
			tc.edit(m)
			raw, err := m.Bytes()
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			p := readBack(t, raw)
			if p.header.Get("Bcc") != "" || p.header.Get("X-Injected") != "" {
				t.Fatalf("header injected:\n%s", raw)
			}
			head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
			if strings.Contains(head, "\nBcc:") || strings.Contains(head, "\nX-Injected:") {
				t.Fatalf("header injected:\n%s", head)
			}
			if len(p.to) != 1 || p.to[0].Address != "taro@example.test" {
				t.Errorf("To became %v", p.to)
			}
		})
	}
	// Addresses and our own ID cannot be repaired: they are refused.
	for _, tc := range []struct {
		name string
		edit func(m *Message)
	}{
		{"recipient address", func(m *Message) { m.To.Address = "taro@example.test" + evil }},
		{"recipient with a name", func(m *Message) { m.To.Address = "Eve <eve@example.test>, victim@example.test" }},
		{"sender address", func(m *Message) { m.From.Address = "support@example.test\nBcc: x@y" }},
		{"message id", func(m *Message) { m.MessageID = "ct-1-ab@example.test" + evil }},
		{"no message id", func(m *Message) { m.MessageID = "" }},
	} {
		t.Run("refused "+tc.name, func(t *testing.T) {
			m := testMessage()
			tc.edit(m)
			_, err := m.Bytes()
			if !IsHeaderError(err) || !IsPermanent(err) {
				t.Fatalf("Bytes() = %v, want a permanent *HeaderError", err)
			}
		})
	}
}
