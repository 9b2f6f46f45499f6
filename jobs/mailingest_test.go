package jobs

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/contiple/contiple-worker/channels/email"
	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/mailer"
	"github.com/contiple/contiple-worker/ticket"
)

// intake is a database with one service and its mailbox, and the ingest handler.
type intake struct {
	t       testing.TB
	pool    *pgxpool.Pool
	store   *ticket.Store
	h       *MailIngest
	mailbox ticket.Mailbox
	uid     uint32
}

func newIntake(t testing.TB, triggers ...ticket.Trigger) *intake {
	t.Helper()
	ctx := context.Background()
	pool := testenv.NewDatabase(t)
	store := ticket.NewStore(pool, nil)
	if err := store.SyncServices(ctx, []ticket.ServiceDef{{Key: "support", Name: "サポート", Address: "support@example.test",
		Locale: "ja", Mailbox: &ticket.MailboxDef{Host: "127.0.0.1", Port: 1143, Username: "support", Folder: "INBOX"},
		Triggers: triggers}}); err != nil {
		t.Fatal(err)
	}
	mb, err := store.Mailbox(ctx, "support")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SetUIDValidity(ctx, mb.ID, 7); err != nil {
		t.Fatal(err)
	}
	h := &MailIngest{Store: store, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return &intake{t: t, pool: pool, store: store, h: h, mailbox: mb}
}

// deliver stores raw as the mailbox's next UID and ingests it.
func (in *intake) deliver(raw string) ticket.IngestResult {
	in.t.Helper()
	ctx := context.Background()
	in.uid++
	ids, err := in.store.SaveFetched(ctx, in.mailbox.ID, 7, []ticket.Fetched{{UID: in.uid, Raw: []byte(raw), Size: int64(len(raw))}})
	if err != nil || len(ids) != 1 {
		in.t.Fatalf("save: %v %v", ids, err)
	}
	res, err := in.h.Ingest(ctx, ids[0])
	if err != nil {
		in.t.Fatal(err)
	}
	return res
}

func mailFrom(from, subject, body string, headers ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: support@example.test\r\nSubject: %s\r\nDate: Tue, 24 Nov 2026 10:00:00 +0900\r\n", from, subject)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n")
	return b.String()
}

func (in *intake) ticket(id int64) ticket.Ticket {
	in.t.Helper()
	tk, err := in.store.Get(context.Background(), id)
	if err != nil {
		in.t.Fatal(err)
	}
	return tk
}

func (in *intake) messages(id int64) []ticket.Message {
	in.t.Helper()
	ms, err := in.store.Messages(context.Background(), id)
	if err != nil {
		in.t.Fatal(err)
	}
	return ms
}

func (in *intake) eventKinds(id int64) []string {
	in.t.Helper()
	evs, err := in.store.Events(context.Background(), id)
	if err != nil {
		in.t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
	}
	return kinds
}

