package mailer

import (
	"bytes"
	"net/mail"
	"slices"
	"testing"
)

// FuzzBuildHeaders feeds arbitrary names, subjects and customer IDs to the
// builder: whatever they hold, the message parses and has exactly our headers.
func FuzzBuildHeaders(f *testing.F) {
	f.Add("山田 太郎", "Re: ログイン [CT-1]", "a@b", "c@d")
	f.Add("Eve\r\nBcc: x@y", "Hi\r\n\r\nbody", "a@b\r\nX-Evil: 1", "<c@d>\nTo: z@z")
	f.Add("\"quoted\" <x@y>", "=?utf-8?q?=0D=0ABcc:_x@y?=", "", "")
	f.Fuzz(func(t *testing.T, name, subject, inReplyTo, ref string) {
		m := testMessage()
		m.To.Name, m.From.Name, m.Subject, m.InReplyTo, m.References = name, name, subject, inReplyTo, []string{ref}
		raw, err := m.Bytes()
		if err != nil {
			if !IsHeaderError(err) {
				t.Fatalf("unexpected error: %v", err)
			}
			return // refused (empty subject): nothing sent
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("unparseable: %v\n%q", err, raw)
		}
		allowed := []string{"Auto-Submitted", "Content-Type", "Date", "From", "In-Reply-To", "Message-Id", "Mime-Version",
			"References", "Subject", "To", "X-Auto-Response-Suppress", "X-Mailer", "Content-Transfer-Encoding"}
		for k, v := range msg.Header {
			if !slices.Contains(allowed, k) {
				t.Fatalf("unexpected header %s: %q", k, v)
			}
			if len(v) != 1 {
				t.Fatalf("header %s %d times", k, len(v))
			}
		}
		to, err := msg.Header.AddressList("To")
		if err != nil || len(to) != 1 || to[0].Address != "taro@example.test" {
			t.Fatalf("To = %v, %v", to, err)
		}
	})
}
