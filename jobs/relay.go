package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Relay moves outbox rows into asynq. It wakes on NOTIFY contiple_outbox and
// sweeps every Interval anyway (a missed notification, a row written while it
// was down). Several relays may run at once: rows are claimed with SKIP LOCKED.
type Relay struct {
	Pool     *pgxpool.Pool
	Client   *asynq.Client
	Log      *slog.Logger
	Interval time.Duration // sweep; 0 = 5s
	Batch    int           // rows per transaction; 0 = 100
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
	for {
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
