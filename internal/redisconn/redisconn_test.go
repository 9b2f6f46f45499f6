package redisconn

import (
	"strings"
	"testing"

	"github.com/hibiken/asynq"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name, url string
		check     func(t *testing.T, opt asynq.RedisConnOpt)
	}{
		{"one server", "redis://:pw@127.0.0.1:6390/3", func(t *testing.T, opt asynq.RedisConnOpt) {
			o := opt.(asynq.RedisClientOpt)
			if o.Addr != "127.0.0.1:6390" || o.DB != 3 || o.Password != "pw" {
				t.Errorf("got %+v", o)
			}
		}},
		{"sentinel", "redis-sentinel://:pw@h1:26379,h2:26379?master=mymaster", func(t *testing.T, opt asynq.RedisConnOpt) {
			o := opt.(asynq.RedisFailoverClientOpt)
			if o.MasterName != "mymaster" || len(o.SentinelAddrs) != 2 {
				t.Errorf("got %+v", o)
			}
		}},
		{"cluster", "redis-cluster://user:pw@h1:7000,h2:7001,h3:7002", func(t *testing.T, opt asynq.RedisConnOpt) {
			o := opt.(asynq.RedisClusterClientOpt)
			if strings.Join(o.Addrs, " ") != "h1:7000 h2:7001 h3:7002" || o.Username != "user" || o.Password != "pw" || o.TLSConfig != nil {
				t.Errorf("got %+v", o)
			}
		}},
		{"cluster with TLS", "rediss-cluster://h1:7000", func(t *testing.T, opt asynq.RedisConnOpt) {
			o := opt.(asynq.RedisClusterClientOpt)
			if o.TLSConfig == nil || o.TLSConfig.ServerName != "h1" {
				t.Errorf("got %+v", o)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opt, err := Parse(c.url)
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, opt)
		})
	}
}

// A malformed URL is reported without the password in it.
func TestParseErrorsKeepThePasswordOut(t *testing.T) {
	const secret = "s3cr3t-Pa55"
	for _, raw := range []string{
		"redis://:" + secret + "@127.0.0.1:6390/notanumber",
		"redis://:" + secret + "@127.0.0.1:port/0",
		"redis://:" + secret + "@[::1/0",
		"redis-cluster://:" + secret + "@h1,h2:7000",
		"redis-cluster://:" + secret + "@h1:7000/2",
		"redis-cluster://:" + secret + "@h1:7000%zz",
		"redsi://:" + secret + "@h1:6379",
		":" + secret + "@h1:6379",
	} {
		_, err := Parse(raw)
		if err == nil {
			t.Errorf("%q: no error", raw)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error repeats the password: %v", err)
		}
	}
}
