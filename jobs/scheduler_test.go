package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/contiple/contiple-worker/channels/email"
	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/ticket"
)

// TestFailingPollsNeverFillTheArchive runs a day of failing polls of a
// mailbox whose server is down (86,400 s / 30 s = 2,880 runs), failing
// Dooray! polls and a retention run that panics, through a real asynq server
// and the middleware serve uses. asynq keeps 10,000 archived tasks a queue and
// drops the oldest; the archived mail:ingest that an operator still has to
// press Run on must stay, so the recurring tasks must add nothing to the
// archive. Their failures show as the mailbox's error and as a metric.
func TestFailingPollsNeverFillTheArchive(t *testing.T) {
	t.Parallel()
	const polls = 86400 / 30
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	pool := testenv.NewDatabase(t)
	store := ticket.NewStore(pool, nil)
	if err := store.SyncServices(ctx, []ticket.ServiceDef{{Key: "support", Name: "Support", Address: "support@example.test",
		Mailbox: &ticket.MailboxDef{Host: "127.0.0.1", Port: 1, Username: "support", Folder: "INBOX"}}}); err != nil {
		t.Fatal(err)
	}
	down, err := net.Listen("tcp", "127.0.0.1:0") // a port where no IMAP server answers any more
	if err != nil {
		t.Fatal(err)
	}
	port := down.Addr().(*net.TCPAddr).Port
	down.Close()

	redisOpt, err := asynq.ParseRedisURI(testenv.NewRedisDB(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redisOpt.MakeRedisClient().(redis.UniversalClient)
	defer rdb.Close()
	metrics := NewMetrics(store, quiet)
	mux := asynq.NewServeMux()
	mux.Use(metrics.Middleware, OutboxDone(pool, quiet), metrics.Recurring, Once(rdb, nil), Recover(quiet, func(s string) string { return s }))
	(&MailPoll{Store: store, Log: quiet, Mailboxes: map[string]MailboxIntake{"support": {Name: "support",
		Account: email.Account{Host: "127.0.0.1", Port: port, TLS: "none", Username: "support", Password: "secret", Folder: "INBOX"}}}}).Register(mux)
	(&MailIngest{Store: store, Log: quiet}).Register(mux)
	// Faults injected where no real server can be made to fail on demand.
	mux.HandleFunc(TypeDooraySync, func(context.Context, *asynq.Task) error { return errors.New("dooray: 503 Service Unavailable") })
	mux.HandleFunc(TypeMailExpireRaw, func(context.Context, *asynq.Task) error { panic("the database went away") })
	srv := asynq.NewServer(redisOpt, asynq.Config{Concurrency: 10, Queues: Queues, Logger: asynqQuiet{},
		TaskCheckInterval: 50 * time.Millisecond})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	client := asynq.NewClient(redisOpt)
	defer client.Close()
	insp := asynq.NewInspector(redisOpt)
	defer insp.Close()

	// The work an operator must still see: an ingest refused for good.
	task, opts := outboxTask(999999, TypeMailIngest, []byte(`{"inbound_mail_id": 999999}`))
	if _, err := client.Enqueue(task, opts...); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, time.Minute, "the mail:ingest task to be archived", func() bool {
		ts, err := insp.ListArchivedTasks(QueueMailIn)
		return err == nil && len(ts) == 1
	})

	// The scheduler's options, without Unique (which would fold them into one).
	poll := asynq.NewTask(TypeMailPoll, []byte(`{"mailbox":"support"}`))
	for i := range polls {
		if _, err := client.Enqueue(poll, asynq.Queue(QueueMailIn), asynq.MaxRetry(0), asynq.TaskID(fmt.Sprint("poll-", i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		if _, err := client.Enqueue(asynq.NewTask(TypeDooraySync, []byte(`{"project_id":"p1"}`)), asynq.Queue(QueueDooray),
			asynq.MaxRetry(0), asynq.TaskID(fmt.Sprint("sync-", i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.Enqueue(asynq.NewTask(TypeMailExpireRaw, []byte("{}")), asynq.MaxRetry(0)); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 5*time.Minute, "every recurring run to finish", func() bool {
		for _, q := range []string{QueueMailIn, QueueDooray, QueueDefault} {
			info, err := insp.GetQueueInfo(q)
			if err != nil || info.Pending+info.Active+info.Retry+info.Scheduled > 0 {
				return false
			}
		}
		return true
	})
	if n, s, e := failures(metrics, TypeMailPoll, "support"), failures(metrics, TypeDooraySync, "p1"), failures(metrics, TypeMailExpireRaw, ""); n != polls || s != 20 || e != 1 {
		t.Errorf("contiple_recurring_failures_total: mail:poll %v, dooray:sync %v, mail:expire_raw %v; want %d, 20, 1", n, s, e, polls)
	}
	for q, want := range map[string]int{QueueMailIn: 1, QueueDooray: 0, QueueDefault: 0} {
		ts, err := insp.ListArchivedTasks(q, asynq.PageSize(100))
		if err != nil && !errors.Is(err, asynq.ErrQueueNotFound) {
			t.Fatal(err)
		}
		if len(ts) != want {
			t.Errorf("queue %s: %d archived tasks, want %d", q, len(ts), want)
		}
		if q == QueueMailIn && len(ts) == 1 && ts[0].ID != OutboxTaskID(999999) {
			t.Errorf("queue %s archives %s (%s), not the mail:ingest", q, ts[0].ID, ts[0].Type)
		}
	}
	mb, err := store.Mailbox(ctx, "support")
	if err != nil || mb.LastError == "" {
		t.Errorf("the mailbox's error is %q (%v): the failing polls must show there", mb.LastError, err)
	}
}

// failures reads contiple_recurring_failures_total for a type and target.
func failures(m *Metrics, taskType, target string) float64 {
	var out dto.Metric
	if err := m.recurringFailures.WithLabelValues(taskType, target).Write(&out); err != nil {
		return -1
	}
	return out.GetCounter().GetValue()
}
