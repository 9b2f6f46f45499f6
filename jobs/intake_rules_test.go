package jobs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/contiple/contiple-worker/channels/email"
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

func TestIngestContactFormMakesTicketForReplyToButOwnMailDoesNot(t *testing.T) {
	t.Parallel()
	in := newIntake(t)
	res := in.deliver(fixture(t, "contact_form7.eml"))
	if res.Outcome != ticket.IngestCreated {
		t.Fatalf("contact form: %+v", res)
	}
	tk := in.ticket(res.TicketID)
	if tk.CustomerEmail != "hanako@customer.example" || tk.CustomerName != "鈴木花子" || tk.Subject != "お問い合わせ: 請求書の再発行" {
		t.Errorf("contact form ticket: %q <%s> %q", tk.CustomerName, tk.CustomerEmail, tk.Subject)
	}
	if ms := in.messages(tk.ID); len(ms) != 1 || !strings.Contains(ms[0].ReplyText, "11月分の請求書を再発行") {
		t.Errorf("messages %+v", ms)
	}
	// Our own mail coming back is known by its Message-ID and Auto-Submitted,
	// though it names a customer and a ticket.
	if res := in.deliver(fixture(t, "own_mail_back.eml")); res.Outcome != ticket.IngestIgnored || !strings.Contains(res.Reason, "our own mail came back") {
		t.Errorf("own mail back: %+v", res)
	}
	// From our address, naming no customer: recorded, no ticket.
	if res := in.deliver(mailFrom("Support <support@example.test>", "note", "n", "Reply-To: support@example.test")); res.Outcome != ticket.IngestIgnored || !strings.Contains(res.Reason, "no customer in Reply-To") {
		t.Errorf("own address, no customer: %+v", res)
	}
	if ms := in.messages(tk.ID); len(ms) != 1 {
		t.Errorf("own mail joined the ticket: %d messages", len(ms))
	}
}

func TestIngestListMailMakesTicketsBulkMailDoesNot(t *testing.T) {
	t.Parallel()
	in := newIntake(t)
	res := in.deliver(fixture(t, "google_group.eml"))
	if res.Outcome != ticket.IngestCreated {
		t.Fatalf("Google Group mail: %+v", res)
	}
	if tk := in.ticket(res.TicketID); tk.CustomerEmail != "taro@customer.example" || tk.CustomerName != "Taro Yamada" {
		t.Errorf("Google Group ticket for %q <%s>", tk.CustomerName, tk.CustomerEmail)
	}
	for name, reason := range map[string]string{
		"newsletter_bulk.eml":     "Precedence: bulk",
		"newsletter_oneclick.eml": "newsletter: List-Unsubscribe with List-Unsubscribe-Post",
	} {
		if res := in.deliver(fixture(t, name)); res.Outcome != ticket.IngestIgnored || !strings.Contains(res.Reason, reason) {
			t.Errorf("%s: %+v, want ignored for %q", name, res, reason)
		}
	}
}

// pollAndIngest reads the Dovecot user's INBOX into the intake and ingests
// what it stored, as mail:poll and mail:ingest would.
func pollAndIngest(t *testing.T, in *intake, p *MailPoll, mi MailboxIntake) {
	t.Helper()
	cycle(t, p, mi)
	ingestPending(t, in)
}

// inboundOutcome returns the state, reason and ticket of the stored mail
// with that Message-ID (the last one, when there are several).
func inboundOutcome(t *testing.T, in *intake, messageID string) (state, reason string, ticketID int64) {
	t.Helper()
	err := in.pool.QueryRow(context.Background(), `SELECT state, error, coalesce(ticket_id, 0) FROM inbound_mails
		WHERE message_id = $1 ORDER BY id DESC LIMIT 1`, messageID).Scan(&state, &reason, &ticketID)
	if err != nil {
		t.Fatalf("inbound mail <%s>: %v", messageID, err)
	}
	return state, reason, ticketID
}

