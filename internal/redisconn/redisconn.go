package redisconn

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Parse reads a Redis URL:
//
//	redis://[:password@]host[:port][/db]       one server (rediss:// with TLS)
//	redis-sentinel://[:password@]h1:p1,h2:p2[?master=name]
//	redis-cluster://[:password@]h1:p1,h2:p2   Redis Cluster (rediss-cluster:// with TLS)
//
// A cluster has only database 0; a path is refused there. The error names
// what is wrong and never contains the URL's password.
func Parse(raw string) (asynq.RedisConnOpt, error) {
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, errors.New("not a URL: want redis://, rediss://, redis-sentinel:// or redis-cluster://")
	}
	switch scheme {
	case "redis-cluster", "rediss-cluster":
		u, err := parseURL(raw)
		if err != nil {
			return nil, err
		}
		if p := strings.Trim(u.Path, "/"); p != "" && p != "0" {
			return nil, errors.New("a Redis Cluster has only database 0: remove the path")
		}
		opt := asynq.RedisClusterClientOpt{Addrs: strings.Split(u.Host, ",")}
		for _, a := range opt.Addrs {
			if _, _, err := net.SplitHostPort(a); err != nil {
				return nil, fmt.Errorf("cluster node %q: want host:port", a)
			}
		}
		if u.User != nil {
			opt.Username = u.User.Username()
			opt.Password, _ = u.User.Password()
		}
		if scheme == "rediss-cluster" {
			host, _, _ := net.SplitHostPort(opt.Addrs[0])
			opt.TLSConfig = &tls.Config{ServerName: host}
		}
		return opt, nil
	case "redis", "rediss", "redis-sentinel", "redis-socket":
		if _, err := parseURL(raw); err != nil {
			return nil, err
		}
		opt, err := asynq.ParseRedisURI(raw)
		if err != nil {
			return nil, errors.New(redact(err.Error(), raw))
		}
		return opt, nil
	default:
		return nil, fmt.Errorf("unsupported scheme %q: want redis://, rediss://, redis-sentinel:// or redis-cluster://", scheme)
	}
}

// Client makes the go-redis client for opt: a single-node, failover or
// cluster client, each a redis.UniversalClient.
func Client(opt asynq.RedisConnOpt) (redis.UniversalClient, error) {
	c, ok := opt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		return nil, errors.New("unsupported Redis connection")
	}
	return c, nil
}

// parseURL is url.Parse without the URL (and so the password) in its error.
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, fmt.Errorf("not a valid URL: %w", ue.Err)
		}
		return nil, errors.New("not a valid URL")
	}
	return u, nil
}

// redact removes the password of raw from msg.
func redact(msg, raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return msg
	}
	if pw, ok := u.User.Password(); ok && pw != "" {
		msg = strings.ReplaceAll(msg, pw, "xxxxx")
	}
	return msg
}
