package email

import (
	"strings"
	"testing"
)

func TestFingerprintIgnoresTraceFieldsNotContent(t *testing.T) {
	t.Parallel()
	base := "From: a@example.com\r\nDate: Tue, 24 Nov 2026 10:00:00 +0900\r\nSubject: help\r\nMessage-ID: <x@example.com>\r\n\r\nbody line\r\n"
	want := Fingerprint([]byte(base))
	same := map[string]string{
		"relayed":       "Received: from relay.example (relay.example [192.0.2.1])\r\n\tby mx.example.test; Tue, 24 Nov 2026 10:00:05 +0900\r\nReturn-Path: <b@example.com>\r\nX-Spam-Status: No\r\n" + base,
		"LF endings":    strings.ReplaceAll(base, "\r\n", "\n"),
		"refolded":      strings.Replace(base, "Date: Tue, 24 Nov", "Date: Tue,\r\n 24 Nov", 1),
		"trailing line": base + "\r\n",
	}
	for name, raw := range same {
		if got := Fingerprint([]byte(raw)); got != want {
			t.Errorf("%s: fingerprint differs", name)
		}
	}
	differ := map[string]string{
		"other body":    strings.Replace(base, "body line", "another question", 1),
		"other sender":  strings.Replace(base, "From: a@", "From: b@", 1),
		"other date":    strings.Replace(base, "10:00:00", "10:00:01", 1),
		"other subject": strings.Replace(base, "Subject: help", "Subject: help!", 1),
	}
	for name, raw := range differ {
		if Fingerprint([]byte(raw)) == want {
			t.Errorf("%s: same fingerprint", name)
		}
	}
}