func TestIntakeFromDovecotFormsListsAndBulk(t *testing.T) {
	t.Parallel()
	u := newDovecotUser(t)
	for _, name := range []string{"contact_form7.eml", "google_group.eml", "newsletter_bulk.eml", "own_mail_back.eml"} {
		u.Append("INBOX", fixture(t, name))
	}
	in, p, mi := newPollIntake(t, u, "seen")
	pollAndIngest(t, in, p, mi)
	for _, c := range []struct{ messageID, state, customer string }{
		{"Xk2p9dQw3eRtYuIoP1aSdFgHjKl0zXcVbNm4aQ@www.example.test", ticket.InboundProcessed, "hanako@customer.example"},
		{"CAK7vQ0pXhJ2mZ9eR4tN8bW1sY6uL3cF5gD@mail.gmail.com", ticket.InboundProcessed, "taro@customer.example"},
		{"4f1c2a9e8d7b6a5c4e3f.7731.410233@mail41.atl11.rsgsv.net", ticket.InboundIgnored, ""},
		{"ct-1-5f1e2d3c4b5a6978@example.test", ticket.InboundIgnored, ""},
	} {
		state, reason, tid := inboundOutcome(t, in, c.messageID)
		if state != c.state {
			t.Errorf("<%s>: %s (%s), want %s", c.messageID, state, reason, c.state)
			continue
		}
		if c.customer != "" {
			if tk := in.ticket(tid); tk.CustomerEmail != c.customer {
				t.Errorf("<%s>: ticket for %s, want %s", c.messageID, tk.CustomerEmail, c.customer)
			}
		}
	}
}

func TestIngestDuplicatesByMessageIDAndFingerprint(t *testing.T) {
	t.Parallel()
	in := newIntake(t)
	// A different mail reusing an earlier one's Message-ID is a mail of its own.
	first := in.deliver(fixture(t, "reused_message_id_1.eml"))
	second := in.deliver(fixture(t, "reused_message_id_2.eml"))
	if first.Outcome != ticket.IngestCreated || second.Outcome != ticket.IngestCreated || first.TicketID == second.TicketID {
		t.Fatalf("reused Message-ID: %+v then %+v", first, second)
	}
	if tk := in.ticket(second.TicketID); tk.CustomerEmail != "jiro@other.example" {
		t.Errorf("second ticket for %s", tk.CustomerEmail)
	}
	// The same mail by two routes (other Received lines, line endings) is one.
	direct := in.deliver(fixture(t, "two_routes_direct.eml"))
	forwarded := in.deliver(fixture(t, "two_routes_forwarded.eml"))
	if direct.Outcome != ticket.IngestCreated || forwarded.Outcome != ticket.IngestDuplicate || forwarded.TicketID != direct.TicketID {
		t.Errorf("two routes: %+v then %+v", direct, forwarded)
	}
	// Either reused-id mail fetched again is still a duplicate.
	if again := in.deliver(fixture(t, "reused_message_id_2.eml")); again.Outcome != ticket.IngestDuplicate || again.TicketID != second.TicketID {
		t.Errorf("reused-id mail again: %+v", again)
	}
	if ms := in.messages(direct.TicketID); len(ms) != 1 {
		t.Errorf("%d messages in the two-route ticket", len(ms))
	}
}

func TestIntakeFromDovecotReusedMessageIDAndTwoRoutes(t *testing.T) {
	t.Parallel()
	u := newDovecotUser(t)
	for _, name := range []string{"reused_message_id_1.eml", "two_routes_direct.eml", "reused_message_id_2.eml", "two_routes_forwarded.eml"} {
		u.Append("INBOX", fixture(t, name))
	}
	in, p, mi := newPollIntake(t, u, "seen")
	pollAndIngest(t, in, p, mi)
	rows, err := in.pool.Query(context.Background(), `SELECT i.state, coalesce(t.customer_email, '') FROM inbound_mails i
		LEFT JOIN tickets t ON t.id = i.ticket_id ORDER BY i.uid`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var state, customer string
		rows.Scan(&state, &customer)
		got = append(got, state+" "+customer)
	}
	rows.Close()
	want := []string{"processed ichiro@customer.example", "processed mei@customer.example", "processed jiro@other.example", "duplicate mei@customer.example"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("intake: %v, want %v", got, want)
	}
}

