package jobs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"
	"github.com/hibiken/asynq"

	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/ticket"
)

// The runbook's "fix the address, press Run", end to end: a resolve mail to a
// mistyped address that bounced before is suppressed and its task archived
// (the outbox row listed as failed); the operator corrects the ticket's
// address and presses Run on the archived task; the mail goes through Postfix
// into the customer's mailbox in Dovecot, and the outbox row leaves the list.
// Then `outbox retry` does the same for a mail whose address was corrected
// after its task was archived and gone from Redis.
func TestFixTheAddressPressRunSends(t *testing.T) {
	t.Parallel()
	smtpAddr := testenv.Lookup(t, "CONTIPLE_SMTP_ADDR")
	imapAddr := testenv.Lookup(t, "CONTIPLE_IMAP_ADDR")
	password := testenv.Lookup(t, "CONTIPLE_IMAP_PASSWORD")
	e := sendNewEnv(t, sendSender(t, smtpAddr))
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	opt, err := asynq.ParseRedisURI(testenv.NewRedisDB(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := asynq.NewServer(opt, asynq.Config{Concurrency: 2, Queues: map[string]int{QueueMailOut: 1},
		Logger: asynqQuiet{}, LogLevel: asynq.FatalLevel, RetryDelayFunc: RetryDelay})
	mux := asynq.NewServeMux()
	mux.Use(OutboxDone(e.pool, log))
	e.h.Register(mux)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	client := asynq.NewClient(opt)
	defer client.Close()
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	relay := &Relay{Pool: e.pool, Client: client, Log: log}

	stamp := time.Now().UnixNano()
	typo := fmt.Sprintf("customer%d@exmaple.test", stamp)
	tk, id := e.sendResolved(t, typo)
	if _, err := e.pool.Exec(ctx, `INSERT INTO failing_addresses (address, reason, ticket_id, created_at)
		VALUES ($1, '5.1.2 domain not found', $2, now() + interval '2 seconds')`, typo, tk.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := relay.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	var outboxID int64
	if err := e.pool.QueryRow(ctx, "SELECT id FROM outbox WHERE ticket_id = $1 AND kind = 'mail:send'", tk.ID).Scan(&outboxID); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 20*time.Second, "task archived", func() bool {
		info, err := insp.GetTaskInfo(QueueMailOut, OutboxTaskID(outboxID))
		return err == nil && info.State == asynq.TaskStateArchived
	})
	testenv.WaitFor(t, 10*time.Second, "outbox row listed as failed", func() bool {
		w, err := e.store.FailedOutbox(ctx, 0)
		return err == nil && len(w) == 1 && w[0].OutboxID == outboxID
	})
	if row := e.sendState(t, id); row.State != ticket.OutboundSuppressed {
		t.Fatalf("mail to the mistyped address is %s, want suppressed", row.State)
	}

	user := fmt.Sprintf("customer%d", stamp)
	fixed := user + "@example.test"
	if _, err := e.store.Update(ctx, tk.ID, ticket.TicketUpdate{CustomerEmail: &fixed, Actor: "sato"}); err != nil {
		t.Fatal(err)
	}
	if err := insp.RunTask(QueueMailOut, OutboxTaskID(outboxID)); err != nil { // the dashboard's Run
		t.Fatal(err)
	}
	testenv.WaitFor(t, 20*time.Second, "mail sent after Run", func() bool { return e.sendState(t, id).State == ticket.OutboundSent })
	raw := sendFetchInbox(t, imapAddr, user, password)
	mr, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	to, _ := mr.Header.AddressList("To")
	msgID, _ := mr.Header.MessageID()
	if len(to) != 1 || to[0].Address != fixed || msgID != e.sendState(t, id).MailMessageID {
		t.Errorf("delivered To %v, Message-ID %s", to, msgID)
	}
	testenv.WaitFor(t, 10*time.Second, "the failed row cleared by the successful run", func() bool {
		w, err := e.store.FailedOutbox(ctx, 0)
		return err == nil && len(w) == 0
	})

	// The same with `outbox retry` (the archived task deleted from Redis).
	typo2 := fmt.Sprintf("second%d@exmaple.test", stamp)
	tk2, id2 := e.sendResolved(t, typo2)
	if _, err := e.pool.Exec(ctx, `INSERT INTO failing_addresses (address, reason, created_at) VALUES ($1, '5.1.2', now() + interval '2 seconds')`, typo2); err != nil {
		t.Fatal(err)
	}
	if _, err := relay.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	var failedID int64
	testenv.WaitFor(t, 20*time.Second, "second mail's row failed", func() bool {
		w, err := e.store.FailedOutbox(ctx, 0)
		if err == nil && len(w) == 1 {
			failedID = w[0].OutboxID
		}
		return failedID != 0
	})
	if err := insp.DeleteTask(QueueMailOut, OutboxTaskID(failedID)); err != nil {
		t.Fatal(err)
	}
	user2 := fmt.Sprintf("second%d", stamp)
	fixed2 := user2 + "@example.test"
	if _, err := e.store.Update(ctx, tk2.ID, ticket.TicketUpdate{CustomerEmail: &fixed2, Actor: "sato"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.RetryOutbox(ctx, failedID, "sato"); err != nil {
		t.Fatal(err)
	}
	if _, err := relay.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 20*time.Second, "second mail sent after outbox retry", func() bool { return e.sendState(t, id2).State == ticket.OutboundSent })
	if raw := sendFetchInbox(t, imapAddr, user2, password); !bytes.Contains(raw, []byte(fixed2)) {
		t.Errorf("second mail in Dovecot lacks its new address:\n%s", raw)
	}
}
