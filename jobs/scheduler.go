package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Periodic is a task the scheduler enqueues on a fixed interval. Every worker
// process runs the scheduler; Once lets one run through per interval.
type Periodic struct {
	Every time.Duration
	Task  *asynq.Task
	Opts  []asynq.Option
}

// Spec is the scheduler's cron spec of p.
func (p Periodic) Spec() string { return fmt.Sprintf("@every %s", p.Every) }

// Schedule lists the periodic tasks: a mail:poll for each mailbox that is not
// watched with IDLE, and the Dooray! poll of each organisation at its interval
// (doorayEvery: organisation key → interval; none when empty).
func Schedule(mailboxes map[string]MailboxIntake, doorayEvery map[string]time.Duration) []Periodic {
	out := DooraySchedule(doorayEvery)
	for _, name := range slices.Sorted(maps.Keys(mailboxes)) {
		mi := mailboxes[name]
		if mi.IDLE {
			continue
		}
		every := mi.Poll
		if every <= 0 {
			every = 30 * time.Second
		}
		task, opts := NewMailPollTask(name, every)
		out = append(out, Periodic{Every: every, Task: task, Opts: opts})
	}
	return out
}

// Once is task middleware that lets one run of each periodic task through per
// interval, whichever of the worker processes' schedulers enqueued it (a task
// that went through once goes through again when run again): asynq's
// Unique lock ends when a task completes, so a quick task would otherwise run
// once per process per interval (N IMAP logins, N Dooray! polls).
func Once(rdb redis.UniversalClient, periodic []Periodic) asynq.MiddlewareFunc {
	every := map[string]time.Duration{}
	for _, p := range periodic {
		every[p.Task.Type()+" "+string(p.Task.Payload())] = p.Every
	}
	return func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			id := t.Type() + " " + string(t.Payload())
			d, ok := every[id]
			if !ok {
				return next.ProcessTask(ctx, t)
			}
			taskID, _ := asynq.GetTaskID(ctx)
			if pass, err := oncePass(ctx, rdb, id, taskID, d); err != nil || !pass {
				return err // nil when another process ran this interval's
			}
			return next.ProcessTask(ctx, t)
		})
	}
}

// oncePass decides for Once: a task that went through before (run again from
// the dashboard, or retried) passes again; otherwise the first task of the
// interval for this type and payload passes, the others do not.
func oncePass(ctx context.Context, rdb redis.UniversalClient, id, taskID string, every time.Duration) (bool, error) {
	ran := "contiple:periodic:ran:" + taskID
	if taskID != "" {
		if n, err := rdb.Exists(ctx, ran).Result(); err != nil || n == 1 {
			return err == nil, err
		}
	}
	sum := sha256.Sum256([]byte(id))
	key := fmt.Sprintf("contiple:periodic:%x:%d", sum[:8], time.Now().UnixNano()/int64(every))
	first, err := rdb.SetNX(ctx, key, taskID, 2*every).Result()
	if err != nil || !first {
		return false, err
	}
	if taskID != "" {
		err = rdb.Set(ctx, ran, 1, 24*time.Hour).Err()
	}
	return err == nil, err
}

// recurring are the task types that run again by themselves every interval:
// a failure shows as the mailbox's error (mail:poll) and as a metric until the
// next run, never as work for an operator to retry.
var recurring = map[string]bool{TypeMailPoll: true, TypeDooraySync: true, TypeMailExpireRaw: true}

// Recurring is task middleware for the recurring tasks: a run that fails for
// good is counted (contiple_recurring_failures_total) and revoked instead of
// archived. asynq keeps at most 10,000 archived tasks a queue and drops the
// oldest, so a day of failing polls would otherwise push out the archived
// mail and Dooray! tasks that an operator still has to press Run on.
func (m *Metrics) Recurring(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		err := next.ProcessTask(ctx, t)
		if err == nil || !recurring[t.Type()] {
			return err
		}
		retried, _ := asynq.GetRetryCount(ctx)
		maxRetry, _ := asynq.GetMaxRetry(ctx)
		if !errors.Is(err, asynq.SkipRetry) && retried < maxRetry {
			return err // asynq runs it again soon; the retry set is not the archive
		}
		var target struct {
			Mailbox   string `json:"mailbox"`
			ProjectID string `json:"project_id"`
		}
		_ = json.Unmarshal(t.Payload(), &target)
		m.recurringFailures.WithLabelValues(t.Type(), target.Mailbox+target.ProjectID).Inc()
		return fmt.Errorf("%w (not archived: it runs again next interval): %w", err, asynq.RevokeTask)
	})
}
