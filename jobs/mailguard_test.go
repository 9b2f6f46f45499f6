package jobs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/contiple/contiple-worker/internal/smtptest"
	"github.com/contiple/contiple-worker/ticket"
)

// A recipient over the hourly cap waits for the next window; nothing is
// dropped: the mail stays owed and goes out once the hour has room.
func TestMailSendCapDefersToTheNextHour(t *testing.T) {
	t.Parallel()
	f := smtptest.New(t)
	e := sendNewEnv(t, sendSender(t, f.Addr))
	e.h.RecipientPerHour = 2
	ctx := context.Background()
	var ids []int64
	var last error
	var tk ticket.Ticket
	for i := 0; i < 3; i++ {
		var id int64
		tk, id = e.sendResolved(t, "loop@example.jp")
		ids = append(ids, id)
		last = e.h.ProcessTask(ctx, sendTask(id))
		if i < 2 && last != nil {
			t.Fatal(last)
		}
	}
	var de *DeferredError
	if !errors.As(last, &de) || errors.Is(last, asynq.SkipRetry) {
		t.Fatalf("third mail: %v, want a DeferredError that asynq retries", last)
	}
	if row := e.sendState(t, ids[2]); row.State != ticket.OutboundPending {
		t.Fatalf("deferred mail is %s, want pending", row.State)
	}
	if ev := e.sendLastEvent(t, tk.ID); ev.Kind != "mail_deferred" {
		t.Errorf("last event %s, want mail_deferred", ev.Kind)
	}
	// The window has room again an hour after the first mail went out.
	var first time.Time
	if err := e.pool.QueryRow(ctx, "SELECT sent_at FROM outbound_mails WHERE id = $1", ids[0]).Scan(&first); err != nil {
		t.Fatal(err)
	}
	if !de.Until.Equal(first.Add(time.Hour)) {
		t.Errorf("deferred until %s, want %s", de.Until, first.Add(time.Hour))
	}
	if d := RetryDelay(0, last, sendTask(ids[2])); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("asynq runs it again in %s, want about an hour", d)
	}
	if n := len(f.Messages()); n != 2 {
		t.Fatalf("%d mails sent, want 2", n)
	}
	// An hour later (the first mail's time moved back) it is sent.
	if _, err := e.pool.Exec(ctx, "UPDATE outbound_mails SET sent_at = sent_at - interval '61 minutes' WHERE id = $1", ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := e.h.ProcessTask(ctx, sendTask(ids[2])); err != nil {
		t.Fatalf("after the hour: %v", err)
	}
	if row := e.sendState(t, ids[2]); row.State != ticket.OutboundSent || len(f.Messages()) != 3 {
		t.Fatalf("after the hour: %s, %d mails", row.State, len(f.Messages()))
	}
}

// A bounce suppresses an address for smtp.suppress_for, or until the
// customer writes again from it, or until a person lifts it.
func TestMailSendSuppressionEnds(t *testing.T) {
	t.Parallel()
	f := smtptest.New(t)
	e := sendNewEnv(t, sendSender(t, f.Addr))
	ctx := context.Background()
	// Each customer wrote (sendResolved makes their ticket) before their
	// address bounced.
	owed := map[string]int64{}
	for _, addr := range []string{"old@example.jp", "fresh@example.jp", "writes@example.jp", "lifted@example.jp"} {
		_, owed[addr] = e.sendResolved(t, addr)
	}
	if _, err := e.pool.Exec(ctx, "UPDATE ticket_messages SET created_at = now() - interval '9 days' WHERE kind = 'customer'"); err != nil {
		t.Fatal(err)
	}
	send := func(addr string) error {
		t.Helper()
		return e.h.ProcessTask(ctx, sendTask(owed[addr]))
	}
	if _, err := e.pool.Exec(ctx, `INSERT INTO failing_addresses (address, reason, created_at) VALUES
		('old@example.jp', '5.1.1', now() - interval '8 days'),
		('fresh@example.jp', '5.1.1', now() - interval '1 day'),
		('writes@example.jp', '5.2.2 mailbox full', now() - interval '1 day'),
		('lifted@example.jp', '5.1.1', now() - interval '1 hour')`); err != nil {
		t.Fatal(err)
	}
	list, err := e.store.Suppressed(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, s := range list {
		listed = append(listed, s.Address)
		if got := s.Until.Sub(s.Since); got != ticket.DefaultSuppressFor {
			t.Errorf("%s suppressed for %s, want the default %s", s.Address, got, ticket.DefaultSuppressFor)
		}
	}
	if len(listed) != 3 || listed[0] != "lifted@example.jp" {
		t.Errorf("suppressed %v, want lifted, fresh and writes (not the 8-day-old one)", listed)
	}
	if err := send("old@example.jp"); err != nil {
		t.Errorf("a bounce older than suppress_for still stops mail: %v", err)
	}
	if err := send("fresh@example.jp"); !errors.Is(err, asynq.SkipRetry) {
		t.Errorf("a day-old bounce: %v, want suppressed", err)
	}
	// The customer writes again from the address (a new message of theirs).
	if _, err := e.store.Create(ctx, ticket.NewTicket{Service: "support", Subject: "届きません", Channel: ticket.ChannelEmail,
		CustomerEmail: "Writes@example.jp", Body: "メールが届きません", Actor: "channel:email"}); err != nil {
		t.Fatal(err)
	}
	if err := send("writes@example.jp"); err != nil {
		t.Errorf("after the customer wrote again: %v", err)
	}
	if _, err := e.store.Unsuppress(ctx, "Lifted@example.jp", "sato"); err != nil {
		t.Fatal(err)
	}
	if err := send("lifted@example.jp"); err != nil {
		t.Errorf("after unsuppress: %v", err)
	}
	if _, err := e.store.Unsuppress(ctx, "nobody@example.jp", "sato"); !errors.Is(err, ticket.ErrNotFound) {
		t.Errorf("unsuppress of an address never suppressed: %v", err)
	}
	e.store.SetSuppressFor(time.Hour)
	if err := send("fresh@example.jp"); err != nil { // the suppressed mail, run again
		t.Errorf("with suppress_for 1h, a day-old bounce: %v", err)
	}
	if n := len(f.Messages()); n != 4 {
		t.Errorf("%d mails sent, want 4", n)
	}
}
