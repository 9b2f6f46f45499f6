package jobs

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/ticket"
)

// BenchmarkIntakeFromDovecot measures intake end to end, as serve runs it:
// mails waiting in Dovecot → fetched and stored (mail:poll cycle) → relayed to
// asynq → mail:ingest on N concurrent workers → tickets committed. It reports
// mails per second, the statements and round trips to PostgreSQL per mail
// (counted by a pgx tracer on every connection the worker uses: poll, relay,
// ingest) and the process's peak RSS.
func BenchmarkIntakeFromDovecot(b *testing.B) {
	const mails = 500
	u := newDovecotUser(b)
	appendBenchMails(b, u, "bench", mails)
	for _, workers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			var total time.Duration
			var counts dbCounter
			for b.Loop() {
				b.StopTimer()
				in := newIntake(b)
				plain := in.pool // watched without counting
				in.traced(b, &counts)
				if err := in.store.SyncServices(context.Background(), []ticket.ServiceDef{{Key: "support", Name: "Support", Address: "support@example.test",
					Mailbox: &ticket.MailboxDef{Host: u.account.Host, Port: u.account.Port, Username: u.account.Username, Folder: "INBOX"}}}); err != nil {
					b.Fatal(err)
				}
				mi := MailboxIntake{Name: "support", Account: u.account, After: "seen"}
				poll := &MailPoll{Store: in.store, Log: in.h.Log, Mailboxes: map[string]MailboxIntake{"support": mi}}
				stop := runWorkers(b, in, workers)
				counts.reset()
				b.StartTimer()
				total += intakeOnce(b, plain, poll, mi)
				b.StopTimer()
				stop()
				b.StartTimer()
			}
			b.ReportMetric(float64(b.N*mails)/total.Seconds(), "mails/s")
			b.ReportMetric(float64(counts.statements.Load())/float64(mails), "stmts/mail")
			b.ReportMetric(float64(counts.roundTrips.Load())/float64(mails), "roundtrips/mail")
			var ru syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
			b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB")
		})
	}
}

// BenchmarkIntakeHistory is intake (4 workers) into a database that already
// holds 10⁴ or 10⁶ tickets, each with its customer message and its inbound
// mail (processed and acknowledged, in the same mailbox and UIDVALIDITY as the
// new mail), seeded with COPY: the cost of a mail must not grow with history.
// It reports mails/s and the process's peak RSS while the mail comes in.
func BenchmarkIntakeHistory(b *testing.B) {
	const mails = 500
	for _, tickets := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("tickets=%d", tickets), func(b *testing.B) {
			u := newDovecotUser(b)
			in := newIntake(b)
			if err := in.store.SyncServices(context.Background(), []ticket.ServiceDef{{Key: "support", Name: "Support", Address: "support@example.test",
				Mailbox: &ticket.MailboxDef{Host: u.account.Host, Port: u.account.Port, Username: u.account.Username, Folder: "INBOX"}}}); err != nil {
				b.Fatal(err)
			}
			mi := MailboxIntake{Name: "support", Account: u.account, After: "seen"}
			poll := &MailPoll{Store: in.store, Log: in.h.Log, Mailboxes: map[string]MailboxIntake{"support": mi}}
			src, err := poll.connect(context.Background(), u.account)
			if err != nil {
				b.Fatal(err)
			}
			uidValidity := src.UIDValidity()
			src.Close()
			seedHistory(b, in.pool, tickets, uidValidity)
			var total time.Duration
			var peak int64 // KiB, of the intake alone (not the seeding)
			round := 0
			for b.Loop() {
				b.StopTimer()
				round++
				appendBenchMails(b, u, fmt.Sprintf("history%d", round), mails)
				stop := runWorkers(b, in, 4)
				testenv.ResetPeakRSS(b)
				b.StartTimer()
				total += intakeOnce(b, in.pool, poll, mi)
				b.StopTimer()
				peak = max(peak, testenv.PeakRSS(b, 0))
				stop()
				b.StartTimer()
			}
			b.ReportMetric(float64(b.N*mails)/total.Seconds(), "mails/s")
			b.ReportMetric(float64(peak)/1024, "peak-RSS-MB")
		})
	}
}

