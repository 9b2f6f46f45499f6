package dooray

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisLimiter paces requests across every process that shares one Redis (GCRA in
// Lua, on Redis server time so clocks of the workers do not matter). The pace the
// server reports is stored beside the state, so one process learning it is enough.
type RedisLimiter struct {
	rdb    redis.Scripter
	cfg    LimiterConfig
	prefix string

	mu      sync.Mutex
	learned map[string][2]int64 // last pace written per key, to skip redundant writes
}

// DefaultRedisPrefix namespaces the limiter's keys.
const DefaultRedisPrefix = "contiple:dooray:ratelimit:"

// NewRedisLimiter returns a Limiter keeping its state in Redis under prefix
// (DefaultRedisPrefix when empty). rdb may be a *redis.Client, ClusterClient or Ring.
func NewRedisLimiter(rdb redis.Scripter, prefix string, cfg LimiterConfig) *RedisLimiter {
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	return &RedisLimiter{rdb: rdb, cfg: cfg.withDefaults(), prefix: prefix, learned: map[string][2]int64{}}
}

// Idle state expires after a day; an active key is refreshed on every request.
const redisStateTTL = 24 * time.Hour

// Numbers go back to Redis through string.format: Redis converts bare Lua numbers
// with 14 significant digits, which would truncate microsecond timestamps.
var (
	redisAcquire = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local st = redis.call('HMGET', KEYS[1], 'tat', 'interval', 'burst')
local interval = tonumber(st[2]) or tonumber(ARGV[1])
local burst = tonumber(st[3]) or tonumber(ARGV[2])
local tat = tonumber(st[1]) or now
if tat < now then tat = now end
local wait = tat - now - (burst - 1) * interval
if wait > 0 then return math.ceil(wait) end
redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', tat + interval))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 0
`)
	redisLearn = redis.NewScript(`
redis.call('HSET', KEYS[1], 'interval', ARGV[1], 'burst', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 0
`)
	redisBackoff = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local st = redis.call('HMGET', KEYS[1], 'tat', 'interval', 'burst')
local interval = tonumber(st[2]) or tonumber(ARGV[1])
local burst = tonumber(st[3]) or tonumber(ARGV[2])
local tat = tonumber(st[1]) or now
local until_ = now + tonumber(ARGV[4]) + (burst - 1) * interval
if until_ > tat then
  redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', until_))
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 0
`)
)

func (l *RedisLimiter) defaults() (intervalUS int64, burst int) {
	interval, burst := pace(l.cfg.BurstCapacity, l.cfg.ReplenishRate, l.cfg.Headroom)
	return interval.Microseconds(), burst
}

func (l *RedisLimiter) Wait(ctx context.Context, key string) error {
	interval, burst := l.defaults()
	for {
		waitUS, err := redisAcquire.Run(ctx, l.rdb, []string{l.prefix + key},
			interval, burst, redisStateTTL.Milliseconds()).Int64()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("dooray: rate limiter: %w", err)
		}
		if waitUS <= 0 {
			return nil
		}
		if err := sleep(ctx, min(time.Duration(waitUS)*time.Microsecond, maxPoll)); err != nil {
			return err
		}
	}
}

func (l *RedisLimiter) Learn(ctx context.Context, key string, rl RateLimit) error {
	if l.cfg.Fixed {
		return nil
	}
	interval, burst := pace(rl.BurstCapacity, rl.ReplenishRate, l.cfg.Headroom)
	p := [2]int64{interval.Microseconds(), int64(burst)}
	l.mu.Lock()
	same := l.learned[key] == p
	l.mu.Unlock()
	if same {
		return nil
	}
	if err := redisLearn.Run(ctx, l.rdb, []string{l.prefix + key},
		p[0], p[1], redisStateTTL.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("dooray: rate limiter: %w", err)
	}
	l.mu.Lock()
	l.learned[key] = p
	l.mu.Unlock()
	return nil
}

func (l *RedisLimiter) Backoff(ctx context.Context, key string, d time.Duration) error {
	interval, burst := l.defaults()
	if err := redisBackoff.Run(ctx, l.rdb, []string{l.prefix + key},
		interval, burst, redisStateTTL.Milliseconds(), d.Microseconds()).Err(); err != nil {
		return fmt.Errorf("dooray: rate limiter: %w", err)
	}
	return nil
}
