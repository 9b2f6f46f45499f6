package jobs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contiple/contiple-worker/ticket"
)

// fixture reads a mail of testdata/intake.
func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "intake", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestIngestKeepsFullTextAndReplyText(t *testing.T) {
	t.Parallel()
	in := newIntake(t)
	first := in.deliver(mailFrom("山田太郎 <yamada@customer.example>", "ログインできません", "ログインできません。"))
	if first.Outcome != ticket.IngestCreated || first.TicketID != 1 {
		t.Fatalf("first: %+v", first)
	}
	for _, name := range []string{"reply_above_quote_ja.eml", "quote_only_ja.eml"} {
		if res := in.deliver(fixture(t, name)); res.TicketID != 1 {
			t.Fatalf("%s: %+v", name, res)
		}
	}
	ms := in.messages(1)
	if len(ms) != 3 {
		t.Fatalf("%d messages", len(ms))
	}
	if m := ms[0]; m.ReplyText != "ログインできません。" || m.QuoteOnly {
		t.Errorf("first mail: reply %q quote-only %v", m.ReplyText, m.QuoteOnly)
	}
	reply := ms[1]
	if reply.ReplyText != "パスワードを再設定したら入れました。\nありがとうございます。" || reply.QuoteOnly {
		t.Errorf("reply text %q (quote-only %v)", reply.ReplyText, reply.QuoteOnly)
	}
	if !strings.Contains(reply.Body, "> パスワードの再設定をお試しください。") || !strings.Contains(reply.Body, "入れました") {
		t.Errorf("full text lost: %q", reply.Body)
	}
	quote := ms[2]
	if quote.ReplyText != "" || !quote.QuoteOnly || !strings.Contains(quote.Body, "> お問い合わせありがとうございます。") {
		t.Errorf("quote-only mail: reply %q quote-only %v body %q", quote.ReplyText, quote.QuoteOnly, quote.Body)
	}
}
