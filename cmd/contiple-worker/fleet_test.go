package main

import (
	"context"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/contiple/contiple-worker/dooray/dooraytest"
	"github.com/contiple/contiple-worker/internal/redisconn"
	"github.com/contiple/contiple-worker/internal/smtptest"
	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/ticket"
)

// fleetWorker is one `serve` process of the fleet test.
type fleetWorker struct {
	name, addr string
	cmd        *exec.Cmd
	log        *os.File
}

// TestTwoWorkersOneKilledDoEverythingOnce runs two `serve` processes against one
// PostgreSQL and one Redis (a single server, then a Redis Cluster): intake from
// Dovecot, resolve mails over SMTP and Dooray! escalations with their state
// sync all at once. One process is killed with SIGKILL midway and started
// again later. Every mail must become exactly one ticket, every resolve mail
// go out once (a copy is allowed only in the documented window, with the same
// Message-ID and a second attempt recorded), and every escalation make exactly
// one Dooray! task. The third run adds faults: three kills, a PostgreSQL
// restart and a Redis restart that loses every task.
func TestTwoWorkersOneKilledDoEverythingOnce(t *testing.T) {
	bin := buildWorker(t)
	t.Run("redis", func(t *testing.T) { testFleet(t, bin, testenv.NewRedisDB(t), 400, false) })
	t.Run("redis cluster", func(t *testing.T) { testFleet(t, bin, testenv.NewRedisCluster(t), 200, false) })
	t.Run("faults", func(t *testing.T) { testFleet(t, bin, testenv.NewRedisDB(t), 300, true) })
}

