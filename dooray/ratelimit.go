package dooray

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RateLimit is what Dooray! reports in its X-RateLimit-* headers. The numbers may
// change without notice, so they are read from every response, never hard-coded.
type RateLimit struct {
	Remaining     int     // X-RateLimit-Remaining
	Requested     int     // X-RateLimit-Requested-Tokens
	BurstCapacity int     // X-RateLimit-Burst-Capacity
	ReplenishRate float64 // X-RateLimit-Replenish-Rate, tokens per second
}

// ParseRateLimit reads the rate-limit headers; ok is false when the bucket size
// or rate is missing, as on responses that bypass the limiter.
func ParseRateLimit(h http.Header) (rl RateLimit, ok bool) {
	num := func(name string) (float64, bool) {
		v := strings.TrimSpace(h.Get(name))
		if v == "" {
			return 0, false
		}
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil && f >= 0
	}
	remaining, _ := num("X-RateLimit-Remaining")
	requested, _ := num("X-RateLimit-Requested-Tokens")
	burst, okB := num("X-RateLimit-Burst-Capacity")
	rate, okR := num("X-RateLimit-Replenish-Rate")
	rl = RateLimit{
		Remaining:     int(remaining),
		Requested:     int(requested),
		BurstCapacity: int(burst),
		ReplenishRate: rate,
	}
	return rl, okB && okR && (burst > 0 || rate > 0)
}

// Wait is how long to pause after a 429: the missing tokens over the replenish
// rate, rounded up to whole seconds because the bucket refills once a second.
func (rl RateLimit) Wait() time.Duration {
	if rl.ReplenishRate <= 0 {
		return time.Second
	}
	missing := math.Max(float64(rl.Requested-rl.Remaining), 1)
	return time.Duration(math.Ceil(missing/rl.ReplenishRate)) * time.Second
}

// retryAfter is the wait a 429 asks for: an undocumented Retry-After wins if a
// server ever sends one, then the rate-limit headers, then one second.
func retryAfter(h http.Header) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(max(s, 1)) * time.Second
		}
	}
	if rl, ok := ParseRateLimit(h); ok {
		return rl.Wait()
	}
	return time.Second
}

// Limiter paces requests so that every process using one token stays under the
// server's bucket. Key identifies the bucket (a hash of the token, never the token).
type Limiter interface {
	// Wait blocks until one request may be sent under key, or ctx ends.
	Wait(ctx context.Context, key string) error
	// Learn adopts the bucket the server reported.
	Learn(ctx context.Context, key string, rl RateLimit) error
	// Backoff holds every request under key for d, after a 429.
	Backoff(ctx context.Context, key string, d time.Duration) error
}

// LimiterConfig describes the server's bucket until its headers say otherwise.
type LimiterConfig struct {
	// ReplenishRate and BurstCapacity are assumed before the first response
	// (defaults 1 and 1: slow until learned, never a storm). Dooray!'s real
	// numbers are undocumented.
	ReplenishRate float64
	BurstCapacity int
	// Fixed ignores the headers and keeps the configured bucket.
	Fixed bool
	// Headroom is the share of the server's rate used (default 0.9), leaving room
	// for clock skew between our pacing and the server's refills.
	Headroom float64
}

func (c LimiterConfig) withDefaults() LimiterConfig {
	if c.ReplenishRate <= 0 {
		c.ReplenishRate = 1
	}
	if c.BurstCapacity <= 0 {
		c.BurstCapacity = 1
	}
	if c.Headroom <= 0 || c.Headroom > 1 {
		c.Headroom = 0.9
	}
	return c
}

// pace turns the server's bucket into GCRA parameters: an emission interval and
// a burst. The server refills in whole-second steps and never above its
// capacity, so its sustained rate is min(capacity, rate) and a continuous pacer
// may only burst what one second's refill does not need.
func pace(burstCap int, rate, headroom float64) (interval time.Duration, burst int) {
	c := float64(burstCap)
	if c <= 0 {
		c = rate
	}
	if rate <= 0 {
		rate = c
	}
	m := math.Min(c, rate)
	eff := m * headroom
	if eff <= 0 {
		return time.Second, 1
	}
	interval = time.Duration(float64(time.Second) / eff)
	b := max(1, int(c)-int(math.Ceil(rate)), int(m)-int(math.Ceil(eff))+1)
	return interval, b
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
