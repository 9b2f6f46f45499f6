package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/contiple/contiple-worker/ticket"
)

// RawRetention removes the raw mail of processed inbound mail older than After
// (mail.raw_retention): the tickets keep the text, the hashes that recognise
// a duplicate stay, and failed or ignored mail keeps its raw mail for
// `mail retry`.
type RawRetention struct {
	Store *ticket.Store
	After time.Duration
	Log   *slog.Logger
}

// Register adds the mail:expire_raw handler to mux.
func (r *RawRetention) Register(mux *asynq.ServeMux) { mux.HandleFunc(TypeMailExpireRaw, r.handle) }

// NewMailExpireRawTask is the scheduler's task.
func NewMailExpireRawTask(every time.Duration) (*asynq.Task, []asynq.Option) {
	return asynq.NewTask(TypeMailExpireRaw, []byte("{}")), []asynq.Option{asynq.Queue(QueueDefault),
		asynq.Unique(max(every, time.Second)), asynq.MaxRetry(0), asynq.Timeout(10 * time.Minute)}
}

// RawRetentionSchedule is the periodic task of a retention (none when 0):
// hourly, or twice per retention when that is shorter.
func RawRetentionSchedule(retention time.Duration) []Periodic {
	if retention <= 0 {
		return nil
	}
	every := min(time.Hour, max(retention/2, time.Minute))
	task, opts := NewMailExpireRawTask(every)
	return []Periodic{{Every: every, Task: task, Opts: opts}}
}

func (r *RawRetention) handle(ctx context.Context, _ *asynq.Task) error {
	_, err := r.Expire(ctx)
	return err
}

// Expire removes what is due, a batch per transaction, and returns how many
// raw mails it removed.
func (r *RawRetention) Expire(ctx context.Context) (int64, error) {
	const batch = 1000
	var total int64
	for {
		n, err := r.Store.ExpireRaw(ctx, r.After, batch)
		total += n
		if err != nil || n < batch {
			if total > 0 {
				r.Log.Info("raw mail removed by mail.raw_retention", "count", total, "older_than", r.After.String())
			}
			return total, err
		}
	}
}