// appendBenchMails puts n small Japanese mails (Message-IDs <prefix-i@…>) into
// the user's INBOX, over a connection of its own (the user's may have timed out
// while a benchmark seeded its database).
func appendBenchMails(b *testing.B, u *dovecotUser, prefix string, n int) {
	b.Helper()
	c, err := imapclient.DialInsecure(u.Addr, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(u.Username, u.Password).Wait(); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		raw := fmt.Sprintf("From: =?UTF-8?B?5bGx55Sw?= <c%d@example.jp>\r\nTo: support@example.test\r\n"+
			"Subject: =?UTF-8?B?44GU55u46KuH?= %d\r\nMessage-ID: <%s-%d@example.jp>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
			"いつもお世話になっております。注文番号 %d の配送について教えてください。\r\n", i, i, prefix, i, i)
		cmd := c.Append("INBOX", int64(len(raw)), nil)
		if _, err := io.WriteString(cmd, raw); err != nil {
			b.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			b.Fatal(err)
		}
		if _, err := cmd.Wait(); err != nil {
			b.Fatal(err)
		}
	}
}

// intakeOnce runs one poll cycle (which stores every mail waiting) and waits
// until no stored mail waits for its ticket; watch is the pool to look with.
// The look uses the partial index on unprocessed mail, so it costs the same
// whatever the history.
func intakeOnce(b *testing.B, watch *pgxpool.Pool, poll *MailPoll, mi MailboxIntake) time.Duration {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	src, err := poll.connect(ctx, mi.Account)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	if _, err := poll.Cycle(ctx, mi, src); err != nil {
		b.Fatal(err)
	}
	for {
		var n int
		if err := watch.QueryRow(ctx, "SELECT count(*) FROM inbound_mails WHERE state = 'received'").Scan(&n); err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			took := time.Since(start)
			if err := watch.QueryRow(ctx, "SELECT count(*) FROM inbound_mails WHERE state <> 'processed'").Scan(&n); err != nil || n != 0 {
				b.Fatalf("%d mails not processed (%v)", n, err)
			}
			return took
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// seedHistory adds n tickets, each with a customer message and a processed,
// acknowledged inbound mail in the support mailbox under uidValidity (UIDs
// from 3,000,000,000, far above the folder's own), with COPY.
func seedHistory(b *testing.B, pool *pgxpool.Pool, n int, uidValidity uint32) {
	b.Helper()
	ctx := context.Background()
	var mailbox, first int64
	if err := pool.QueryRow(ctx, "SELECT id FROM mailboxes WHERE name = 'support'").Scan(&mailbox); err != nil {
		b.Fatal(err)
	}
	if err := pool.QueryRow(ctx, "SELECT coalesce(max(id), 0) + 1 FROM tickets").Scan(&first); err != nil {
		b.Fatal(err)
	}
	at := time.Now().Add(-24 * time.Hour)
	copyRows := func(table string, cols []string, row func(i int) []any) {
		i := 0
		src := pgx.CopyFromFunc(func() ([]any, error) {
			if i == n {
				return nil, nil
			}
			i++
			return row(i - 1), nil
		})
		if _, err := pool.CopyFrom(ctx, pgx.Identifier{table}, cols, src); err != nil {
			b.Fatalf("seeding %s: %v", table, err)
		}
	}
	// Identity columns take explicit ids only with OVERRIDING SYSTEM VALUE, which
	// COPY lacks: rows get the next ids, which are first, first+1, … here.
	copyRows("tickets", []string{"service_key", "subject", "status", "channel", "customer_name", "customer_email", "created_at", "updated_at"},
		func(i int) []any {
			return []any{"support", fmt.Sprintf("過去の問い合わせ %d", i), "resolved", "email", "顧客", fmt.Sprintf("old%d@example.jp", i), at, at}
		})
	copyRows("inbound_mails", []string{"mailbox_id", "uidvalidity", "uid", "message_id", "content_hash", "raw", "size", "state", "ticket_id", "received_at", "processed_at", "acked_at"},
		func(i int) []any {
			raw := fmt.Appendf(nil, "Message-ID: <old-%d@example.jp>\r\n\r\n過去の問い合わせ\r\n", i)
			return []any{mailbox, int64(uidValidity), int64(3_000_000_000 + i), fmt.Sprintf("old-%d@example.jp", i), fmt.Sprintf("%064x", i), raw, len(raw),
				"processed", first + int64(i), at, at, at}
		})
	var firstInbound int64
	if err := pool.QueryRow(ctx, "SELECT min(id) FROM inbound_mails WHERE uid >= 3000000000").Scan(&firstInbound); err != nil {
		b.Fatal(err)
	}
	copyRows("ticket_messages", []string{"ticket_id", "kind", "author", "body", "mail_message_id", "refs", "inbound_mail_id", "created_at"},
		func(i int) []any {
			return []any{first + int64(i), "customer", fmt.Sprintf("old%d@example.jp", i), "過去の問い合わせ", fmt.Sprintf("old-%d@example.jp", i), []string{},
				firstInbound + int64(i), at}
		})
	// As a database that has lived with its history: vacuumed (hint bits set,
	// visibility map), analysed and checkpointed, so neither autovacuum of the
	// fresh rows nor the checkpoint of their WAL runs during the measurement.
	for _, sql := range []string{"VACUUM ANALYZE tickets, ticket_messages, inbound_mails", "CHECKPOINT"} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			b.Fatal(err)
		}
	}
}

