package ticket_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/contiple/contiple-worker/ticket"
)

// outTicket makes a ticket from a customer mail (with a follow-up mail) to
// address, assigned, and returns it.
func outTicket(t *testing.T, s *ticket.Store, pool *pgxpool.Pool, address string) ticket.Ticket {
	t.Helper()
	ctx := context.Background()
	tk, err := s.Create(ctx, ticket.NewTicket{Service: "support", Subject: "ログインできません", Channel: ticket.ChannelEmail,
		CustomerName: "山田 太郎", CustomerEmail: address, Body: "ログインできません。", Actor: "channel:email",
		MailMessageID: "first@mail.example.jp", References: []string{"older@mail.example.jp"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO ticket_messages (ticket_id, kind, author, body, mail_message_id, in_reply_to, refs, created_at)
		VALUES ($1, 'customer', $2, '追記です', 'second@mail.example.jp', 'first@mail.example.jp',
			'{older@mail.example.jp,first@mail.example.jp}', now() + interval '1 second')`, tk.ID, address); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Assign(ctx, tk.ID, ticket.Assignment{Operator: "sato", Actor: "sato"}); err != nil {
		t.Fatal(err)
	}
	return tk
}

// outResolve resolves tk and returns its outbound mail id.
func outResolve(t *testing.T, s *ticket.Store, pool *pgxpool.Pool, id int64) int64 {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Resolve(ctx, id, ticket.Note{Text: "再設定のリンクをお送りしました。", Actor: "sato"}); err != nil {
		t.Fatal(err)
	}
	var out int64
	if err := pool.QueryRow(ctx, "SELECT max(id) FROM outbound_mails WHERE ticket_id = $1", id).Scan(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func outEventKinds(t *testing.T, s *ticket.Store, id int64) []string {
	t.Helper()
	events, err := s.Events(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Kind)
	}
	return kinds
}

// outLock locks and loads outbound mail id.
func outLock(t *testing.T, s *ticket.Store, id int64) *ticket.OutboundLock {
	t.Helper()
	lk, err := s.LockOutbound(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lk.Release)
	if _, err := lk.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return lk
}

func TestReplyContextThreadsAndWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t, nil)
	tk := outTicket(t, s, pool, "taro@example.jp")
	if _, err := pool.Exec(ctx, `INSERT INTO mail_templates (service_key, kind, locale, subject, text_body) VALUES
		('support', 'resolve', 'ja', 'S {{.Ticket.Subject}}', 'T {{.Note}}'), ('support', 'hold', 'ja', 'H', 'H');
		INSERT INTO forbidden_words (service_key, word) VALUES ('support', '絶対'), ('support', 'guarantee');
		UPDATE services SET settings = '{"links": [{"label": "FAQ", "url": "https://help.example.test/"}]}' WHERE key = 'support'`); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, pool)
	mc, err := s.ReplyContext(ctx, tk.ID, ticket.MessageResolve)
	if err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, pool); after != before {
		t.Fatalf("ReplyContext wrote:\n%s\n%s", before, after)
	}
	want := ticket.MailContext{
		Ticket:         mc.Ticket,
		Service:        ticket.MailService{Key: "support", Name: "サポート窓口", Address: "support@example.test", Locale: "ja", Links: []ticket.ServiceLink{{Label: "FAQ", URL: "https://help.example.test/"}}},
		Templates:      []ticket.TemplateDef{{Kind: "resolve", Locale: "ja", Subject: "S {{.Ticket.Subject}}", Text: "T {{.Note}}"}},
		ForbiddenWords: []string{"guarantee", "絶対"},
		CustomerText:   "追記です", // the latest customer message
		InReplyTo:      "second@mail.example.jp",
		References:     []string{"older@mail.example.jp", "first@mail.example.jp", "second@mail.example.jp"},
	}
	if diff := cmp.Diff(want, mc); diff != "" {
		t.Fatalf("context (-want +got):\n%s", diff)
	}
	if _, err := s.ReplyContext(ctx, tk.ID, ticket.MessageComment); err == nil {
		t.Error("a comment has no mail, yet ReplyContext accepted it")
	}
	if _, err := s.ReplyContext(ctx, 999, ticket.MessageHold); !errors.Is(err, ticket.ErrNotFound) {
		t.Errorf("unknown ticket: %v", err)
	}
}

func TestOutboundClaimSendRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t, nil)
	tk := outTicket(t, s, pool, "taro@example.jp")
	id := outResolve(t, s, pool, tk.ID)

	lk := outLock(t, s, id)
	if _, err := s.LockOutbound(ctx, id); !errors.Is(err, ticket.ErrOutboundBusy) {
		t.Fatalf("second lock: %v, want ErrOutboundBusy", err)
	}
	m, err := lk.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.State != ticket.OutboundPending || m.Recipient != "taro@example.jp" || m.Note != "再設定のリンクをお送りしました。" ||
		m.Kind != ticket.MessageResolve || m.InReplyTo != "second@mail.example.jp" || m.Ticket.Status != ticket.StatusResolved {
		t.Fatalf("loaded %+v", m)
	}
	c, err := lk.Claim(ctx, ticket.Guards{RecipientPerHour: 10})
	if err != nil || c.Outcome != ticket.ClaimSend || c.Previous != ticket.OutboundPending || c.Attempts != 1 {
		t.Fatalf("claim = %+v, %v", c, err)
	}
	if err := lk.MarkSent(ctx, ticket.SentMail{Subject: "Re: ログインできません [CT-1]",
		InReplyTo: m.InReplyTo, References: m.References, Locale: "ja"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Outbound(ctx, id)
	if err != nil || got.State != ticket.OutboundSent || got.SentAt == nil || got.Attempts != 1 {
		t.Fatalf("after sent: %+v, %v", got, err)
	}
	msgs, _ := s.Messages(ctx, tk.ID)
	last := msgs[len(msgs)-1]
	if last.Kind != ticket.MessageResolve || last.MailMessageID != got.MailMessageID || last.InReplyTo != "second@mail.example.jp" ||
		len(last.References) != 3 || last.Body != "再設定のリンクをお送りしました。" {
		t.Fatalf("history message after sending: %+v", last)
	}
	if kinds := outEventKinds(t, s, tk.ID); kinds[len(kinds)-1] != "mail_sent" {
		t.Fatalf("events %v", kinds)
	}
	// A retried task finds it sent: never again.
	if c, err := lk.Claim(ctx, ticket.Guards{}); err != nil || c.Outcome != ticket.ClaimAlreadySent {
		t.Fatalf("claim after sent = %+v, %v", c, err)
	}
	if err := lk.MarkFailed(ctx, ticket.Failure{Reason: "late", Permanent: true}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Outbound(ctx, id); got.State != ticket.OutboundSent {
		t.Fatalf("a failure after sending changed the state to %s", got.State)
	}
	// The next mail of this ticket threads after ours.
	mc, err := s.ReplyContext(ctx, tk.ID, ticket.MessageHold)
	if err != nil || mc.References[len(mc.References)-1] != "second@mail.example.jp" || mc.References[len(mc.References)-2] != got.MailMessageID {
		t.Fatalf("references after our mail: %v, %v", mc.References, err)
	}
}

func TestOutboundFailedAndCrashedAreClaimableAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t, nil)
	tk := outTicket(t, s, pool, "taro@example.jp")
	id := outResolve(t, s, pool, tk.ID)

	lk := outLock(t, s, id)
	if c, err := lk.Claim(ctx, ticket.Guards{}); err != nil || c.Outcome != ticket.ClaimSend {
		t.Fatalf("claim: %+v %v", c, err)
	}
	if err := lk.MarkFailed(ctx, ticket.Failure{Reason: "smtp rcpt (permanent): 550 5.1.1 no such user", Permanent: true}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Outbound(ctx, id); got.State != ticket.OutboundFailed || got.LastError == "" {
		t.Fatalf("after a permanent failure: %+v", got)
	}
	if kinds := outEventKinds(t, s, tk.ID); kinds[len(kinds)-1] != "mail_failed" {
		t.Fatalf("events %v", kinds)
	}
	// Retried from the dashboard after a fix.
	c, err := lk.Claim(ctx, ticket.Guards{})
	if err != nil || c.Outcome != ticket.ClaimSend || c.Previous != ticket.OutboundFailed || c.Attempts != 2 {
		t.Fatalf("claim after failed = %+v, %v", c, err)
	}
	// A temporary failure goes back to pending, without an event.
	n := len(outEventKinds(t, s, tk.ID))
	if err := lk.MarkFailed(ctx, ticket.Failure{Reason: "451 try later"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Outbound(ctx, id); got.State != ticket.OutboundPending || got.LastError != "451 try later" || len(outEventKinds(t, s, tk.ID)) != n {
		t.Fatalf("after a temporary failure: %+v", got)
	}
	// The worker dies after claiming: the lock goes with its connection, the
	// row stays sending, and the next claim says so.
	if _, err := lk.Claim(ctx, ticket.Guards{}); err != nil {
		t.Fatal(err)
	}
	lk.Release()
	lk2 := outLock(t, s, id)
	c, err = lk2.Claim(ctx, ticket.Guards{})
	if err != nil || c.Outcome != ticket.ClaimSend || c.Previous != ticket.OutboundSending || c.Attempts != 4 {
		t.Fatalf("claim after a crash = %+v, %v", c, err)
	}
}

func TestOutboundGuards(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t, nil)

	suppressed := func(id int64, g ticket.Guards, wantReason string) {
		t.Helper()
		lk := outLock(t, s, id)
		defer lk.Release()
		c, err := lk.Claim(ctx, g)
		if err != nil || c.Outcome != ticket.ClaimSuppressed {
			t.Fatalf("claim = %+v, %v; want suppressed", c, err)
		}
		got, _ := s.Outbound(ctx, id)
		if got.State != ticket.OutboundSuppressed || got.LastError != c.Reason || !strings.Contains(c.Reason, wantReason) {
			t.Fatalf("suppressed %+v, reason %q (want it to mention %q)", got, c.Reason, wantReason)
		}
		if kinds := outEventKinds(t, s, got.TicketID); kinds[len(kinds)-1] != "mail_suppressed" {
			t.Fatalf("events %v", kinds)
		}
	}

	// A bounced address.
	bounced := outResolve(t, s, pool, outTicket(t, s, pool, "Gone@Example.jp").ID)
	if _, err := pool.Exec(ctx, `INSERT INTO failing_addresses (address, reason, created_at) VALUES ('gone@example.jp', '5.1.1 user unknown', now() + interval '1 second')`); err != nil {
		t.Fatal(err)
	}
	suppressed(bounced, ticket.Guards{}, "marked failing")
	// Once cleared, the operator's retry sends it.
	if _, err := pool.Exec(ctx, `DELETE FROM failing_addresses`); err != nil {
		t.Fatal(err)
	}
	lk := outLock(t, s, bounced)
	if c, err := lk.Claim(ctx, ticket.Guards{}); err != nil || c.Outcome != ticket.ClaimSend || c.Previous != ticket.OutboundSuppressed {
		t.Fatalf("claim after clearing: %+v, %v", c, err)
	}
	lk.Release()

	// Our own address (a loop through another service).
	own := outResolve(t, s, pool, outTicket(t, s, pool, "issues@example.test").ID)
	suppressed(own, ticket.Guards{}, `our service "issues"`)

	// The hourly cap per recipient.
	var ids []int64
	for i := 0; i < 3; i++ {
		ids = append(ids, outResolve(t, s, pool, outTicket(t, s, pool, "busy@example.jp").ID))
	}
	for _, id := range ids[:2] {
		lk := outLock(t, s, id)
		if c, err := lk.Claim(ctx, ticket.Guards{RecipientPerHour: 2}); err != nil || c.Outcome != ticket.ClaimSend {
			t.Fatalf("claim %d: %+v %v", id, c, err)
		}
		if err := lk.MarkSent(ctx, ticket.SentMail{Subject: "s"}); err != nil {
			t.Fatal(err)
		}
		lk.Release()
	}
	// The third waits for the hour to have room; it stays owed.
	lk = outLock(t, s, ids[2])
	c, err := lk.Claim(ctx, ticket.Guards{RecipientPerHour: 2})
	lk.Release()
	if err != nil || c.Outcome != ticket.ClaimDeferred || !strings.Contains(c.Reason, "cap 2") || c.Until.Before(time.Now().Add(59*time.Minute)) {
		t.Fatalf("claim over the cap: %+v %v; want deferred by an hour", c, err)
	}
	if got, _ := s.Outbound(ctx, ids[2]); got.State != ticket.OutboundPending {
		t.Fatalf("deferred mail is %s, want pending", got.State)
	}
	// An hour later the cap has room again.
	if _, err := pool.Exec(ctx, `UPDATE outbound_mails SET sent_at = sent_at - interval '61 minutes' WHERE state = 'sent'`); err != nil {
		t.Fatal(err)
	}
	lk = outLock(t, s, ids[2])
	if c, err := lk.Claim(ctx, ticket.Guards{RecipientPerHour: 2}); err != nil || c.Outcome != ticket.ClaimSend {
		t.Fatalf("claim an hour later: %+v %v", c, err)
	}
}

// Workers claiming mails to one recipient at once pass the hourly cap no
// more often than it allows: the recipient's lock is held from the guards'
// read to the claim.
func TestOutboundCapHoldsUnderConcurrentClaims(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t, nil)
	const mails, limit = 8, 3
	var ids []int64
	for range mails {
		ids = append(ids, outResolve(t, s, pool, outTicket(t, s, pool, "Many@Example.jp").ID))
	}
	outcomes := make(chan ticket.ClaimOutcome, mails)
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			lk, err := s.LockOutbound(ctx, id)
			if err != nil {
				t.Error(err)
				return
			}
			defer lk.Release()
			if _, err := lk.Load(ctx); err != nil {
				t.Error(err)
				return
			}
			c, err := lk.Claim(ctx, ticket.Guards{RecipientPerHour: limit})
			if err != nil {
				t.Error(err)
				return
			}
			outcomes <- c.Outcome
		})
	}
	wg.Wait()
	close(outcomes)
	count := map[ticket.ClaimOutcome]int{}
	for o := range outcomes {
		count[o]++
	}
	if count[ticket.ClaimSend] != limit || count[ticket.ClaimDeferred] != mails-limit {
		t.Fatalf("outcomes %v; want %d sent and %d deferred", count, limit, mails-limit)
	}
}

// A mail is claimed only for the address it was loaded (and built) for, and
// a guard's verdict is recorded only for the address it judged: an address
// corrected after the load, or between the verdict (a bounce) and its record,
// claims and records nothing, so nothing goes to the bounced address; loaded
// again, the mail is claimed for the new one.
func TestOutboundClaimFollowsACorrectedAddress(t *testing.T) {
	t.Parallel()
	for _, when := range []string{"after the load", "after the verdict"} {
		t.Run(when, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, pool := newStore(t, nil)
			tk := outTicket(t, s, pool, "typo@exmaple.jp")
			id := outResolve(t, s, pool, tk.ID)
			if _, err := pool.Exec(ctx, `INSERT INTO failing_addresses (address, reason, created_at)
				VALUES ('typo@exmaple.jp', '5.1.2 bad domain', now() + interval '1 second')`); err != nil {
				t.Fatal(err)
			}
			correct := func() {
				if _, err := s.Update(ctx, tk.ID, ticket.TicketUpdate{CustomerEmail: new("taro@example.jp"), Actor: "sato"}); err != nil {
					t.Error(err)
				}
			}
			lk := outLock(t, s, id) // loaded for typo@exmaple.jp
			if when == "after the load" {
				correct()
			} else {
				ticket.OnClaimJudged(s, func() { ticket.OnClaimJudged(s, nil); correct() })
			}
			if c, err := lk.Claim(ctx, ticket.Guards{}); !errors.Is(err, ticket.ErrReaddressed) {
				t.Fatalf("claim = %+v, %v; want the readdress noticed", c, err)
			}
			got, _ := s.Outbound(ctx, id)
			if got.State != ticket.OutboundPending || got.Attempts != 0 || got.Recipient != "taro@example.jp" {
				t.Fatalf("after the corrected address: %+v; want pending, untried, to the new address", got)
			}
			if m, err := lk.Load(ctx); err != nil || m.Recipient != "taro@example.jp" {
				t.Fatalf("load again: %q, %v", m.Recipient, err)
			}
			if c, err := lk.Claim(ctx, ticket.Guards{}); err != nil || c.Outcome != ticket.ClaimSend {
				t.Fatalf("claim again = %+v, %v; want send", c, err)
			}
		})
	}
}
