package dooray_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/contiple/contiple-worker/dooray"
	"github.com/contiple/contiple-worker/dooray/dooraytest"
	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/redis/go-redis/v9"
)

func TestParseRateLimit(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Requested-Tokens", "5")
	h.Set("X-RateLimit-Burst-Capacity", "20")
	h.Set("X-RateLimit-Replenish-Rate", "2")
	rl, ok := dooray.ParseRateLimit(h)
	if !ok || rl != (dooray.RateLimit{Remaining: 0, Requested: 5, BurstCapacity: 20, ReplenishRate: 2}) {
		t.Fatalf("ParseRateLimit = %+v, %v", rl, ok)
	}
	if got := rl.Wait(); got != 3*time.Second { // ceil(5/2)
		t.Errorf("Wait = %v, want 3s", got)
	}
	if _, ok := dooray.ParseRateLimit(http.Header{}); ok {
		t.Error("no headers parsed as a rate limit")
	}
}

// storm sends n concurrent Me calls through clients (one per simulated process)
// and reports how many failed.
func storm(t *testing.T, clients []*dooray.Client, perClient int) int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	for _, c := range clients {
		for range perClient {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				if _, err := c.Me(ctx); err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	return failed
}

func TestUnpacedStormIsThrottled(t *testing.T) {
	t.Parallel()
	s, c := newFake(t, dooray.Config{MaxRetries: -1}, dooraytest.WithRateLimit(10, 10))
	failed := storm(t, []*dooray.Client{c}, 25)
	if s.Throttled() < 10 || failed != s.Throttled() {
		t.Errorf("without pacing: %d throttled, %d failed; want ≥10 and equal", s.Throttled(), failed)
	}
}

func TestMemoryLimiterPacesOneProcess(t *testing.T) {
	t.Parallel()
	s, c := newFake(t, dooray.Config{Limiter: dooray.NewMemoryLimiter(dooray.LimiterConfig{})},
		dooraytest.WithRateLimit(5, 10))
	start := time.Now()
	if failed := storm(t, []*dooray.Client{c}, 12); failed != 0 {
		t.Errorf("%d calls failed", failed)
	}
	if n := s.Throttled(); n > 1 {
		t.Errorf("fake answered 429 %d times; pacing should keep it at 0", n)
	}
	t.Logf("12 calls in %v, %d throttled", time.Since(start), s.Throttled())
}

func TestRedisLimiterPacesManyProcesses(t *testing.T) {
	t.Parallel()
	opt, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("test:dooray:ratelimit:%d:", time.Now().UnixNano())
	s := dooraytest.NewServer(dooraytest.WithRateLimit(10, 10))
	defer s.Close()
	// Three "processes": each its own Redis connection pool, limiter and client.
	var clients []*dooray.Client
	for range 3 {
		rdb := redis.NewClient(opt)
		defer rdb.Close()
		c, err := dooray.New(dooray.Config{BaseURL: s.URL, Token: s.Token(), HTTPClient: s.Client(),
			Limiter: dooray.NewRedisLimiter(rdb, prefix, dooray.LimiterConfig{})})
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	start := time.Now()
	if failed := storm(t, clients, 12); failed != 0 {
		t.Errorf("%d of 36 calls failed", failed)
	}
	if n := s.Throttled(); n > 1 {
		t.Errorf("fake answered 429 %d times; shared pacing should keep it at 0", n)
	}
	if n := s.Requests()[dooraytest.RouteMe]; n != 36+s.Throttled() {
		t.Errorf("fake saw %d requests, want 36 plus retries", n)
	}
	t.Logf("36 calls from 3 processes in %v, %d throttled", time.Since(start), s.Throttled())
}

func TestRedisLimiterBackoffHoldsEveryone(t *testing.T) {
	t.Parallel()
	opt, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx := context.Background()
	prefix := fmt.Sprintf("test:dooray:backoff:%d:", time.Now().UnixNano())
	a := dooray.NewRedisLimiter(rdb, prefix, dooray.LimiterConfig{ReplenishRate: 100, BurstCapacity: 100})
	b := dooray.NewRedisLimiter(rdb, prefix, dooray.LimiterConfig{ReplenishRate: 100, BurstCapacity: 100})
	if err := a.Backoff(ctx, "k", 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := b.Wait(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 250*time.Millisecond {
		t.Errorf("waited %v after another process's backoff, want ≈300ms", waited)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.Wait(cctx, "k"); err == nil {
		t.Error("Wait ignored a cancelled context")
	}
}

// TestOnWaitReportsEveryWait: pacing waits and waits after a 429 reach OnWait
// with their reason (the worker counts them in its metrics).
func TestOnWaitReportsEveryWait(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	waits := map[string]int{}
	onWait := func(reason string, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if d > 0 {
			waits[reason]++
		}
	}
	s, c := newFake(t, dooray.Config{OnWait: onWait}, dooraytest.WithRateLimit(10, 10))
	s.FailNext(1, http.StatusTooManyRequests)
	if failed := storm(t, []*dooray.Client{c}, 2); failed != 0 {
		t.Fatalf("%d calls failed", failed)
	}
	_, paced := newFake(t, dooray.Config{OnWait: onWait, Limiter: dooray.NewMemoryLimiter(dooray.LimiterConfig{ReplenishRate: 20, Fixed: true})})
	if failed := storm(t, []*dooray.Client{paced}, 4); failed != 0 {
		t.Fatalf("%d paced calls failed", failed)
	}
	mu.Lock()
	defer mu.Unlock()
	if waits["throttled"] != 1 || waits["pacing"] == 0 {
		t.Errorf("waits %v, want one throttled and some pacing", waits)
	}
}
