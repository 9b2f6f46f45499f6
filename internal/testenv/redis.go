package testenv

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/redis/go-redis/v9"
)

// NewRedisDB returns the URL of a flushed Redis logical database (1-15) for one
// test. Databases are handed out in turn across test processes, so tests that
// run at the same time do not see each other's queues.
func NewRedisDB(t testing.TB) string {
	t.Helper()
	base := RedisURL(t)
	opt, err := redis.ParseURL(base)
	if err != nil {
		t.Fatalf("CONTIPLE_REDIS_URL: %v", err)
	}
	ctx := context.Background()
	c := redis.NewClient(opt)
	n, err := c.Incr(ctx, "contiple:test:next-db").Result()
	c.Close()
	if err != nil {
		t.Fatalf("redis: %v", err)
	}
	opt.DB = int(n%15) + 1
	db := redis.NewClient(opt)
	defer db.Close()
	if err := db.FlushDB(ctx).Err(); err != nil {
		t.Fatalf("redis flush: %v", err)
	}
	u, _ := url.Parse(base)
	u.Path = fmt.Sprintf("/%d", opt.DB)
	return u.String()
}