// testFleet runs the fleet on redisURL. With faults, the workers reach
// PostgreSQL and Redis through proxies, and midway, besides the kills,
// PostgreSQL restarts and Redis restarts without persistence (its data gone).
func testFleet(t *testing.T, bin, redisURL string, mails int, faults bool) {
	ctx := context.Background()
	pool := testenv.NewDatabase(t)
	store := ticket.NewStore(pool, nil)
	dbURL := testenv.URLFor(t, pool)
	workerDB, workerRedis := dbURL, redisURL
	var pgProxy, redisProxy *flakyProxy
	if faults {
		pgProxy, workerDB = proxied(t, dbURL)
		redisProxy, workerRedis = proxied(t, redisURL)
	}
	u := testenv.NewIMAPUser(t)
	for i := range mails {
		u.Append("INBOX", fmt.Sprintf("From: c%d@example.jp\r\nTo: support@example.test\r\nSubject: fleet %d\r\n"+
			"Message-ID: <fleet-%d@example.jp>\r\nDate: Thu, 03 Dec 2026 09:00:00 +0900\r\n"+
			"Content-Type: text/plain; charset=utf-8\r\n\r\nお問い合わせ %d\r\n", i, i, i, i))
	}
	mx := smtptest.New(t)
	fake := dooraytest.NewServer(dooraytest.WithRateLimit(500, 500)) // headers teach the workers a fast pace
	t.Cleanup(fake.Close)
	project := fake.ProjectID()

	dir := t.TempDir()
	workers := []*fleetWorker{{name: "a", addr: freeAddr(t)}, {name: "b", addr: freeAddr(t)}}
	for _, w := range workers {
		cfg := fmt.Sprintf(`
http: {addr: "%s", webhook_token_env: FLEET_WEBHOOK_TOKEN}
smtp: {host: %s, port: %d, recipient_per_hour: 1000}
dooray: {base_url: "%s", token_env: FLEET_DOORAY_TOKEN, bot_member_id: "%s", sync_interval: 1s}
services:
  - key: support
    name: Support
    address: support@example.test
    locale: en
    mailbox: {host: %s, port: %d, tls: none, username: %s, password_env: CONTIPLE_IMAP_PASSWORD, idle: true, poll_interval: 1s}
    dooray: {project_id: "%s"}
`, w.addr, mx.Host(), mx.Port(), fake.URL, fake.BotMemberID(), u.Host, u.Port, u.Username, project)
		if err := os.WriteFile(filepath.Join(dir, w.name+".yaml"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "CONTIPLE_DATABASE_URL="+workerDB, "CONTIPLE_REDIS_URL="+workerRedis,
		"CONTIPLE_LOG_LEVEL=warn", "FLEET_DOORAY_TOKEN="+fake.Token(), "FLEET_WEBHOOK_TOKEN=fleet-hook")
	start := func(w *fleetWorker) {
		t.Helper()
		if w.log == nil {
			f, err := os.Create(filepath.Join(dir, w.name+".log"))
			if err != nil {
				t.Fatal(err)
			}
			w.log = f
			t.Cleanup(func() { f.Close() })
		}
		w.cmd = workerCommand(bin, "serve", "--config", filepath.Join(dir, w.name+".yaml"))
		w.cmd.Env, w.cmd.Stdout, w.cmd.Stderr = env, w.log, w.log
		if err := w.cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	logs := func() string {
		var b strings.Builder
		for _, w := range workers {
			data, _ := os.ReadFile(w.log.Name())
			fmt.Fprintf(&b, "--- worker %s\n%s", w.name, data)
		}
		return b.String()
	}
	t.Cleanup(func() {
		for _, w := range workers {
			if w.cmd != nil && w.cmd.ProcessState == nil {
				w.cmd.Process.Kill()
				w.cmd.Wait()
			}
		}
	})
	count := func(query string, args ...any) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, query, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, w := range workers {
		start(w)
	}

	// The helpdesk at work while the fleet takes mail in: every new ticket is
	// assigned; even ones are resolved (a mail), odd ones escalated (a task),
	// whose tasks Dooray! users then close; the answered ones are resolved too.
	var (
		driveErr error
		done     = make(chan struct{})
		wg       sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		driveErr = driveFleet(ctx, pool, store, fake, project, mails, done)
	}()

	// Midway: intake, sending and escalation all under way.
	testenv.WaitFor(t, 2*time.Minute, "work under way in every part", func() bool {
		return count("SELECT count(*) FROM tickets") >= mails/4 && len(mx.Messages()) >= mails/20 && len(fake.Posts(project)) >= mails/40
	})
	progress := func(what string) {
		t.Logf("%s: %d stored, %d tickets, %d mails sent, %d tasks", what,
			count("SELECT count(*) FROM inbound_mails"), count("SELECT count(*) FROM tickets"),
			len(mx.Messages()), len(fake.Posts(project)))
	}
	kill := func(w *fleetWorker) {
		w.cmd.Process.Kill()
		w.cmd.Wait()
		progress("worker " + w.name + " killed")
		time.Sleep(time.Second)
		start(w)
	}
	kill(workers[0])
	if faults {
		pgProxy.restart(2 * time.Second)
		progress("PostgreSQL restarted")
		kill(workers[1])
		flushRedis(t, redisURL)
		redisProxy.restart(time.Second)
		progress("Redis restarted empty")
		time.Sleep(time.Second)
		kill(workers[0])
	}

	finished := func() bool {
		return count("SELECT count(*) FROM tickets WHERE status = 'resolved'") == mails &&
			count("SELECT count(*) FROM outbound_mails WHERE state <> 'sent'") == 0 &&
			count("SELECT count(*) FROM inbound_mails WHERE acked_at IS NOT NULL") == mails
	}
	// After Redis lost its data, the outbox brings the lost tasks back once
	// they are two minutes old.
	deadline := time.Now().Add(6 * time.Minute)
	for !finished() {
		if time.Now().After(deadline) {
			close(done)
			wg.Wait()
			r, _ := pool.Query(ctx, "SELECT status || ':' || count(*) FROM tickets GROUP BY status")
			for r.Next() {
				var s string
				r.Scan(&s)
				t.Log(s)
			}
			r.Close()
			r, _ = pool.Query(ctx, "SELECT kind || ':' || coalesce(data::text, '') FROM ticket_events WHERE kind LIKE 'dooray%' LIMIT 5")
			for r.Next() {
				var s string
				r.Scan(&s)
				t.Log(s)
			}
			r.Close()
			t.Fatalf("not done after 6 minutes (drive: %v): %d tickets resolved, %d mails unsent, %d acknowledged\n%s", driveErr,
				count("SELECT count(*) FROM tickets WHERE status = 'resolved'"),
				count("SELECT count(*) FROM outbound_mails WHERE state <> 'sent'"),
				count("SELECT count(*) FROM inbound_mails WHERE acked_at IS NOT NULL"), logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	close(done)
	wg.Wait()
	if driveErr != nil {
		t.Fatal(driveErr)
	}
	for _, w := range workers {
		// SIGTERM is handled once serve is up: the restarted one may still be starting.
		testenv.WaitFor(t, time.Minute, "worker "+w.name+" to come up", func() bool {
			resp, err := http.Get("http://" + w.addr + "/healthz")
			if err == nil {
				resp.Body.Close()
			}
			return err == nil
		})
		w.cmd.Process.Signal(syscall.SIGTERM)
		if err := w.cmd.Wait(); err != nil {
			t.Errorf("worker %s did not stop cleanly: %v", w.name, err)
		}
	}

	// Intake: one ticket and one message per mail.
	if n := count("SELECT count(*) FROM tickets"); n != mails {
		t.Errorf("%d tickets for %d mails", n, mails)
	}
	if n := count("SELECT count(*) FROM ticket_messages WHERE kind = 'customer'"); n != mails {
		t.Errorf("%d customer messages for %d mails: some mail was filed twice", n, mails)
	}
	// Sending: every resolve mail delivered; a second copy only in the window.
	delivered := map[string]int{}
	for _, m := range mx.Messages() {
		msg, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
		if err != nil {
			t.Fatal(err)
		}
		delivered[msg.Header.Get("Message-Id")]++
	}
	rows, err := pool.Query(ctx, "SELECT '<' || mail_message_id || '>', attempts FROM outbound_mails")
	if err != nil {
		t.Fatal(err)
	}
	outbound := 0
	for rows.Next() {
		var id string
		var attempts int
		if err := rows.Scan(&id, &attempts); err != nil {
			t.Fatal(err)
		}
		outbound++
		switch n := delivered[id]; {
		case n == 0:
			t.Errorf("mail %s recorded sent, never delivered", id)
		case n > 1 && attempts < 2:
			t.Errorf("mail %s delivered %d times in %d attempt(s)", id, n, attempts)
		case n > 1:
			t.Logf("mail %s delivered %d times: the documented window (SMTP accepted, not recorded)", id, n)
		}
		delete(delivered, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if outbound != mails {
		t.Errorf("%d resolve mails recorded for %d tickets", outbound, mails)
	}
	if len(delivered) > 0 {
		t.Errorf("mails delivered that no row records: %v", delivered)
	}
	// Dooray!: exactly one task per escalation, each linked to its ticket.
	escalated := count("SELECT count(*) FROM dooray_links")
	if escalated != mails/2 {
		t.Errorf("%d escalations, want %d", escalated, mails/2)
	}
	markers := map[string]int{}
	for _, p := range fake.Posts(project) {
		markers[strings.Fields(p.Subject)[0]]++
	}
	if len(markers) != escalated {
		t.Errorf("%d tasks' markers for %d escalations", len(markers), escalated)
	}
	for m, n := range markers {
		if n != 1 {
			t.Errorf("%d tasks carry %s", n, m)
		}
	}
	if n := count("SELECT count(*) FROM dooray_links WHERE post_id IS NULL"); n != 0 {
		t.Errorf("%d escalations without their task", n)
	}
	// Nothing left for an operator to press Run on.
	opt, err := redisconn.Parse(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	queues, err := insp.Queues()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range queues {
		info, err := insp.GetQueueInfo(q)
		if err != nil {
			t.Fatal(err)
		}
		if info.Archived+info.Retry > 0 {
			t.Errorf("queue %s: %d archived, %d retrying\n%s", q, info.Archived, info.Retry, logs())
		}
	}
}

// driveFleet plays the operators and the Dooray! users until done closes.
func driveFleet(ctx context.Context, pool *pgxpool.Pool, store *ticket.Store, fake *dooraytest.Server, project string, mails int, done <-chan struct{}) error {
	step := map[int64]string{} // what was last done to each ticket
	for {
		select {
		case <-done:
			return nil
		case <-time.After(100 * time.Millisecond):
		}
		list, err := store.List(ctx, ticket.ListFilter{Limit: 2 * mails})
		if err != nil {
			return err
		}
		for _, tk := range list.Tickets {
			id := tk.ID
			switch {
			case tk.Status == ticket.StatusUnassigned:
				if _, err := store.Assign(ctx, id, ticket.Assignment{Operator: "sato", Actor: "sato"}); err != nil {
					return err
				}
			case tk.Status == ticket.StatusInProgress && id%2 == 0:
				if _, err := store.Resolve(ctx, id, ticket.Note{Text: "done", Actor: "sato"}); err != nil {
					return err
				}
			case tk.Status == ticket.StatusInProgress && step[id] == "":
				if _, err := store.Escalate(ctx, id, ticket.Escalation{ProjectID: project, Content: "please look", Actor: "sato"}); err != nil {
					return err
				}
				step[id] = "escalated"
			case tk.Status == ticket.StatusDoorayTransferred && step[id] == "escalated":
				post, err := linkedPost(ctx, pool, id)
				if err != nil {
					return err
				}
				if err := fake.MovePost(project, post, "closed"); err != nil {
					return err
				}
				step[id] = "closed"
			case tk.Status == ticket.StatusDoorayAnswered:
				if _, err := store.Resolve(ctx, id, ticket.Note{Text: "answered", Actor: "sato"}); err != nil {
					return err
				}
			}
		}
	}
}

func linkedPost(ctx context.Context, pool *pgxpool.Pool, ticketID int64) (string, error) {
	var post string
	err := pool.QueryRow(ctx, "SELECT post_id FROM dooray_links WHERE ticket_id = $1 AND post_id IS NOT NULL", ticketID).Scan(&post)
	if err != nil {
		return "", fmt.Errorf("ticket %d: its task: %w", ticketID, err)
	}
	return post, nil
}

// proxied puts a flakyProxy (open) in front of the service of rawURL and
// returns it with the URL that goes through it.
func proxied(t *testing.T, rawURL string) (*flakyProxy, string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	p := newFlakyProxy(t, u.Host)
	p.open()
	u.Host = p.addr
	return p, u.String()
}

// flushRedis empties the Redis database of rawURL, as a restart without
// persistence does.
func flushRedis(t *testing.T, rawURL string) {
	t.Helper()
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	if err := c.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
}
