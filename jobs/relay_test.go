package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/ticket"
)

// testRelay is a Relay with the Redis it uses.
type testRelay struct {
	*Relay
	redisOpt asynq.RedisConnOpt
}

func newRelay(t *testing.T) (*testRelay, *ticket.Store, *asynq.Inspector) {
	t.Helper()
	pool := testenv.NewDatabase(t)
	if _, err := pool.Exec(context.Background(),
		`INSERT INTO services (key, name, address) VALUES ('support', 'Support', 'support@example.test')`); err != nil {
		t.Fatal(err)
	}
	opt, err := asynq.ParseRedisURI(testenv.NewRedisDB(t))
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(opt)
	insp := asynq.NewInspector(opt)
	t.Cleanup(func() { client.Close(); insp.Close() })
	r := &Relay{Pool: pool, Client: client, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Interval: 50 * time.Millisecond}
	return &testRelay{Relay: r, redisOpt: opt}, ticket.NewStore(pool, nil), insp
}

// resolved makes a ticket, resolves it, and returns its id: one outbox row.
func resolved(t *testing.T, s *ticket.Store) int64 {
	t.Helper()
	ctx := context.Background()
	tk, err := s.Create(ctx, ticket.NewTicket{Service: "support", Subject: "help", CustomerEmail: "c@example.jp", Body: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Assign(ctx, tk.ID, ticket.Assignment{Operator: "kim"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Resolve(ctx, tk.ID, ticket.Note{Text: "done"}); err != nil {
		t.Fatal(err)
	}
	return tk.ID
}

func pendingIDs(t *testing.T, insp *asynq.Inspector) []string {
	t.Helper()
	tasks, err := insp.ListPendingTasks(QueueMailOut)
	if errors.Is(err, asynq.ErrQueueNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, task := range tasks {
		ids = append(ids, task.ID)
	}
	return ids
}

func TestRelayCrashBetweenEnqueueAndMarkMakesOneTask(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, s, insp := newRelay(t)
	resolved(t, s)

	// The relay enqueues, then dies before marking the row.
	var id int64
	var kind string
	var payload []byte
	if err := r.Pool.QueryRow(ctx, "SELECT id, kind, payload FROM outbox").Scan(&id, &kind, &payload); err != nil {
		t.Fatal(err)
	}
	if _, err := r.enqueue(ctx, []outboxRow{{id, kind, payload}}); err != nil {
		t.Fatal(err)
	}
	// A new relay finds the row still pending and relays it again.
	n, err := r.Drain(ctx)
	if err != nil || n != 1 {
		t.Fatalf("drain = %d, %v", n, err)
	}
	if got := pendingIDs(t, insp); len(got) != 1 || got[0] != OutboxTaskID(id) {
		t.Fatalf("pending tasks %v, want exactly [%s]", got, OutboxTaskID(id))
	}
	var left int
	r.Pool.QueryRow(ctx, "SELECT count(*) FROM outbox WHERE enqueued_at IS NULL").Scan(&left)
	if left != 0 {
		t.Fatalf("%d rows still pending", left)
	}
}

func TestRelayIsWokenByNotify(t *testing.T) {
	t.Parallel()
	r, s, insp := newRelay(t)
	r.Interval = time.Hour // only NOTIFY can wake it in time
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	time.Sleep(200 * time.Millisecond) // let it LISTEN
	resolved(t, s)
	resolved(t, s)
	deadline := time.Now().Add(10 * time.Second)
	for len(pendingIDs(t, insp)) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("tasks after NOTIFY: %v", pendingIDs(t, insp))
		}
		time.Sleep(20 * time.Millisecond)
	}
	payload := MailSendPayload{}
	task, _ := insp.GetTaskInfo(QueueMailOut, pendingIDs(t, insp)[0])
	if err := decode(task.Payload, &payload); err != nil || payload.OutboundMailID == 0 {
		t.Fatalf("payload %s: %v", task.Payload, err)
	}
}

// TestRelayReconcilesTasksLostFromRedis: Redis loses tasks after the relay
// marked their rows enqueued (a flush, an old snapshot). Once LostAfter has
// passed, the relay enqueues again every task no worker finished; a task a
// worker finished stays gone, and a recent row is left to its task.
func TestRelayReconcilesTasksLostFromRedis(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, s, insp := newRelay(t)
	r.Inspector = insp
	redisOpt := r.redisOpt.(asynq.RedisClientOpt)
	r.Redis = redis.NewClient(&redis.Options{Addr: redisOpt.Addr, Password: redisOpt.Password, DB: redisOpt.DB})
	defer r.Redis.Close()
	for range 3 {
		resolved(t, s)
	}
	if n, err := r.Drain(ctx); err != nil || n != 3 {
		t.Fatalf("drain %d %v", n, err)
	}
	ids := outboxIDs(t, r.Pool, "true")
	// Everything is still in Redis: nothing to do.
	if _, err := r.Pool.Exec(ctx, "UPDATE outbox SET enqueued_at = now() - interval '5 minutes'"); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Reconcile(ctx); err != nil || n != 0 {
		t.Fatalf("reconcile with every task in Redis: %d %v", n, err)
	}
	// A worker finished the first; Redis then loses everything. The third row
	// was enqueued just now: its task may still be on its way.
	if _, err := r.Pool.Exec(ctx, "UPDATE outbox SET done_at = now() WHERE id = $1", ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Pool.Exec(ctx, "UPDATE outbox SET enqueued_at = now() WHERE id = $1", ids[2]); err != nil {
		t.Fatal(err)
	}
	if err := r.Redis.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Reconcile(ctx); err != nil || n != 1 {
		t.Fatalf("reconcile after the loss: %d %v", n, err)
	}
	if got := pendingIDs(t, insp); !slices.Equal(got, []string{OutboxTaskID(ids[1])}) {
		t.Errorf("pending after the loss: %v, want only %s", got, OutboxTaskID(ids[1]))
	}
}

// TestRelayStartedAfterAFlushReconcilesAtOnce: Redis lost its data (a flush,
// an old snapshot) and the worker process starts again. The work Redis lost
// comes back as soon as the relay starts, not a reconcile period later: a
// fleet that keeps crashing would otherwise never get it back.
func TestRelayStartedAfterAFlushReconcilesAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, s, insp := newRelay(t)
	r.Inspector = insp
	resolved(t, s)
	if n, err := r.Drain(ctx); err != nil || n != 1 {
		t.Fatalf("drain %d %v", n, err)
	}
	id := outboxIDs(t, r.Pool, "true")[0]
	// Enqueued by a process that died five minutes ago; then Redis lost it.
	if _, err := r.Pool.Exec(ctx, "UPDATE outbox SET enqueued_at = now() - interval '5 minutes'"); err != nil {
		t.Fatal(err)
	}
	redisOpt := r.redisOpt.(asynq.RedisClientOpt)
	rdb := redis.NewClient(&redis.Options{Addr: redisOpt.Addr, Password: redisOpt.Password, DB: redisOpt.DB})
	defer rdb.Close()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	r.Redis = rdb // as serve does: the queues are published again after a loss
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { r.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()
	// The reconcile period is a minute (LostAfter/2); a deadline well below it.
	testenv.WaitFor(t, 20*time.Second, "the lost task to be enqueued again", func() bool {
		return slices.Equal(pendingIDs(t, insp), []string{OutboxTaskID(id)})
	})
}

// TestOutboxDoneRecordsFinishedTasks runs tasks through a real asynq server:
// success and a permanent failure are recorded as finished, a retry is not.
func TestOutboxDoneRecordsFinishedTasks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, s, _ := newRelay(t)
	for range 3 {
		resolved(t, s)
	}
	ids := outboxIDs(t, r.Pool, "true")
	results := map[string]error{OutboxTaskID(ids[0]): nil, OutboxTaskID(ids[1]): fmt.Errorf("bad address: %w", asynq.SkipRetry),
		OutboxTaskID(ids[2]): errors.New("try later")}
	seen := make(chan string, 10)
	mux := asynq.NewServeMux()
	mux.Use(OutboxDone(r.Pool, r.Log))
	mux.HandleFunc(TypeMailSend, func(ctx context.Context, _ *asynq.Task) error {
		id, _ := asynq.GetTaskID(ctx)
		defer func() { seen <- id }()
		return results[id]
	})
	srv := asynq.NewServer(r.redisOpt, asynq.Config{Concurrency: 1, Queues: Queues, Logger: asynqQuiet{},
		RetryDelayFunc: func(int, error, *asynq.Task) time.Duration { return time.Hour }})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	if _, err := r.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		select {
		case <-seen:
		case <-time.After(30 * time.Second):
			t.Fatal("tasks not processed")
		}
	}
	// The middleware records after the handler returns: wait for it.
	var done []int64
	testenv.WaitFor(t, 10*time.Second, "two finished rows", func() bool {
		done = outboxIDs(t, r.Pool, "done_at IS NOT NULL")
		return len(done) >= 2
	})
	if fmt.Sprint(done) != fmt.Sprint(ids[:2]) {
		t.Errorf("finished rows %v, want %v (the one to retry is not finished)", done, ids[:2])
	}
}

// TestOnceRunsAPeriodicTaskOncePerInterval: the schedulers of three worker
// processes enqueue the same poll; one run goes through. Other tasks pass.
func TestOnceRunsAPeriodicTaskOncePerInterval(t *testing.T) {
	t.Parallel()
	opt, err := redis.ParseURL(testenv.NewRedisDB(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	periodic := Schedule(map[string]MailboxIntake{"support": {Name: "support", Poll: time.Hour}}, nil)
	runs := 0
	h := Once(rdb, periodic)(asynq.HandlerFunc(func(context.Context, *asynq.Task) error { runs++; return nil }))
	task, _ := NewMailPollTask("support", time.Hour)
	for range 3 {
		if err := h.ProcessTask(context.Background(), task); err != nil {
			t.Fatal(err)
		}
	}
	other, _ := NewMailPollTask("sales", time.Hour)
	h.ProcessTask(context.Background(), other)
	h.ProcessTask(context.Background(), other)
	if runs != 3 {
		t.Errorf("%d runs, want 1 of the periodic poll and 2 of the unscheduled one", runs)
	}
	// With task ids: process B's copy is dropped, A's task run again from the dashboard passes.
	ctx := context.Background()
	for _, c := range []struct {
		taskID string
		want   bool
	}{{"a", true}, {"b", false}, {"a", true}, {"b", false}} {
		pass, err := oncePass(ctx, rdb, "dooray:sync {}", c.taskID, time.Hour)
		if err != nil || pass != c.want {
			t.Errorf("task %s: pass %v (%v), want %v", c.taskID, pass, err, c.want)
		}
	}
}

// outboxIDs lists the ids of the outbox rows matching where, in order.
func outboxIDs(t testing.TB, pool *pgxpool.Pool, where string) []int64 {
	t.Helper()
	rows, err := pool.Query(context.Background(), "SELECT id FROM outbox WHERE "+where+" ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}
