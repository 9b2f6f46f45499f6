package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contiple/contiple-worker/internal/config"
	"github.com/contiple/contiple-worker/internal/testenv"
)

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestServe runs the worker and checks what an operator meets: health, readiness,
// metrics, and the dashboard behind its credential listing the one mail:send task
// a resolve owes. Then SIGTERM's context cancel stops it cleanly.
func TestServe(t *testing.T) {
	pool := testenv.NewDatabase(t)
	t.Setenv("CONTIPLE_DATABASE_URL", testenv.URLFor(t, pool))
	t.Setenv("CONTIPLE_REDIS_URL", testenv.NewRedisDB(t))
	t.Setenv("CT_TEST_DASHBOARD", "s3cret")
	addr := freeAddr(t)
	path := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(path, []byte(fmt.Sprintf(`
http: {addr: "%s", dashboard_password_env: CT_TEST_DASHBOARD}
smtp: {host: 127.0.0.1, port: 2525}
services:
  - {key: support, name: Support, address: support@example.test, locale: en}
`, addr)), 0o600)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr
	startServe(t, cfg, base) // stopped as SIGTERM would, at the end
	get := func(path string, auth bool) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		if auth {
			req.SetBasicAuth("admin", "s3cret")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/readyz", false); code != 200 || !strings.Contains(body, "ready") {
		t.Fatalf("readyz = %d %q", code, body)
	}
	if code, _ := get("/monitoring/", false); code != http.StatusUnauthorized {
		t.Fatalf("dashboard without credential = %d, want 401", code)
	}
	if code, body := get("/monitoring/", true); code != 200 || !strings.Contains(body, "<html") {
		t.Fatalf("dashboard = %d", code)
	}

	for _, args := range [][]string{
		{"ticket", "create", "--service", "support", "--subject", "Refund", "--customer-email", "c@example.com"},
		{"ticket", "assign", "1", "--operator", "kim"},
		{"ticket", "resolve", "1", "--note", "Refunded."},
	} {
		if out, err := run(t, args...); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	var queues struct{ Queues []queueInfo }
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := get("/monitoring/api/queues", true)
		if code != 200 {
			t.Fatalf("queues API = %d %s", code, body)
		}
		json.Unmarshal([]byte(body), &queues)
		if len(queues.Queues) == 4 && sizes(queues.Queues) == "default:0 dooray:0 mail_in:0 mail_out:1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queues: %s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, body := get("/metrics", false); code != 200 || !strings.Contains(body, `contiple_board_tickets{measure="resolved_today"} 1`) ||
		!strings.Contains(body, "contiple_outbox_lag_seconds 0") || !strings.Contains(body, `contiple_inbound_mails{state="failed"} 0`) {
		t.Fatalf("metrics = %d:\n%s", code, body)
	}
}

type queueInfo struct {
	Queue string
	Size  int
}

// sizes is "queue:size …" in queue order, to compare the dashboard's view at a glance.
func sizes(qs []queueInfo) string {
	var parts []string
	for _, q := range qs {
		parts = append(parts, fmt.Sprintf("%s:%d", q.Queue, q.Size))
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}