// dbCounter counts what the worker asks of PostgreSQL: every statement, and
// every round trip (a statement alone, a pipelined batch, a COPY).
type dbCounter struct {
	statements, roundTrips atomic.Int64
}

func (c *dbCounter) reset() { c.statements.Store(0); c.roundTrips.Store(0) }

func (c *dbCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.statements.Add(1)
	c.roundTrips.Add(1)
	return ctx
}
func (c *dbCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *dbCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.roundTrips.Add(1)
	return ctx
}
func (c *dbCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {
	c.statements.Add(1)
}
func (c *dbCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}
func (c *dbCounter) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	c.statements.Add(1)
	c.roundTrips.Add(1)
	return ctx
}
func (c *dbCounter) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}

// traced makes the intake's store and handler use a pool on the same database
// whose every connection reports to counts.
func (in *intake) traced(b *testing.B, counts *dbCounter) {
	b.Helper()
	in.pool = tracedPool(b, in.pool, counts)
	in.store = ticket.NewStore(in.pool, nil)
	in.h.Store = in.store
}

// tracedPool is a pool on pool's database whose connections report to counts.
func tracedPool(b *testing.B, pool *pgxpool.Pool, counts *dbCounter) *pgxpool.Pool {
	b.Helper()
	cfg, err := pgxpool.ParseConfig(testenv.URLFor(b, pool))
	if err != nil {
		b.Fatal(err)
	}
	cfg.ConnConfig.Tracer = counts
	cfg.MaxConns = 25 // as serve opens
	traced, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(traced.Close)
	return traced
}

// runWorkers runs the relay and an asynq server with the ingest handler and
// the outbox middleware, as serve does.
func runWorkers(b *testing.B, in *intake, concurrency int) (stop func()) {
	b.Helper()
	opt, err := asynq.ParseRedisURI(testenv.NewRedisDB(b))
	if err != nil {
		b.Fatal(err)
	}
	client := asynq.NewClient(opt)
	srv := asynq.NewServer(opt, asynq.Config{Concurrency: concurrency, Queues: Queues,
		Logger: asynqQuiet{}, TaskCheckInterval: 10 * time.Millisecond})
	mux := asynq.NewServeMux()
	mux.Use(OutboxDone(in.pool, slog.New(slog.NewTextHandler(io.Discard, nil))))
	in.h.Register(mux)
	if err := srv.Start(mux); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	relay := &Relay{Pool: in.pool, Client: client, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Interval: time.Second}
	done := make(chan struct{})
	go func() { relay.Run(ctx); close(done) }()
	return func() {
		cancel()
		<-done
		srv.Shutdown()
		client.Close()
	}
}

type asynqQuiet struct{}

func (asynqQuiet) Debug(...any) {}
func (asynqQuiet) Info(...any)  {}
func (asynqQuiet) Warn(...any)  {}
func (asynqQuiet) Error(...any) {}
func (asynqQuiet) Fatal(...any) {}