func TestIngestSpamGoesToTheSpamBoxAndIsRestored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newIntake(t)
	in.h.Spam = map[string]email.SpamRule{"support": {Header: "X-Spam-Score", Threshold: 5}}
	for name, reason := range map[string]string{
		"spam_flagged.eml": "X-Spam-Flag: YES",
		"spam_score.eml":   "X-Spam-Score: 6.3 (threshold 5)",
	} {
		res := in.deliver(fixture(t, name))
		if res.Outcome != ticket.IngestSpam || res.TicketID == 0 {
			t.Fatalf("%s: %+v", name, res)
		}
		if st := in.ticket(res.TicketID).Status; st != ticket.StatusSpam {
			t.Errorf("%s: status %s", name, st)
		}
		evs, err := in.store.Events(ctx, res.TicketID)
		if err != nil {
			t.Fatal(err)
		}
		last := evs[len(evs)-1]
		if last.Kind != "spam" || last.To != ticket.StatusSpam || !strings.Contains(fmt.Sprint(last.Data["reason"]), reason) {
			t.Errorf("%s: last event %+v, want spam because %q", name, last, reason)
		}
	}
	// The spam box is out of the queue; restore brings a ticket back.
	queue, err := in.store.List(ctx, ticket.ListFilter{})
	if err != nil || len(queue.Tickets) != 0 {
		t.Errorf("queue: %v %v", queue, err)
	}
	tk, err := in.store.Restore(ctx, 1, "admin")
	if err != nil || tk.Status != ticket.StatusUnassigned {
		t.Errorf("restore: %+v %v", tk, err)
	}
	// Without the service's rule a score alone is not spam.
	in.h.Spam = nil
	raw := strings.Replace(fixture(t, "spam_score.eml"), "Message-ID: <8f2d1c0b-pills@", "Message-ID: <8f2d1c0b-pills-2@", 1)
	if res := in.deliver(raw); res.Outcome != ticket.IngestCreated {
		t.Errorf("score without a rule: %+v", res)
	}
}

func TestIntakeFromDovecotSpamToTheSpamBox(t *testing.T) {
	t.Parallel()
	u := newDovecotUser(t)
	u.Append("INBOX", fixture(t, "spam_flagged.eml"))
	u.Append("INBOX", fixture(t, "spam_score.eml"))
	u.Append("INBOX", fixture(t, "contact_form7.eml"))
	in, p, mi := newPollIntake(t, u, "seen")
	in.h.Spam = map[string]email.SpamRule{"support": {Header: "X-Spam-Score", Threshold: 5}}
	pollAndIngest(t, in, p, mi)
	for id, want := range map[string]ticket.Status{
		"20261124070000.prize.4411@win-prize.example":             ticket.StatusSpam,
		"8f2d1c0b-pills@cheap-pills.example":                      ticket.StatusSpam,
		"Xk2p9dQw3eRtYuIoP1aSdFgHjKl0zXcVbNm4aQ@www.example.test": ticket.StatusUnassigned,
	} {
		state, reason, tid := inboundOutcome(t, in, id)
		if state != ticket.InboundProcessed || tid == 0 {
			t.Errorf("<%s>: %s %q", id, state, reason)
			continue
		}
		if st := in.ticket(tid).Status; st != want {
			t.Errorf("<%s>: ticket %s, want %s", id, st, want)
		}
	}
	// Spam is done with: acknowledged on the server like any ingested mail.
	cycle(t, p, mi)
	for uid, flags := range u.Flags("INBOX") {
		if len(flags) != 1 {
			t.Errorf("uid %d flags %v, want \\Seen", uid, flags)
		}
	}
}

