package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// Relay moves outbox rows into asynq. It wakes on NOTIFY contiple_outbox and
// sweeps every Interval anyway (a missed notification, a row written while it
// was down). Several relays may run at once: rows are claimed with SKIP LOCKED.
//
// With an Inspector it also reconciles, at start and every LostAfter/2: a row enqueued more than LostAfter
// ago whose task no worker finished (see OutboxDone) and that Redis no longer
// holds (a flush, a restart from an old snapshot, a failover to a replica
// that was behind) is enqueued again, so owed work is never lost with Redis's
// data. The outbox is the record of what is owed: deleting a task that no
// worker finished does not cancel it.
type Relay struct {
	Pool      *pgxpool.Pool
	Client    *asynq.Client
	Inspector *asynq.Inspector      // nil: no reconciliation
	Redis     redis.UniversalClient // to publish the queues again after a loss; may be nil
	Log       *slog.Logger
	Interval  time.Duration // sweep; 0 = 5s
	Batch     int           // rows per transaction; 0 = 100
	LostAfter time.Duration // 0 = 2 minutes
}

// Run relays until ctx ends.
func (r *Relay) Run(ctx context.Context) error {
	if r.Interval == 0 {
		r.Interval = 5 * time.Second
	}
	wake := make(chan struct{}, 1)
	go r.listen(ctx, wake)
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	// The first reconcile runs at once: a row qualifies only when it was
	// enqueued LostAfter ago and Redis does not hold its task, so an early run
	// is safe, and a process that keeps crashing still brings lost work back.
	var lastReconcile time.Time
	for {
		if r.Inspector != nil && time.Since(lastReconcile) >= r.lostAfter()/2 {
			lastReconcile = time.Now()
			if n, err := r.Reconcile(ctx); err != nil && ctx.Err() == nil {
				r.Log.Error("outbox reconcile", "err", err)
			} else if n > 0 {
				r.Log.Warn("outbox tasks missing from Redis were enqueued again", "count", n)
			}
		}
		for {
			n, err := r.Drain(ctx)
			if err != nil && ctx.Err() == nil {
				r.Log.Error("outbox relay", "err", err)
			}
			if n == 0 || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-t.C:
		}
	}
}

// listen holds a LISTEN connection and signals wake on each notification,
// reconnecting with backoff when the connection drops.
func (r *Relay) listen(ctx context.Context, wake chan<- struct{}) {
	backoff := time.Second
	for ctx.Err() == nil {
		err := r.listenOnce(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		r.Log.Warn("outbox relay: LISTEN connection lost; sweeping until it is back", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, time.Minute)
	}
}

func (r *Relay) listenOnce(ctx context.Context, wake chan<- struct{}) error {
	pc, err := r.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A LISTEN connection is never given back to the pool.
	conn := pc.Hijack()
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN contiple_outbox"); err != nil {
		return err
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}

type outboxRow struct {
	id      int64
	kind    string
	payload []byte
}

// Drain relays one batch of pending rows and returns how many it relayed.
func (r *Relay) Drain(ctx context.Context) (int, error) {
	if r.Batch == 0 {
		r.Batch = 100
	}
	var n int
	var enqueueErr error
	err := pgx.BeginFunc(ctx, r.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, kind, payload FROM outbox WHERE enqueued_at IS NULL
			ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, r.Batch)
		if err != nil {
			return err
		}
		pending, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (outboxRow, error) {
			var o outboxRow
			return o, row.Scan(&o.id, &o.kind, &o.payload)
		})
		if err != nil || len(pending) == 0 {
			return err
		}
		// Rows enqueued before a failure are marked all the same: committing
		// them spares the next sweep from enqueueing them again.
		var ids []int64
		ids, enqueueErr = r.enqueue(ctx, pending)
		if len(ids) == 0 {
			return nil
		}
		n = len(ids)
		_, err = tx.Exec(ctx, "UPDATE outbox SET enqueued_at = now() WHERE id = ANY($1)", ids)
		return err
	})
	return n, errors.Join(err, enqueueErr)
}

