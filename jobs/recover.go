package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/hibiken/asynq"
)

// Recover is task middleware that turns a panic of a handler into the task's
// error, so that the middleware around it sees a failure like any other (it
// is counted, recorded in the outbox, and a recurring task is not archived).
// The panic's text goes through redact before it reaches the log or Redis
// (the dashboard shows a task's last error), so a secret caught up in it is
// never shown. Use it innermost.
func Recover(log *slog.Logger, redact func(string) string) asynq.MiddlewareFunc {
	return func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) (err error) {
			defer func() {
				if r := recover(); r != nil {
					msg := redact(fmt.Sprint(r))
					id, _ := asynq.GetTaskID(ctx)
					log.Error("task handler panicked", "task_type", t.Type(), "task_id", id, "panic", msg,
						"stack", redact(string(debug.Stack())))
					err = fmt.Errorf("panic: %s", msg)
				}
			}()
			return next.ProcessTask(ctx, t)
		})
	}
}
