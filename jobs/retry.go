package jobs

import (
	"errors"
	"time"

	"github.com/hibiken/asynq"

	"github.com/contiple/contiple-worker/dooray"
)

// RetryDelay is the server's asynq RetryDelayFunc. A task whose worker died
// (its lease expired) runs again at once; one refused by a Dooray! 429 waits
// what the rate-limit headers asked for (when longer than the client sleeps
// itself); a mail deferred by the hourly cap waits for its window; everything
// else backs off as asynq does by default.
func RetryDelay(n int, err error, t *asynq.Task) time.Duration {
	if errors.Is(err, asynq.ErrLeaseExpired) {
		return time.Second
	}
	if d, ok := deferDelay(err, time.Now()); ok {
		return d
	}
	if d := dooray.RetryAfter(err); d > 0 {
		return d + time.Duration(n)*time.Second
	}
	return asynq.DefaultRetryDelayFunc(n, err, t)
}