func TestIngestCreatesTicketFromJapaneseMail(t *testing.T) {
	t.Parallel()
	in := newIntake(t)
	// ISO-2022-JP subject and body, a Reply-To, and an attachment.
	raw := "From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <yamada@example.jp>\r\n" +
		"Reply-To: yamada.home@example.jp\r\n" +
		"To: support@example.test\r\n" +
		"Subject: =?ISO-2022-JP?B?GyRCJDRBakNMGyhC?=\r\n" +
		"Message-ID: <first@example.jp>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n\r\n\x1b$B$3$s$K$A$O\x1b(B\r\n" +
		"--b\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n--b--\r\n"
	res := in.deliver(raw)
	if res.Outcome != ticket.IngestCreated {
		t.Fatalf("outcome %+v", res)
	}
	tk := in.ticket(res.TicketID)
	if tk.Status != ticket.StatusUnassigned || tk.Channel != ticket.ChannelEmail || tk.Service != "support" {
		t.Errorf("ticket %+v", tk)
	}
	if tk.Subject != "ご相談" || tk.CustomerName != "山田" || tk.CustomerEmail != "yamada.home@example.jp" {
		t.Errorf("subject %q customer %q <%s>", tk.Subject, tk.CustomerName, tk.CustomerEmail)
	}
	ms := in.messages(tk.ID)
	if len(ms) != 1 || !strings.Contains(ms[0].Body, "こんにちは") || ms[0].MailMessageID != "first@example.jp" {
		t.Fatalf("messages %+v", ms)
	}
	var name string
	var size int
	if err := in.pool.QueryRow(context.Background(), `SELECT a.filename, b.size FROM message_attachments a
		JOIN attachments b ON b.sha256 = a.sha256 WHERE a.message_id = $1`, ms[0].ID).Scan(&name, &size); err != nil {
		t.Fatal(err)
	}
	if name != "a.pdf" || size != 8 {
		t.Errorf("attachment %q %d", name, size)
	}
	var state string
	var ticketID int64
	if err := in.pool.QueryRow(context.Background(), "SELECT state, ticket_id FROM inbound_mails").Scan(&state, &ticketID); err != nil {
		t.Fatal(err)
	}
	if state != "processed" || ticketID != tk.ID {
		t.Errorf("inbound row %s ticket %d", state, ticketID)
	}
}

func TestIngestThreadsReplyToOurMailAndReopens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newIntake(t)
	first := in.deliver(mailFrom("Kim <kim@example.kr>", "문의", "안녕하세요", "Message-ID: <q1@example.kr>"))
	id := first.TicketID
	if _, err := in.store.Assign(ctx, id, ticket.Assignment{Operator: "lee"}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.store.Resolve(ctx, id, ticket.Note{Text: "해결했습니다", Actor: "lee"}); err != nil {
		t.Fatal(err)
	}
	var ours string
	if err := in.pool.QueryRow(ctx, "SELECT mail_message_id FROM outbound_mails WHERE ticket_id = $1", id).Scan(&ours); err != nil {
		t.Fatal(err)
	}
	// The customer changed the subject: only In-Reply-To/References thread it.
	res := in.deliver(mailFrom("Kim <kim@example.kr>", "다른 제목", "아직 안 됩니다",
		"Message-ID: <q2@example.kr>", "In-Reply-To: <"+ours+">", "References: <q1@example.kr> <"+ours+">"))
	if res.Outcome != ticket.IngestReopened || res.TicketID != id {
		t.Fatalf("reply: %+v", res)
	}
	if tk := in.ticket(id); tk.Status != ticket.StatusInProgress {
		t.Errorf("status %s, want in_progress (assigned)", tk.Status)
	}
	// A further reply to the customer's own message threads without a status change.
	res = in.deliver(mailFrom("Kim <kim@example.kr>", "Re", "추가", "In-Reply-To: <q2@example.kr>"))
	if res.Outcome != ticket.IngestThreaded || res.TicketID != id {
		t.Fatalf("second reply: %+v", res)
	}
	if got := len(in.messages(id)); got != 4 { // customer, resolve, reply, reply
		t.Errorf("%d messages", got)
	}
	kinds := in.eventKinds(id)
	if !strings.Contains(strings.Join(kinds, ","), "customer_reply") || kinds[len(kinds)-1] != "customer_message" {
		t.Errorf("events %v", kinds)
	}
}

func TestIngestMarkerThreadsOnlyForTheTicketsCustomer(t *testing.T) {
	t.Parallel()
	in := newIntake(t)
	id := in.deliver(mailFrom("a@example.jp", "help", "hi")).TicketID
	marker := ticket.Marker(id)
	if res := in.deliver(mailFrom("A <A@Example.jp>", "Re: "+marker+" help", "more")); res.TicketID != id || res.Outcome != ticket.IngestThreaded {
		t.Errorf("customer with marker: %+v", res)
	}
	// Fullwidth marker typed by hand.
	if res := in.deliver(mailFrom("a@example.jp", "［ＣＴ－"+fmt.Sprint(id)+"］", "again")); res.TicketID != id {
		t.Errorf("fullwidth marker: %+v", res)
	}
	if res := in.deliver(mailFrom("stranger@example.com", "Re: "+marker+" help", "me too")); res.Outcome != ticket.IngestCreated || res.TicketID == id {
		t.Errorf("stranger with marker: %+v", res)
	}
}

