package jobs

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/contiple/contiple-worker/channels/email"
	"github.com/contiple/contiple-worker/ticket"
)

// TestParserFixturesThroughDovecot takes every mail the parser's tests are
// written on (channels/email/testdata: the clients' interleaved text parts,
// uuencode, lying and missing charsets, addresses as mailers write them, and
// the replies written above and below the quote), delivers them into a
// Dovecot mailbox, polls and ingests them, and checks that each ticket holds
// what the parser reads: the sender, the subject, the full text, the reply
// text and the attachments' names. What the parser gets right must reach the
// helpdesk unchanged through IMAP and the database.
func TestParserFixturesThroughDovecot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var files []string
	for _, pattern := range []string{"../channels/email/testdata/*.eml", "../channels/email/testdata/replies/*.eml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 40 {
		t.Fatalf("%d fixtures found; the parser's testdata moved?", len(files))
	}
	u := newDovecotUser(t)
	raws := map[string][]byte{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		raws[f] = raw
		u.Append("INBOX", string(raw))
	}
	in, p, mi := newPollIntake(t, u, "seen")
	pollAndIngest(t, in, p, mi)

	checked := 0
	for i, f := range files {
		name := filepath.Base(f)
		parsed, err := email.Parse(raws[f], email.ParseOptions{})
		if err != nil {
			continue // the parser's own tests cover unreadable mail
		}
		// A fresh mailbox numbers the mails in the order they were appended.
		var state, reason string
		var inboundID, tid int64
		if err := in.pool.QueryRow(ctx, `SELECT id, state, error, coalesce(ticket_id, 0) FROM inbound_mails WHERE uid = $1`,
			i+1).Scan(&inboundID, &state, &reason, &tid); err != nil {
			t.Fatalf("%s (UID %d): %v", name, i+1, err)
		}
		if parsed.AutoSubmitted || parsed.Bounce || state == ticket.InboundDuplicate {
			continue
		}
		if state != ticket.InboundProcessed || tid == 0 {
			t.Errorf("%s: %s (%s), want a ticket", name, state, reason)
			continue
		}
		var msg ticket.Message
		for _, m := range in.messages(tid) {
			var from int64
			if err := in.pool.QueryRow(ctx, `SELECT coalesce(inbound_mail_id, 0) FROM ticket_messages WHERE id = $1`, m.ID).Scan(&from); err != nil {
				t.Fatal(err)
			}
			if from == inboundID {
				msg = m
			}
		}
		if msg.ID == 0 {
			t.Errorf("%s: ticket %d has no message from inbound mail %d", name, tid, inboundID)
			continue
		}
		tk := in.ticket(tid)
		if tk.CustomerEmail != parsed.From.Address && !slices.ContainsFunc(parsed.ReplyTo, func(a email.Address) bool { return a.Address == tk.CustomerEmail }) {
			t.Errorf("%s: customer %q, parser's sender %q", name, tk.CustomerEmail, parsed.From.Address)
		}
		if parsed.Subject != "" && tk.Subject != parsed.Subject && len(in.messages(tid)) == 1 {
			t.Errorf("%s: subject %q, parser's %q", name, tk.Subject, parsed.Subject)
		}
		if parsed.Text != "" && msg.Body != parsed.Text {
			t.Errorf("%s: body\n%q\nparser's text\n%q", name, msg.Body, parsed.Text)
		}
		if msg.ReplyText != parsed.ReplyText || msg.QuoteOnly != parsed.OnlyQuotes {
			t.Errorf("%s: reply text %q (only quotes %v), parser's %q (%v)", name, msg.ReplyText, msg.QuoteOnly, parsed.ReplyText, parsed.OnlyQuotes)
		}
		var want, got []string
		for _, a := range parsed.Attachments {
			want = append(want, a.Filename)
		}
		if err := in.pool.QueryRow(ctx, `SELECT coalesce(array_agg(filename ORDER BY id), '{}') FROM message_attachments
			WHERE message_id = $1 AND filename <> 'original.eml'`, msg.ID).Scan(&got); err != nil {
			t.Fatal(err)
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			t.Errorf("%s: attachments %q, parser's %q", name, got, want)
		}
		checked++
	}
	if checked < 45 {
		t.Errorf("only %d of %d fixtures became tickets to check", checked, len(files))
	}
	t.Logf("%d of %d fixtures checked through Dovecot", checked, len(files))
}
