package email

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff spaces out reconnection attempts: each Next doubles the delay from
// Min up to Max, with "equal jitter" (a random point in the upper half) so
// that many workers that lost the same server do not come back in step.
// The zero value waits 1s, 2s, 4s, … up to 5 minutes. Not safe for
// concurrent use; keep one per mailbox loop.
type Backoff struct {
	Min, Max time.Duration
	attempt  int
}

// Next returns how long to wait before the next attempt.
func (b *Backoff) Next() time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = time.Second
	}
	if hi <= 0 {
		hi = 5 * time.Minute
	}
	if hi < lo {
		hi = lo
	}
	d := hi
	if b.attempt < 62 {
		if x := lo << b.attempt; x > 0 && x < hi {
			d = x
			b.attempt++
		}
	}
	half := d / 2
	return d - half + rand.N(half+1)
}

// Reset starts over from Min; call it after a connection has worked.
func (b *Backoff) Reset() { b.attempt = 0 }

// Wait sleeps for Next(), or until ctx ends (then it returns ctx.Err()).
func (b *Backoff) Wait(ctx context.Context) error {
	t := time.NewTimer(b.Next())
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
