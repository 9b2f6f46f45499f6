package jobs

import (
	"errors"
	"fmt"
	"time"
)

// DeferredError ends a mail:send task whose mail must wait (the recipient's
// hourly cap): asynq runs it again at Until (see RetryDelay), and the mail
// stays owed meanwhile.
type DeferredError struct {
	OutboundMailID int64
	Until          time.Time
	Reason         string
}

func (e *DeferredError) Error() string {
	return fmt.Sprintf("mail %d deferred: %s", e.OutboundMailID, e.Reason)
}

// deferDelay is how long a deferred task waits before it runs again.
func deferDelay(err error, now time.Time) (time.Duration, bool) {
	var de *DeferredError
	if !errors.As(err, &de) {
		return 0, false
	}
	// A second past the window, so that the next attempt finds room.
	return max(de.Until.Sub(now), 0) + time.Second, true
}
