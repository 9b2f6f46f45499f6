package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/contiple/contiple-worker/internal/smtptest"
	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/mailer"
	"github.com/contiple/contiple-worker/ticket"
)

// sendSender returns a mailer.Sender for addr (host:port).
func sendSender(t testing.TB, addr string) *mailer.Sender {
	t.Helper()
	host, p, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(p)
	s, err := mailer.NewSender(mailer.SMTPConfig{Host: host, Port: port, TLS: "none", Timeout: 10 * time.Second, HELO: "worker.test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// sendEnv is a database with a Japanese service and a mail:send handler.
type sendEnv struct {
	pool  *pgxpool.Pool
	store *ticket.Store
	h     *MailSend
}

func sendNewEnv(t testing.TB, sender MailSender) *sendEnv {
	t.Helper()
	pool := testenv.NewDatabase(t)
	if _, err := pool.Exec(context.Background(), `INSERT INTO services (key, name, address, locale) VALUES
		('support', 'サポート窓口', 'support@example.test', 'ja'), ('other', 'Other', 'other@example.test', 'en')`); err != nil {
		t.Fatal(err)
	}
	store := ticket.NewStore(pool, nil)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &sendEnv{pool: pool, store: store, h: NewMailSend(store, sender, nil, "", 10, log)}
}

// sendResolved makes a ticket from a customer mail to address (two customer
// messages, so threading has something to show), resolves it and returns the
// ticket and its outbound mail id.
func (e *sendEnv) sendResolved(t testing.TB, address string) (ticket.Ticket, int64) {
	t.Helper()
	ctx := context.Background()
	tk, err := e.store.Create(ctx, ticket.NewTicket{Service: "support", Subject: "ログインできません", Channel: ticket.ChannelEmail,
		CustomerName: "山田 太郎", CustomerEmail: address, Body: "ログインできません。", Actor: "channel:email",
		MailMessageID: "q1-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "@mail.example.jp"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `INSERT INTO ticket_messages (ticket_id, kind, author, body, mail_message_id, refs, created_at)
		SELECT $1, 'customer', $2, '追記', 'q2-' || id || '@mail.example.jp', ARRAY[mail_message_id], now() + interval '1 second'
		FROM ticket_messages WHERE ticket_id = $1 AND kind = 'customer'`, tk.ID, address); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Assign(ctx, tk.ID, ticket.Assignment{Operator: "sato", Actor: "sato"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Resolve(ctx, tk.ID, ticket.Note{Text: "パスワード再設定のリンクをお送りしました。", Actor: "sato"}); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := e.pool.QueryRow(ctx, "SELECT max(id) FROM outbound_mails WHERE ticket_id = $1", tk.ID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return tk, id
}

func (e *sendEnv) sendState(t testing.TB, id int64) ticket.OutboundMail {
	t.Helper()
	m, err := e.store.Outbound(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (e *sendEnv) sendLastEvent(t testing.TB, ticketID int64) ticket.Event {
	t.Helper()
	events, err := e.store.Events(context.Background(), ticketID)
	if err != nil {
		t.Fatal(err)
	}
	return events[len(events)-1]
}

func sendTask(id int64) *asynq.Task {
	return asynq.NewTask(TypeMailSend, []byte(fmt.Sprintf(`{"outbound_mail_id": %d}`, id)))
}

func TestMailSendSendsOnceWithThreading(t *testing.T) {
	t.Parallel()
	f := smtptest.New(t)
	e := sendNewEnv(t, sendSender(t, f.Addr))
	tk, id := e.sendResolved(t, "taro@example.jp")
	ctx := context.Background()
	if err := e.h.ProcessTask(ctx, sendTask(id)); err != nil {
		t.Fatal(err)
	}
	// The task runs again (asynq delivers at least once): nothing more is sent.
	if err := e.h.ProcessTask(ctx, sendTask(id)); err != nil {
		t.Fatal(err)
	}
	msgs := f.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d mails, want 1", len(msgs))
	}
	row := e.sendState(t, id)
	if row.State != ticket.OutboundSent || row.Attempts != 1 {
		t.Fatalf("row %+v", row)
	}
	raw := string(msgs[0].Data)
	for _, want := range []string{"Message-ID: <" + row.MailMessageID + ">", "In-Reply-To: <q2-", "References: <q1-", "Auto-Submitted: auto-replied",
		"multipart/alternative", "text/plain; charset=UTF-8", "text/html; charset=UTF-8"} {
		if !strings.Contains(raw, want) {
			t.Errorf("sent mail lacks %q:\n%s", want, raw)
		}
	}
	if ev := e.sendLastEvent(t, tk.ID); ev.Kind != "mail_sent" || ev.Data["subject"] != "Re: ログインできません [CT-"+strconv.FormatInt(tk.ID, 10)+"]" {
		t.Errorf("last event %+v", ev)
	}
}

func TestMailSendTemporaryFailureRetries(t *testing.T) {
	t.Parallel()
	f := smtptest.New(t)
	e := sendNewEnv(t, sendSender(t, f.Addr))
	_, id := e.sendResolved(t, "taro@example.jp")
	ctx := context.Background()
	f.SetFault(func(stage, _ string) error {
		if stage == "rcpt" {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "greylisted, try later"}
		}
		return nil
	})
	err := e.h.ProcessTask(ctx, sendTask(id))
	if err == nil || errors.Is(err, asynq.SkipRetry) || !strings.Contains(err.Error(), "451") {
		t.Fatalf("4xx: %v, want a retryable error", err)
	}
	if row := e.sendState(t, id); row.State != ticket.OutboundPending || !strings.Contains(row.LastError, "greylisted") {
		t.Fatalf("after 4xx: %+v", row)
	}
	f.SetFault(nil)
	if err := e.h.ProcessTask(ctx, sendTask(id)); err != nil {
		t.Fatal(err)
	}
	if n := len(f.Messages()); n != 1 {
		t.Fatalf("%d mails after the retry", n)
	}
	if row := e.sendState(t, id); row.State != ticket.OutboundSent || row.Attempts != 2 {
		t.Fatalf("after the retry: %+v", row)
	}
}

func TestMailSendPermanentFailureStopsThenRetryAfterFix(t *testing.T) {
	t.Parallel()
	f := smtptest.New(t)
	e := sendNewEnv(t, sendSender(t, f.Addr))
	tk, id := e.sendResolved(t, "taro@example.jp")
	ctx := context.Background()
	f.SetFault(func(stage, _ string) error {
		if stage == "rcpt" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	})
	err := e.h.ProcessTask(ctx, sendTask(id))
	if !errors.Is(err, asynq.SkipRetry) || !strings.Contains(err.Error(), "550") {
		t.Fatalf("5xx: %v, want SkipRetry", err)
	}
	if row := e.sendState(t, id); row.State != ticket.OutboundFailed || !strings.Contains(row.LastError, "no such user") {
		t.Fatalf("after 5xx: %+v", row)
	}
	if ev := e.sendLastEvent(t, tk.ID); ev.Kind != "mail_failed" || !strings.Contains(fmt.Sprint(ev.Data["reason"]), "550") {
		t.Fatalf("event %+v", ev)
	}
	// The operator fixes the cause and runs the archived task from the dashboard.
	f.SetFault(nil)
	if err := e.h.ProcessTask(ctx, sendTask(id)); err != nil {
		t.Fatal(err)
	}
	if n := len(f.Messages()); n != 1 || e.sendState(t, id).State != ticket.OutboundSent {
		t.Fatalf("%d mails, state %s", n, e.sendState(t, id).State)
	}
}

func TestMailSendDroppedConnection(t *testing.T) {
	t.Parallel()
	for _, stage := range []string{"mail", "rcpt", "data"} {
		t.Run(stage, func(t *testing.T) {
			t.Parallel()
			f := smtptest.New(t)
			e := sendNewEnv(t, sendSender(t, f.Addr))
			_, id := e.sendResolved(t, "taro@example.jp")
			ctx := context.Background()
			f.SetFault(func(s, _ string) error {
				if s == stage {
					return smtptest.ErrDrop
				}
				return nil
			})
			err := e.h.ProcessTask(ctx, sendTask(id))
			if err == nil || errors.Is(err, asynq.SkipRetry) {
				t.Fatalf("dropped at %s: %v, want a retryable error", stage, err)
			}
			want := ticket.OutboundPending
			if stage == "data" { // the whole message went out: maybe delivered
				want = ticket.OutboundSending
			}
			if row := e.sendState(t, id); row.State != want {
				t.Fatalf("state %s, want %s", row.State, want)
			}
			f.SetFault(nil)
			if err := e.h.ProcessTask(ctx, sendTask(id)); err != nil {
				t.Fatal(err)
			}
			if n := len(f.Messages()); n != 1 {
				t.Fatalf("%d mails", n)
			}
		})
	}
}

// Every crash point but one leads to exactly one mail; the one window
// (accepted by the server, not yet recorded) leads to two.
func TestMailSendCrashPoints(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		step  string
		mails int
	}{
		{"locked", 1}, {"rendered", 1}, {"claimed", 1}, {"accepted", 2}, {"recorded", 1},
	} {
		t.Run(tc.step, func(t *testing.T) {
			t.Parallel()
			f := smtptest.New(t)
			e := sendNewEnv(t, sendSender(t, f.Addr))
			_, id := e.sendResolved(t, "taro@example.jp")
			crashed := false
			e.h.at = func(step string) error {
				if step == tc.step && !crashed {
					crashed = true
					return errors.New("crash at " + step)
				}
				return nil
			}
			ctx := context.Background()
			if err := e.h.ProcessTask(ctx, sendTask(id)); err == nil || !crashed {
				t.Fatalf("no crash at %s: %v", tc.step, err)
			}
			// asynq runs the task again (the lease expired or it was retried);
			// then once more, as a duplicate delivery would.
			for i := 0; i < 2; i++ {
				if err := e.h.ProcessTask(ctx, sendTask(id)); err != nil {
					t.Fatalf("run %d after the crash: %v", i+2, err)
				}
			}
			if n := len(f.Messages()); n != tc.mails {
				t.Fatalf("crash at %s: %d mails, want %d", tc.step, n, tc.mails)
			}
			if row := e.sendState(t, id); row.State != ticket.OutboundSent {
				t.Fatalf("state %s", row.State)
			}
		})
	}
}

// The database restarts just after the SMTP server accepted the mail: the
// lock's connection is gone, and with it the advisory lock. The record is
// made on a new connection, so the mail is not sent a second time.
func TestMailSendRecordsThroughADatabaseRestart(t *testing.T) {
	t.Parallel()
	f := smtptest.New(t)
	e := sendNewEnv(t, sendSender(t, f.Addr))
	_, id := e.sendResolved(t, "taro@example.jp")
	ctx := context.Background()
	killed := 0
	e.h.at = func(step string) error {
		if step != "accepted" || killed > 0 {
			return nil
		}
		// The backend holding this database's advisory lock: mail:send's lock.
		err := e.pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
			WHERE locktype = 'advisory' AND pid <> pg_backend_pid()
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&killed)
		return err
	}
	if err := e.h.ProcessTask(ctx, sendTask(id)); err != nil {
		t.Fatalf("the mail went out; its record must survive the restart: %v", err)
	}
	if killed != 1 {
		t.Fatalf("%d lock connections terminated, want 1", killed)
	}
	if err := e.h.ProcessTask(ctx, sendTask(id)); err != nil { // a duplicate delivery of the task
		t.Fatal(err)
	}
	if n := len(f.Messages()); n != 1 {
		t.Errorf("%d mails, want 1", n)
	}
	if row := e.sendState(t, id); row.State != ticket.OutboundSent {
		t.Errorf("state %s, want sent", row.State)
	}
}

func TestMailSendBusyElsewhereRetries(t *testing.T) {
	t.Parallel()
	f := smtptest.New(t)
	e := sendNewEnv(t, sendSender(t, f.Addr))
	_, id := e.sendResolved(t, "taro@example.jp")
	lk, err := e.store.LockOutbound(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Release()
	err = e.h.ProcessTask(context.Background(), sendTask(id))
	if !errors.Is(err, ticket.ErrOutboundBusy) || errors.Is(err, asynq.SkipRetry) || len(f.Messages()) != 0 {
		t.Fatalf("while another worker holds it: %v", err)
	}
}

func TestMailSendGuards(t *testing.T) {
	t.Parallel()
	f := smtptest.New(t)
	e := sendNewEnv(t, sendSender(t, f.Addr))
	ctx := context.Background()
	for _, tc := range []struct{ address, reason string }{
		{"gone@example.jp", "marked failing"},
		{"no-reply@shop.example.jp", "automated address"},
		{"other@example.test", "our service"},
	} {
		tk, id := e.sendResolved(t, tc.address)
		if tc.reason == "marked failing" { // bounced after the customer's last message (sendResolved dates it 1s ahead)
			if _, err := e.pool.Exec(ctx, `INSERT INTO failing_addresses (address, reason, created_at)
				VALUES ($1, '5.1.1', now() + interval '2 seconds')`, tc.address); err != nil {
				t.Fatal(err)
			}
		}
		err := e.h.ProcessTask(ctx, sendTask(id))
		if !errors.Is(err, asynq.SkipRetry) || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%s: %v, want SkipRetry saying %q", tc.address, err, tc.reason)
		}
		if row := e.sendState(t, id); row.State != ticket.OutboundSuppressed {
			t.Errorf("%s: state %s", tc.address, row.State)
		}
		if ev := e.sendLastEvent(t, tk.ID); ev.Kind != "mail_suppressed" {
			t.Errorf("%s: last event %s", tc.address, ev.Kind)
		}
	}
	// The hourly cap: see TestMailSendCapDefersToTheNextHour.
}

func TestMailSendBadTemplateFailsWithItsName(t *testing.T) {
	t.Parallel()
	f := smtptest.New(t)
	e := sendNewEnv(t, sendSender(t, f.Addr))
	ctx := context.Background()
	// A form that slipped past config check (written by another tool).
	if _, err := e.pool.Exec(ctx, `INSERT INTO mail_templates (service_key, kind, locale, subject, text_body)
		VALUES ('support', 'resolve', 'ja', '{{.Ticket.Subject}}', '{{.Ticket.Title}}')`); err != nil {
		t.Fatal(err)
	}
	tk, id := e.sendResolved(t, "taro@example.jp")
	err := e.h.ProcessTask(ctx, sendTask(id))
	if !errors.Is(err, asynq.SkipRetry) || !strings.Contains(err.Error(), "service support: template resolve/ja text") {
		t.Fatalf("bad template: %v", err)
	}
	if ev := e.sendLastEvent(t, tk.ID); ev.Kind != "mail_failed" || e.sendState(t, id).State != ticket.OutboundFailed || len(f.Messages()) != 0 {
		t.Fatalf("event %+v", ev)
	}
}

func TestMailSendBadPayload(t *testing.T) {
	t.Parallel()
	h := &MailSend{}
	for _, p := range []string{`{`, `{}`, `{"outbound_mail_id": -1}`} {
		if err := h.ProcessTask(context.Background(), asynq.NewTask(TypeMailSend, []byte(p))); !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("payload %s: %v", p, err)
		}
	}
}

// The whole path through asynq: a permanent failure is archived (the
// dashboard shows it), and running it again from there after a fix sends it.
func TestMailSendArchivedThenRunFromDashboard(t *testing.T) {
	t.Parallel()
	f := smtptest.New(t)
	e := sendNewEnv(t, sendSender(t, f.Addr))
	_, id := e.sendResolved(t, "taro@example.jp")
	f.SetFault(func(stage, _ string) error {
		if stage == "rcpt" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	})
	opt, err := asynq.ParseRedisURI(testenv.NewRedisDB(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := asynq.NewServer(opt, asynq.Config{Concurrency: 2, Queues: map[string]int{QueueMailOut: 1},
		Logger: asynqQuiet{}, LogLevel: asynq.FatalLevel})
	mux := asynq.NewServeMux()
	e.h.Register(mux)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	client := asynq.NewClient(opt)
	defer client.Close()
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	payload := []byte(fmt.Sprintf(`{"outbound_mail_id": %d}`, id))
	task, opts := outboxTask(1, TypeMailSend, payload)
	if _, err := client.Enqueue(task, opts...); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 20*time.Second, "task archived", func() bool {
		info, err := insp.GetTaskInfo(QueueMailOut, OutboxTaskID(1))
		return err == nil && info.State == asynq.TaskStateArchived
	})
	f.SetFault(nil)
	if err := insp.RunTask(QueueMailOut, OutboxTaskID(1)); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 20*time.Second, "mail sent after the retry", func() bool { return e.sendState(t, id).State == ticket.OutboundSent })
	if n := len(f.Messages()); n != 1 {
		t.Fatalf("%d mails", n)
	}
}

// sendFetchInbox waits for the first message in user's INBOX on Dovecot and
// returns it raw.
func sendFetchInbox(t *testing.T, imapAddr, user, password string) []byte {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		raw, err := func() ([]byte, error) {
			c, err := imapclient.DialInsecure(imapAddr, nil)
			if err != nil {
				return nil, err
			}
			defer c.Close()
			if err := c.Login(user, password).Wait(); err != nil {
				return nil, err
			}
			sel, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
			if err != nil || sel.NumMessages == 0 {
				return nil, err
			}
			section := &imap.FetchItemBodySection{Peek: true}
			msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{section}}).Collect()
			if err != nil || len(msgs) == 0 {
				return nil, err
			}
			return msgs[0].FindBodySection(section), nil
		}()
		if raw != nil {
			return raw
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail for %s in Dovecot after 30s (last error: %v)", user, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Resolve a ticket, send its mail through Postfix, read it back from the
// customer's mailbox in Dovecot.
func TestMailSendIntoDovecot(t *testing.T) {
	t.Parallel()
	smtpAddr := testenv.Lookup(t, "CONTIPLE_SMTP_ADDR")
	imapAddr := testenv.Lookup(t, "CONTIPLE_IMAP_ADDR")
	password := testenv.Lookup(t, "CONTIPLE_IMAP_PASSWORD")
	e := sendNewEnv(t, sendSender(t, smtpAddr))
	user := fmt.Sprintf("customer%d", time.Now().UnixNano())
	address := user + "@example.test"
	tk, id := e.sendResolved(t, address)
	if err := e.h.ProcessTask(context.Background(), sendTask(id)); err != nil {
		t.Fatal(err)
	}
	row := e.sendState(t, id)
	raw := sendFetchInbox(t, imapAddr, user, password)

	mr, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	h := mr.Header
	subject, _ := h.Subject()
	from, _ := h.AddressList("From")
	to, _ := h.AddressList("To")
	msgID, _ := h.MessageID()
	inReplyTo, _ := h.MsgIDList("In-Reply-To")
	refs, _ := h.MsgIDList("References")
	var first, second string
	if err := e.pool.QueryRow(context.Background(), `SELECT min(mail_message_id), max(mail_message_id) FROM ticket_messages
		WHERE ticket_id = $1 AND kind = 'customer'`, tk.ID).Scan(&first, &second); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("Re: ログインできません [CT-%d]", tk.ID); subject != want {
		t.Errorf("Subject %q, want %q", subject, want)
	}
	if len(from) != 1 || from[0].Name != "サポート窓口" || from[0].Address != "support@example.test" {
		t.Errorf("From %v", from)
	}
	if len(to) != 1 || to[0].Name != "山田 太郎" || to[0].Address != address {
		t.Errorf("To %v", to)
	}
	if msgID != row.MailMessageID || !strings.HasPrefix(msgID, fmt.Sprintf("ct-%d-", tk.ID)) {
		t.Errorf("Message-ID %q, want %q", msgID, row.MailMessageID)
	}
	if len(inReplyTo) != 1 || inReplyTo[0] != second {
		t.Errorf("In-Reply-To %v, want [%s]", inReplyTo, second)
	}
	if strings.Join(refs, " ") != first+" "+second {
		t.Errorf("References %v, want [%s %s]", refs, first, second)
	}
	if got := h.Get("Auto-Submitted"); got != "auto-replied" {
		t.Errorf("Auto-Submitted %q", got)
	}
	var text, html string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p.Body)
		switch ct, _, _ := p.Header.(*gomail.InlineHeader).ContentType(); ct {
		case "text/plain":
			text = string(b)
		case "text/html":
			html = string(b)
		}
	}
	if !strings.Contains(text, "山田 太郎 様") || !strings.Contains(text, "パスワード再設定のリンクをお送りしました。") {
		t.Errorf("text part:\n%s", text)
	}
	if !strings.Contains(html, "<p>山田 太郎 様</p>") || !strings.Contains(html, "パスワード再設定のリンクをお送りしました。") {
		t.Errorf("html part:\n%s", html)
	}
}

// Two worker processes (two clients, two limiters) share the per-minute SMTP
// limit through Redis: no window ever holds more than the limit allows.
func TestSMTPRateLimitAcrossProcesses(t *testing.T) {
	t.Parallel()
	if NewSMTPRateLimiter(nil, 0) != nil {
		t.Fatal("rate_per_minute 0 must mean no limiter")
	}
	opt, err := redis.ParseURL(testenv.NewRedisDB(t))
	if err != nil {
		t.Fatal(err)
	}
	const perMinute = 1200 // one mail every 50ms
	const interval = time.Minute / perMinute
	var mu sync.Mutex
	var times []time.Time
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for p := 0; p < 2; p++ {
		rdb := redis.NewClient(opt)
		defer rdb.Close()
		lim := NewSMTPRateLimiter(rdb, perMinute)
		for w := 0; w < 3; w++ {
			wg.Go(func() {
				for lim.Wait(ctx, "127.0.0.1:2525") == nil {
					mu.Lock()
					times = append(times, time.Now())
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	if len(times) < 20 || len(times) > int(2*time.Second/interval)+2 {
		t.Fatalf("%d mails in 2s at %d/min", len(times), perMinute)
	}
	t.Logf("%d mails in 2s through two limiters at %d/min", len(times), perMinute)
	// In any window of 10 intervals, at most 10 mails (+1 for the moment a
	// worker notes its slot, which is after Redis granted it).
	for i := range times {
		n := 0
		for j := i; j < len(times) && times[j].Sub(times[i]) < 10*interval; j++ {
			n++
		}
		if n > 11 {
			t.Fatalf("%d mails within %v starting at #%d", n, 10*interval, i)
		}
	}
}
