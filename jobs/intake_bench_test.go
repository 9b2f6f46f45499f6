package jobs

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/ticket"
)

// BenchmarkIntakeFromDovecot measures intake end to end, as serve runs it:
// mails waiting in Dovecot → fetched and stored (mail:poll cycle) → relayed to
// asynq → mail:ingest on N concurrent workers → tickets committed. It reports
// mails per second and the process's peak RSS.
func BenchmarkIntakeFromDovecot(b *testing.B) {
	const mails = 500
	u := newDovecotUser(b)
	for i := range mails {
		u.Append("INBOX", fmt.Sprintf("From: =?UTF-8?B?5bGx55Sw?= <c%d@example.jp>\r\nTo: support@example.test\r\n"+
			"Subject: =?UTF-8?B?44GU55u46KuH?= %d\r\nMessage-ID: <bench-%d@example.jp>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
			"いつもお世話になっております。注文番号 %d の配送について教えてください。\r\n", i, i, i, i))
	}
	account := u.account
	for _, workers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				b.StopTimer()
				in := newIntake(b)
				if err := in.store.SyncServices(context.Background(), []ticket.ServiceDef{{Key: "support", Name: "Support", Address: "support@example.test",
					Mailbox: &ticket.MailboxDef{Host: account.Host, Port: account.Port, Username: account.Username, Folder: "INBOX"}}}); err != nil {
					b.Fatal(err)
				}
				mi := MailboxIntake{Name: "support", Account: account, After: "seen"}
				poll := &MailPoll{Store: in.store, Log: in.h.Log, Mailboxes: map[string]MailboxIntake{"support": mi}}
				stop := runWorkers(b, in, workers)
				b.StartTimer()

				start := time.Now()
				src, err := poll.connect(context.Background(), account)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := poll.Cycle(context.Background(), mi, src); err != nil {
					b.Fatal(err)
				}
				src.Close()
				for {
					var done int
					if err := in.pool.QueryRow(context.Background(), "SELECT count(*) FROM inbound_mails WHERE state = 'processed'").Scan(&done); err != nil {
						b.Fatal(err)
					}
					if done == mails {
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
				total += time.Since(start)
				b.StopTimer()
				stop()
				b.StartTimer()
			}
			b.ReportMetric(float64(b.N*mails)/total.Seconds(), "mails/s")
			var ru syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
			b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB")
		})
	}
}

// runWorkers runs the relay and an asynq server with the ingest handler, as serve does.
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