func TestMailRetryFetchesOverLimitMailFromTheServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := newDovecotUser(t)
	if err := u.Client.Create("Support", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	big := fixture(t, "large_attachment.eml")
	u.Append("Support", big)
	in, p, mi := newPollIntake(t, u, "seen")
	mi.Account.Folder = "Support"
	p.Mailboxes["support"] = mi
	p.MaxBytes = 2000
	pollAndIngest(t, in, p, mi)
	failed, err := in.store.InboundByState(ctx, []string{ticket.InboundFailed}, 10)
	if err != nil || len(failed) != 1 {
		t.Fatalf("failed: %+v %v", failed, err)
	}
	id := failed[0].ID

	// Under the same limit it is still too large, and the command says so.
	if _, err := p.Retry(ctx, id); err == nil || !strings.Contains(err.Error(), "still larger than mail.max_message_bytes") {
		t.Errorf("retry under the old limit: %v", err)
	}
	// Once the limit is raised, retry fetches it by UID and it is ingested.
	p.MaxBytes = 1 << 20
	if fetched, err := p.Retry(ctx, id); err != nil || !fetched {
		t.Fatalf("retry: %v %v", fetched, err)
	}
	ingestPending(t, in)
	state, reason, tid := inboundOutcome(t, in, "0b1c2d3e-scan@customer.example")
	if state != ticket.InboundProcessed || tid == 0 {
		t.Fatalf("after retry: %s %q", state, reason)
	}
	ms := in.messages(tid)
	var n int
	in.pool.QueryRow(ctx, "SELECT count(*) FROM message_attachments WHERE message_id = $1 AND filename = 'receipt.pdf'", ms[0].ID).Scan(&n)
	if n != 1 || !strings.Contains(ms[0].Body, "領収書のスキャンを添付します") {
		t.Errorf("ticket message %q, %d attachment(s)", ms[0].Body, n)
	}
	// A second retry finds it done; the next cycle acknowledges it on the server.
	if _, err := p.Retry(ctx, id); err == nil || !strings.Contains(err.Error(), "only failed or ignored mail") {
		t.Errorf("second retry: %v", err)
	}
	cycle(t, p, mi)
	for uid, flags := range u.Flags("Support") {
		if len(flags) != 1 || flags[0] != imap.FlagSeen {
			t.Errorf("uid %d flags %v", uid, flags)
		}
	}
}

func TestMailRetrySaysWhenTheServerNoLongerHasTheMail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := newDovecotUser(t)
	if err := u.Client.Create("Support", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	big := fixture(t, "large_attachment.eml")
	u.Append("Support", big)
	u.Append("Support", strings.Replace(big, "0b1c2d3e-scan@", "0b1c2d3e-scan-2@", 1))
	in, p, mi := newPollIntake(t, u, "seen")
	mi.Account.Folder = "Support"
	p.Mailboxes["support"] = mi
	p.MaxBytes = 2000
	pollAndIngest(t, in, p, mi)
	failed, err := in.store.InboundByState(ctx, []string{ticket.InboundFailed}, 10)
	if err != nil || len(failed) != 2 {
		t.Fatalf("failed: %+v %v", failed, err)
	}
	p.MaxBytes = 1 << 20
	// Someone deleted the first on the server.
	if _, err := u.Client.Select("Support", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	first := failed[1] // newest first
	if err := u.Client.Store(imap.UIDSetNum(imap.UID(first.UID)), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := u.Client.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Retry(ctx, first.ID); err == nil || !strings.Contains(err.Error(), "is no longer on the server: it was deleted or moved") {
		t.Errorf("deleted mail: %v", err)
	}
	// The folder is recreated: UIDs of the old UIDVALIDITY name nothing.
	if _, err := u.Client.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := u.Client.Delete("Support").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := u.Client.Create("Support", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Retry(ctx, failed[0].ID); err == nil || !strings.Contains(err.Error(), "was recreated (UIDVALIDITY") {
		t.Errorf("new UIDVALIDITY: %v", err)
	}
	// Nothing was lost: both rows are still there, failed, for a person to see.
	if still, _ := in.store.InboundByState(ctx, []string{ticket.InboundFailed}, 10); len(still) != 2 {
		t.Errorf("%d failed rows left", len(still))
	}
}
