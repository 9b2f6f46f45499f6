package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contiple/contiple-worker/internal/config"
	"github.com/contiple/contiple-worker/internal/testenv"
)

// TestServeWaitsForPostgreSQLAndRedis starts serve while PostgreSQL and Redis
// refuse every connection (each behind a proxy in the test that closes what it
// accepts). serve must not exit: /healthz answers, /readyz says what it waits
// for; when PostgreSQL answers, /readyz names Redis; when Redis answers too,
// the worker starts and does its work.
func TestServeWaitsForPostgreSQLAndRedis(t *testing.T) {
	pool := testenv.NewDatabase(t)
	dbURL, err := url.Parse(testenv.URLFor(t, pool))
	if err != nil {
		t.Fatal(err)
	}
	redisURL, err := url.Parse(testenv.NewRedisDB(t))
	if err != nil {
		t.Fatal(err)
	}
	pg := newFlakyProxy(t, dbURL.Host)
	rd := newFlakyProxy(t, redisURL.Host)
	dbURL.Host, redisURL.Host = pg.addr, rd.addr
	t.Setenv("CONTIPLE_DATABASE_URL", dbURL.String())
	t.Setenv("CONTIPLE_REDIS_URL", redisURL.String())
	addr := freeAddr(t)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(`
http: {addr: "%s"}
smtp: {host: 127.0.0.1, port: 2525}
services:
  - {key: support, name: Support, address: support@example.test, locale: en}
`, addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr
	a := &app{out: io.Discard, log: testLogger(t)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v after shutdown", err)
			}
		case <-time.After(40 * time.Second):
			t.Error("serve did not stop")
		}
	})
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	alive := func() {
		t.Helper()
		select {
		case err := <-done:
			t.Fatalf("serve exited while a dependency was down: %v", err)
		default:
		}
		if code, body := get("/healthz"); code != 200 {
			t.Fatalf("/healthz = %d %q while waiting", code, body)
		}
	}
	waitReady := func(what, want string, code int) {
		t.Helper()
		var got string
		var gotCode int
		testenv.WaitFor(t, time.Minute, what, func() bool {
			gotCode, got = get("/readyz")
			return gotCode == code && strings.Contains(got, want)
		})
		alive()
	}
	waitReady("/readyz to name PostgreSQL", "waiting for postgresql", 503)
	if pg.refused.Load() < 2 {
		t.Errorf("PostgreSQL was tried %d times; want it tried again with backoff", pg.refused.Load())
	}
	pg.open()
	waitReady("/readyz to name Redis", "waiting for redis", 503)
	rd.open()
	waitReady("/readyz to say ready", "ready", 200)
	// It works: the metrics are served, which needs the database.
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "contiple_board_tickets") {
		t.Errorf("/metrics = %d after the start", code)
	}
}

// flakyProxy listens on loopback and, until open, closes every connection
// it accepts (a server that is down); once open it forwards to target.
type flakyProxy struct {
	addr    string
	target  string
	forward atomic.Bool
	refused atomic.Int64

	mu    sync.Mutex
	conns []net.Conn
}

func newFlakyProxy(t *testing.T, target string) *flakyProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &flakyProxy{addr: l.Addr().String(), target: target}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		p.cut()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				continue
			}
			if !p.forward.Load() {
				p.refused.Add(1)
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			wg.Go(func() { io.Copy(up, c); up.Close() })
			wg.Go(func() { io.Copy(c, up); c.Close() })
		}
	})
	return p
}

func (p *flakyProxy) open() { p.forward.Store(true) }

// cut closes every connection it carries, as a server's restart does.
func (p *flakyProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// restart is the server going down for d: connections cut, new ones refused.
func (p *flakyProxy) restart(d time.Duration) {
	p.forward.Store(false)
	p.cut()
	time.Sleep(d)
	p.forward.Store(true)
}