func TestIngestLoopsAndAutoRepliesAreRecordedNotTicketed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newIntake(t)
	for _, c := range []struct {
		raw, reason string
	}{
		{mailFrom("bot@example.com", "Out of office", "away", "Auto-Submitted: auto-replied"), "Auto-Submitted"},
		{mailFrom("list@example.com", "news", "n", "Precedence: bulk"), "Precedence"},
		{mailFrom("list@example.com", "weekly", "w", "List-Unsubscribe: <mailto:u@example.com>", "List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "newsletter"},
		{mailFrom("Support <SUPPORT@example.test>", "loop", "l"), "our own address"},
	} {
		res := in.deliver(c.raw)
		if res.Outcome != ticket.IngestIgnored || !strings.Contains(res.Reason, c.reason) {
			t.Errorf("%s: %+v", c.reason, res)
		}
	}
	var n int
	if err := in.pool.QueryRow(ctx, "SELECT count(*) FROM tickets").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d tickets, %v", n, err)
	}
	if err := in.pool.QueryRow(ctx, "SELECT count(*) FROM inbound_mails WHERE state = 'ignored' AND error <> ''").Scan(&n); err != nil || n != 4 {
		t.Errorf("%d ignored rows with a reason, %v", n, err)
	}

	// An out-of-office answer to our resolve mail joins the ticket but does not reopen it.
	id := in.deliver(mailFrom("c@example.jp", "q", "q", "Message-ID: <c1@example.jp>")).TicketID
	if _, err := in.store.Assign(ctx, id, ticket.Assignment{Operator: "op"}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.store.Resolve(ctx, id, ticket.Note{Text: "done"}); err != nil {
		t.Fatal(err)
	}
	res := in.deliver(mailFrom("c@example.jp", "Auto: q", "I am away", "Auto-Submitted: auto-replied", "In-Reply-To: <c1@example.jp>"))
	if res.Outcome != ticket.IngestThreaded || in.ticket(id).Status != ticket.StatusResolved {
		t.Errorf("auto-reply in thread: %+v, status %s", res, in.ticket(id).Status)
	}
}

func TestIngestBounceMarksAddressAndTicket(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newIntake(t)
	id := in.deliver(mailFrom("gone@example.jp", "q", "q")).TicketID
	if _, err := in.store.Assign(ctx, id, ticket.Assignment{Operator: "op"}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.store.Hold(ctx, id, ticket.Note{Text: "wait"}); err != nil {
		t.Fatal(err)
	}
	var ours string
	if err := in.pool.QueryRow(ctx, "SELECT mail_message_id FROM outbound_mails WHERE ticket_id = $1", id).Scan(&ours); err != nil {
		t.Fatal(err)
	}
	report := "From: MAILER-DAEMON@mx.example.test\r\nTo: support@example.test\r\nSubject: Undelivered Mail Returned to Sender\r\n" +
		"Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n" +
		"--r\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n" +
		"--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.test\r\n\r\n" +
		"Final-Recipient: rfc822; gone@example.jp\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 no such user\r\n" +
		"--r\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <" + ours + ">\r\nTo: gone@example.jp\r\n--r--\r\n"
	res := in.deliver(report)
	if res.Outcome != ticket.IngestBounce || res.TicketID != id {
		t.Fatalf("bounce: %+v", res)
	}
	var reason string
	if err := in.pool.QueryRow(ctx, "SELECT reason FROM failing_addresses WHERE address = 'gone@example.jp'").Scan(&reason); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(reason, "5.1.1") {
		t.Errorf("reason %q", reason)
	}
	if kinds := in.eventKinds(id); kinds[len(kinds)-1] != "bounce" {
		t.Errorf("events %v", kinds)
	}
	if in.ticket(id).Status != ticket.StatusOnHold {
		t.Errorf("a bounce changed the status")
	}
}

func TestIngestTwiceAndDuplicatesMakeOneTicket(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newIntake(t)
	raw := mailFrom("d@example.jp", "dup", "same", "Message-ID: <dup@example.jp>")
	res := in.deliver(raw)
	// The same row again (a retried task): nothing happens.
	var rowID int64
	if err := in.pool.QueryRow(ctx, "SELECT id FROM inbound_mails").Scan(&rowID); err != nil {
		t.Fatal(err)
	}
	again, err := in.h.Ingest(ctx, rowID)
	if err != nil || again.Outcome != ticket.IngestDone {
		t.Errorf("again: %+v %v", again, err)
	}
	// The folder's UIDVALIDITY changed: the same mail comes under a new UID.
	if changed, err := in.store.SetUIDValidity(ctx, in.mailbox.ID, 8); err != nil || !changed {
		t.Fatal(changed, err)
	}
	ids, err := in.store.SaveFetched(ctx, in.mailbox.ID, 8, []ticket.Fetched{{UID: 1, Raw: []byte(raw), Size: int64(len(raw))}})
	if err != nil {
		t.Fatal(err)
	}
	dup, err := in.h.Ingest(ctx, ids[0])
	if err != nil || dup.Outcome != ticket.IngestDuplicate || dup.TicketID != res.TicketID {
		t.Errorf("after UIDVALIDITY change: %+v %v", dup, err)
	}
	// Fetching the same UID twice stores it once.
	ids, err = in.store.SaveFetched(ctx, in.mailbox.ID, 8, []ticket.Fetched{{UID: 1, Raw: []byte(raw), Size: int64(len(raw))}})
	if err != nil || len(ids) != 0 {
		t.Errorf("refetch stored %v, %v", ids, err)
	}
	var n int
	if err := in.pool.QueryRow(ctx, "SELECT count(*) FROM tickets").Scan(&n); err != nil || n != 1 {
		t.Errorf("%d tickets", n)
	}
}

func TestIngestPoisonMailIsKeptWithTicketAndRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newIntake(t)
	in.h.Parse = email.ParseOptions{MaxSize: 200}
	raw := mailFrom("p@example.jp", "big one", strings.Repeat("x", 400))
	res := in.deliver(raw)
	if res.Outcome != ticket.IngestFailed || res.TicketID == 0 || !strings.Contains(res.Reason, "too large") {
		t.Fatalf("poison: %+v", res)
	}
	ms := in.messages(res.TicketID)
	if len(ms) != 1 || !strings.Contains(ms[0].Body, "original.eml") {
		t.Errorf("messages %+v", ms)
	}
	var eml []byte
	if err := in.pool.QueryRow(ctx, `SELECT b.data FROM message_attachments a JOIN attachments b ON b.sha256 = a.sha256
		WHERE a.message_id = $1 AND a.filename = 'original.eml'`, ms[0].ID).Scan(&eml); err != nil {
		t.Fatal(err)
	}
	if string(eml) != raw {
		t.Errorf("raw not attached intact")
	}
	failed, err := in.store.InboundByState(ctx, []string{ticket.InboundFailed}, 10)
	if err != nil || len(failed) != 1 || failed[0].Error == "" {
		t.Fatalf("failed list %+v %v", failed, err)
	}
	// The operator raises the limit and retries: the same ticket gets the real text.
	in.h.Parse = email.ParseOptions{}
	if err := in.store.RetryInbound(ctx, failed[0].ID); err != nil {
		t.Fatal(err)
	}
	again, err := in.h.Ingest(ctx, failed[0].ID)
	if err != nil || again.TicketID != res.TicketID {
		t.Fatalf("retry: %+v %v", again, err)
	}
	if ms := in.messages(res.TicketID); len(ms) != 1 || !strings.Contains(ms[0].Body, "xxxx") {
		t.Errorf("after retry %+v", ms)
	}
	if err := in.store.RetryInbound(ctx, failed[0].ID); err == nil {
		t.Errorf("retrying a processed mail was accepted")
	}
	if ops, err := in.store.Operations(ctx); err != nil || ops.InboundByState["failed"] != 0 || ops.MailboxFetchAge["support"] < 0 {
		t.Errorf("operations after the retry: %+v %v", ops, err)
	}
	// A mail with no sender at all is kept without a ticket.
	in.h.Parse = email.ParseOptions{MaxSize: 10}
	if res := in.deliver("Subject: nobody\r\n\r\n" + strings.Repeat("y", 50)); res.Outcome != ticket.IngestFailed || res.TicketID != 0 {
		t.Errorf("senderless poison: %+v", res)
	}
}

func TestIngestAfterCompletedMakesFollowUpTicket(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newIntake(t)
	id := in.deliver(mailFrom("f@example.jp", "q", "q", "Message-ID: <f1@example.jp>")).TicketID
	if _, err := in.store.Assign(ctx, id, ticket.Assignment{Operator: "op"}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.store.InternalResolve(ctx, id, ticket.Note{}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := in.store.Complete(ctx, id, "admin"); err != nil {
		t.Fatal(err)
	}
	res := in.deliver(mailFrom("f@example.jp", "Re: q", "new problem", "In-Reply-To: <f1@example.jp>"))
	if res.Outcome != ticket.IngestCreated || res.TicketID == id {
		t.Fatalf("%+v", res)
	}
	if kinds := in.eventKinds(res.TicketID); !strings.Contains(strings.Join(kinds, ","), "follows") {
		t.Errorf("events %v", kinds)
	}
}

func TestTriggersAssignInSequenceAndSetPriority(t *testing.T) {
	t.Parallel()
	in := newIntake(t,
		ticket.Trigger{Name: "vip", FromDomains: []string{"vip.example.jp"}, AssignTo: "boss", Priority: "urgent"},
		ticket.Trigger{Name: "refund", SubjectContains: []string{"返金"}, Priority: "high"},
		ticket.Trigger{Name: "rotation", Channels: []string{"email"}, AssignSequence: []string{"ito", "kato"}},
	)
	var got []string
	for i := range 3 {
		res := in.deliver(mailFrom(fmt.Sprintf("c%d@example.jp", i), "返金について", "please"))
		tk := in.ticket(res.TicketID)
		if tk.Priority != ticket.PriorityHigh || tk.Status != ticket.StatusInProgress {
			t.Errorf("ticket %d: %s %s", tk.ID, tk.Priority, tk.Status)
		}
		got = append(got, tk.Assignee)
	}
	if strings.Join(got, ",") != "ito,kato,ito" {
		t.Errorf("rotation %v", got)
	}
	vip := in.ticket(in.deliver(mailFrom("ceo@mail.vip.example.jp", "hello", "hi")).TicketID)
	if vip.Assignee != "boss" || vip.Priority != ticket.PriorityUrgent {
		t.Errorf("vip %+v", vip)
	}
	if kinds := in.eventKinds(vip.ID); strings.Join(kinds, ",") != "created,assign,trigger,trigger" {
		t.Errorf("events %v", kinds)
	}
}

func TestIngestSameMailTwiceAtOnceMakesOneTicket(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	raw := mailFrom("alice@example.org", "Help", "body", "Message-ID: <same-1@example.org>")
	// An alias and a direct delivery: two UIDs, one Message-ID, ingested at
	// the same time; the same bytes, or other Received lines.
	copies := [][2]string{{raw, raw}, {fixture(t, "two_routes_direct.eml"), fixture(t, "two_routes_forwarded.eml")}}
	for round := range 6 {
		in := newIntake(t)
		a, b := copies[round%2][0], copies[round%2][1]
		ids, err := in.store.SaveFetched(ctx, in.mailbox.ID, 7, []ticket.Fetched{
			{UID: 1, Raw: []byte(a), Size: int64(len(a))}, {UID: 2, Raw: []byte(b), Size: int64(len(b))}})
		if err != nil {
			t.Fatal(err)
		}
		outcomes := make([]string, 2)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() {
				res, err := in.h.Ingest(ctx, ids[i])
				if err != nil {
					t.Error(err)
				}
				outcomes[i] = res.Outcome
			})
		}
		wg.Wait()
		slices.Sort(outcomes)
		var n int
		in.pool.QueryRow(ctx, "SELECT count(*) FROM tickets").Scan(&n)
		if n != 1 || outcomes[0] != ticket.IngestCreated || outcomes[1] != ticket.IngestDuplicate {
			t.Fatalf("round %d: %d tickets, outcomes %v", round, n, outcomes)
		}
	}
}

func TestIngestForgedTicketNumberDoesNotJoinAnotherCustomersTicket(t *testing.T) {
	t.Parallel()
	in := newIntake(t)
	alice := in.deliver(mailFrom("alice@example.org", "Alice's problem", "private", "Message-ID: <a1@example.org>"))
	forged := in.deliver(mailFrom("mallory@evil.example", "hi", "let me in", "Message-ID: <m1@evil.example>",
		fmt.Sprintf("References: <ct-%d-abcdef@support.example.test>", alice.TicketID)))
	if forged.TicketID == alice.TicketID || forged.Outcome != ticket.IngestCreated {
		t.Fatalf("forged token: %+v joined ticket %d", forged, alice.TicketID)
	}
	// Alice herself quoting the same token does join.
	own := in.deliver(mailFrom("alice@example.org", "again", "more", fmt.Sprintf("References: <ct-%d-abcdef@support.example.test>", alice.TicketID)))
	if own.TicketID != alice.TicketID {
		t.Errorf("the ticket's own customer: %+v", own)
	}
}

func TestIngestBouncesMarkOnlyOurRecipient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newIntake(t)
	report := func(failedTo, action, original string) string {
		return "From: MAILER-DAEMON@mx.example.test\r\nTo: support@example.test\r\nSubject: report\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n--r\r\nContent-Type: text/plain\r\n\r\nx\r\n" +
			"--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.test\r\n\r\n" +
			"Final-Recipient: rfc822; " + failedTo + "\r\nAction: " + action + "\r\nStatus: 5.1.1\r\n" +
			"--r\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <" + original + ">\r\n--r--\r\n"
	}
	// Backscatter: a report about a mail we never sent marks nobody.
	if res := in.deliver(report("victim@example.jp", "failed", "spam@elsewhere.example")); res.Outcome != ticket.IngestBounce || res.TicketID != 0 {
		t.Errorf("unmatched: %+v", res)
	}
	id := in.deliver(mailFrom("cust@example.jp", "q", "q")).TicketID
	if _, err := in.store.Assign(ctx, id, ticket.Assignment{Operator: "op"}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.store.Hold(ctx, id, ticket.Note{Text: "wait"}); err != nil {
		t.Fatal(err)
	}
	var ours string
	in.pool.QueryRow(ctx, "SELECT mail_message_id FROM outbound_mails WHERE ticket_id = $1", id).Scan(&ours)
	// A delayed delivery is no failure.
	if res := in.deliver(report("cust@example.jp", "delayed", ours)); res.Outcome != ticket.IngestIgnored {
		t.Errorf("delayed: %+v", res)
	}
	// A report naming someone else than our recipient marks nobody.
	if res := in.deliver(report("other@example.jp", "failed", ours)); res.TicketID != id || !strings.Contains(res.Reason, "nothing marked") {
		t.Errorf("other recipient: %+v", res)
	}
	marked := func() []string {
		var out []string
		rows, _ := in.pool.Query(ctx, "SELECT address FROM failing_addresses ORDER BY address")
		for rows.Next() {
			var a string
			rows.Scan(&a)
			out = append(out, a)
		}
		rows.Close()
		return out
	}
	if m := marked(); len(m) != 0 {
		t.Errorf("marked as failing: %v", m)
	}
	// qmail's plain-text bounce names no recipient in a report: it is about our mail's recipient.
	qmail := "From: MAILER-DAEMON@mx.example.jp\r\nTo: support@example.test\r\nSubject: failure notice\r\n\r\n" +
		"Hi. This is the qmail-send program at mx.example.jp.\r\nI'm afraid I wasn't able to deliver your message.\r\n\r\n" +
		"--- Below this line is a copy of the message.\r\n\r\nMessage-ID: <" + ours + ">\r\nSubject: Re: q\r\n\r\nwait\r\n"
	if res := in.deliver(qmail); res.Outcome != ticket.IngestBounce || res.TicketID != id {
		t.Errorf("qmail bounce: %+v", res)
	}
	if m := marked(); len(m) != 1 || m[0] != "cust@example.jp" {
		t.Errorf("after the qmail bounce, failing: %v", m)
	}
}

// The answer comes in the customer's language, whatever the service's.
func TestReplyInTheCustomersLanguage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newIntake(t) // a Japanese service
	o := NewOutbound(in.store)
	for _, c := range []struct{ from, body, want string }{
		{"kim@example.kr", "주문한 상품이 아직 도착하지 않았습니다.", "ko"},
		{"john@example.com", "My order has not arrived yet, could you check?", "en"},
		{"sato@example.jp", "注文した商品がまだ届きません。", "ja"},
		// English above the Japanese history it quotes: the customer's own words decide.
		{"amy@example.com", "Sorry, I cannot read Japanese. Please answer in English.\r\n\r\n" +
			"On Tue, 24 Nov 2026 at 10:00, Support <support@example.test> wrote:\r\n> ご注文ありがとうございます。発送までお待ちください。", "en"},
	} {
		id := in.deliver(mailFrom(c.from, "order", c.body)).TicketID
		if _, err := in.store.Assign(ctx, id, ticket.Assignment{Operator: "op"}); err != nil {
			t.Fatal(err)
		}
		p, err := o.Preview(ctx, id, mailer.KindResolve, "ok")
		if err != nil {
			t.Fatal(err)
		}
		if p.Locale != c.want {
			t.Errorf("%s: mail in %q, want %q", c.from, p.Locale, c.want)
		}
	}
}

// A raw 8-bit subject too short to tell Shift_JIS from GB18030 (0x95 0x5C:
// 表 in Shift_JIS) is read in the receiving service's locale.
func TestIngestReadsUnlabelledTextInTheServiceLocale(t *testing.T) {
	t.Parallel()
	subjects := map[string]string{}
	for _, locale := range []string{"ja", "zh-CN"} {
		in := newIntake(t)
		in.h.Locales = map[string]string{"support": locale}
		res := in.deliver("From: a@example.jp\r\nTo: support@example.test\r\nSubject: \x95\x5c\r\n" +
			"Message-ID: <locale-" + locale + "@example.jp>\r\n\r\nbody\r\n")
		tk, err := in.store.Get(context.Background(), res.TicketID)
		if err != nil {
			t.Fatal(err)
		}
		subjects[locale] = tk.Subject
	}
	if subjects["ja"] != "表" || subjects["zh-CN"] == "表" || subjects["zh-CN"] == "" {
		t.Errorf("subjects by locale %q: want 表 for ja, the GB18030 reading for zh-CN", subjects)
	}
}
