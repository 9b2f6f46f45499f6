package jobs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/ticket"
)

func newRelay(t *testing.T) (*Relay, *ticket.Store, *asynq.Inspector) {
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
	return r, ticket.NewStore(pool, nil), insp
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
