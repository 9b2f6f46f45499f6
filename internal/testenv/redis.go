package testenv

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// leaseTTL bounds how long a crashed test process keeps a Redis database.
const leaseTTL = 15 * time.Minute

// NewRedisDB returns the URL of a flushed Redis logical database (1-14; 15 is
// the demo's) that
// no other test, in this process or another, uses until this test ends: each
// database is leased with a key in database 0. When all are taken, it waits.
func NewRedisDB(t testing.TB) string {
	t.Helper()
	base := RedisURL(t)
	opt, err := redis.ParseURL(base)
	if err != nil {
		t.Fatalf("CONTIPLE_REDIS_URL: %v", err)
	}
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{Addr: opt.Addr, Username: opt.Username, Password: opt.Password, DB: 0})
	defer admin.Close()
	owner := fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano())
	deadline := time.Now().Add(5 * time.Minute)
	for {
		start, err := admin.Incr(ctx, "contiple:test:next-db").Result()
		if err != nil {
			t.Fatalf("redis: %v", err)
		}
		for i := range int64(14) {
			n := int((start+i)%14) + 1
			key := fmt.Sprintf("contiple:test:db:%d", n)
			ok, err := admin.SetNX(ctx, key, owner, leaseTTL).Result()
			if err != nil {
				t.Fatalf("redis: %v", err)
			}
			if !ok {
				continue
			}
			t.Cleanup(func() {
				c := redis.NewClient(&redis.Options{Addr: opt.Addr, Username: opt.Username, Password: opt.Password, DB: 0})
				defer c.Close()
				c.Eval(context.Background(), `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
					[]string{key}, owner)
			})
			opt.DB = n
			db := redis.NewClient(opt)
			defer db.Close()
			if err := db.FlushDB(ctx).Err(); err != nil {
				t.Fatalf("redis flush: %v", err)
			}
			u, _ := url.Parse(base)
			u.Path = fmt.Sprintf("/%d", n)
			return u.String()
		}
		if time.Now().After(deadline) {
			t.Fatal("redis: all 14 test databases stayed taken for 5 minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// NewRedisCluster returns CONTIPLE_REDIS_CLUSTER_URL (scripts/services.sh
// starts a three-master cluster) flushed, for this test alone: a cluster has
// only database 0, so tests take turns, leased with a key in the single
// server's database 0.
func NewRedisCluster(t testing.TB) string {
	t.Helper()
	clusterURL := Lookup(t, "CONTIPLE_REDIS_CLUSTER_URL")
	opt, err := redis.ParseURL(RedisURL(t))
	if err != nil {
		t.Fatalf("CONTIPLE_REDIS_URL: %v", err)
	}
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{Addr: opt.Addr, Username: opt.Username, Password: opt.Password, DB: 0})
	defer admin.Close()
	const key = "contiple:test:cluster"
	owner := fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano())
	deadline := time.Now().Add(5 * time.Minute)
	for {
		ok, err := admin.SetNX(ctx, key, owner, leaseTTL).Result()
		if err != nil {
			t.Fatalf("redis: %v", err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("redis: the test cluster stayed taken for 5 minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Cleanup(func() {
		c := redis.NewClient(&redis.Options{Addr: opt.Addr, Username: opt.Username, Password: opt.Password, DB: 0})
		defer c.Close()
		c.Eval(context.Background(), `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
			[]string{key}, owner)
	})
	u, err := url.Parse(clusterURL)
	if err != nil {
		t.Fatalf("CONTIPLE_REDIS_CLUSTER_URL: %v", err)
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(u.Host, ",")})
	defer cc.Close()
	if err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		return c.FlushAll(ctx).Err()
	}); err != nil {
		t.Fatalf("redis cluster flush: %v", err)
	}
	return clusterURL
}
