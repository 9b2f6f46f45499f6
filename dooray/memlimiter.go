package dooray

import (
	"context"
	"sync"
	"time"
)

// MemoryLimiter paces the requests of one process (GCRA). Use RedisLimiter when
// several processes share a token.
type MemoryLimiter struct {
	cfg LimiterConfig

	mu      sync.Mutex
	buckets map[string]*memBucket
}

type memBucket struct {
	tat      time.Time // theoretical arrival time
	interval time.Duration
	burst    int
}

// NewMemoryLimiter returns an in-process Limiter.
func NewMemoryLimiter(cfg LimiterConfig) *MemoryLimiter {
	return &MemoryLimiter{cfg: cfg.withDefaults(), buckets: map[string]*memBucket{}}
}

func (l *MemoryLimiter) bucket(key string) *memBucket {
	b := l.buckets[key]
	if b == nil {
		interval, burst := pace(l.cfg.BurstCapacity, l.cfg.ReplenishRate, l.cfg.Headroom)
		b = &memBucket{interval: interval, burst: burst}
		l.buckets[key] = b
	}
	return b
}

// reserve takes a slot now or says how long until one frees up.
func (l *MemoryLimiter) reserve(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(key)
	tat := b.tat
	if tat.Before(now) {
		tat = now
	}
	tolerance := time.Duration(b.burst-1) * b.interval
	if wait := tat.Sub(now) - tolerance; wait > 0 {
		return wait
	}
	b.tat = tat.Add(b.interval)
	return 0
}

func (l *MemoryLimiter) Wait(ctx context.Context, key string) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		wait := l.reserve(key, time.Now())
		if wait == 0 {
			return nil
		}
		// Re-check at least every maxPoll: the pace may be learned meanwhile.
		if err := sleep(ctx, min(wait, maxPoll)); err != nil {
			return err
		}
	}
}

func (l *MemoryLimiter) Learn(_ context.Context, key string, rl RateLimit) error {
	if l.cfg.Fixed {
		return nil
	}
	interval, burst := pace(rl.BurstCapacity, rl.ReplenishRate, l.cfg.Headroom)
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(key)
	b.interval, b.burst = interval, burst
	return nil
}

func (l *MemoryLimiter) Backoff(_ context.Context, key string, d time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(key)
	// The next slot opens when tat-tolerance is reached, so push tat past now+d.
	if until := time.Now().Add(d + time.Duration(b.burst-1)*b.interval); until.After(b.tat) {
		b.tat = until
	}
	return nil
}

// maxPoll bounds one sleep inside Wait so that a learned, faster pace takes
// effect promptly for requests that queued under the initial guess.
const maxPoll = 250 * time.Millisecond