// enqueue puts rows into asynq. A row whose task exists already (the relay died
// after enqueueing it, before marking it) counts as enqueued. It returns the ids
// done before any error.
func (r *Relay) enqueue(ctx context.Context, rows []outboxRow) ([]int64, error) {
	var done []int64
	for _, o := range rows {
		task, opts := outboxTask(o.id, o.kind, o.payload)
		info, err := r.Client.EnqueueContext(ctx, task, opts...)
		switch {
		case errors.Is(err, asynq.ErrTaskIDConflict):
			r.Log.Info("outbox row already enqueued", "outbox_id", o.id, "task_type", o.kind)
		case err != nil:
			return done, fmt.Errorf("enqueue outbox %d (%s): %w", o.id, o.kind, err)
		default:
			r.Log.Info("outbox row enqueued", "outbox_id", o.id, "task_type", o.kind, "task_id", info.ID, "queue", info.Queue)
		}
		done = append(done, o.id)
	}
	return done, nil
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func (r *Relay) lostAfter() time.Duration {
	if r.LostAfter <= 0 {
		return 2 * time.Minute
	}
	return r.LostAfter
}

// Reconcile enqueues again every row (enqueued between 30 days, longer than a
// task's whole retry schedule, and LostAfter ago) whose task no worker
// finished and Redis does not hold. It returns how many it enqueued again.
func (r *Relay) Reconcile(ctx context.Context) (int, error) {
	again := 0
	for after := int64(0); ; {
		rows, err := r.Pool.Query(ctx, `SELECT id, kind, payload FROM outbox
			WHERE enqueued_at IS NOT NULL AND done_at IS NULL AND enqueued_at > now() - interval '30 days'
			  AND enqueued_at < now() - make_interval(secs => $2) AND id > $1
			ORDER BY id LIMIT 500`, after, r.lostAfter().Seconds())
		if err != nil {
			return again, err
		}
		unfinished, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (outboxRow, error) {
			var o outboxRow
			return o, row.Scan(&o.id, &o.kind, &o.payload)
		})
		if err != nil || len(unfinished) == 0 {
			return again, err
		}
		var lost []outboxRow
		for _, o := range unfinished {
			_, err := r.Inspector.GetTaskInfo(QueueFor(o.kind), OutboxTaskID(o.id))
			switch {
			case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
				r.Log.Warn("outbox task missing from Redis: enqueuing it again", "outbox_id", o.id, "task_type", o.kind)
				lost = append(lost, o)
			case err != nil:
				return again, err
			}
		}
		if len(lost) > 0 && r.Redis != nil {
			if err := PublishQueues(ctx, r.Redis); err != nil { // the dashboard lists them again
				return again, err
			}
		}
		done, err := r.enqueue(ctx, lost)
		again += len(done)
		if err != nil {
			return again, err
		}
		after = unfinished[len(unfinished)-1].id
	}
}

// OutboxDone is task middleware that records in the outbox when the worker has
// finished with a row's task: it succeeded, or failed for good (archived: an
// operator's to retry or delete, never the reconciler's).
func OutboxDone(pool *pgxpool.Pool, log *slog.Logger) asynq.MiddlewareFunc {
	return func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			err := next.ProcessTask(ctx, t)
			taskID, _ := asynq.GetTaskID(ctx)
			idText, ok := strings.CutPrefix(taskID, "outbox:")
			if !ok {
				return err
			}
			retried, _ := asynq.GetRetryCount(ctx)
			maxRetry, _ := asynq.GetMaxRetry(ctx)
			if err != nil && !errors.Is(err, asynq.SkipRetry) && retried < maxRetry {
				return err // asynq will run it again
			}
			id, perr := strconv.ParseInt(idText, 10, 64)
			if perr == nil {
				// A failure is kept for `outbox failed` until a person runs it
				// again; a task pressed Run on in the dashboard that then succeeds
				// clears it.
				failed, reason := err != nil, ""
				if failed {
					reason = err.Error()
				}
				if _, uerr := pool.Exec(context.WithoutCancel(ctx), `UPDATE outbox SET done_at = now(),
						failed_at = CASE WHEN $2 THEN now() END, last_error = left($3, 2000)
					WHERE id = $1 AND (done_at IS NULL OR failed_at IS NOT NULL)`, id, failed, reason); uerr != nil {
					log.Warn("outbox: could not record a finished task", "outbox_id", id, "err", uerr)
				}
			}
			return err
		})
	}
}
