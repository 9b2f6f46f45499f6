package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/contiple/contiple-worker/internal/testenv"
)

// buildWorker compiles this command once per test binary run.
func buildWorker(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "contiple-worker")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// numberedMail is small customer mail number i, Message-ID <prefix-i@example.jp>.
func numberedMail(prefix string, i int) string {
	return fmt.Sprintf("From: c%d@example.jp\r\nTo: support@example.test\r\nSubject: 質問 %d\r\n"+
		"Message-ID: <%s-%d@example.jp>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nお問い合わせ %d\r\n", i, i, prefix, i, i)
}

// supportConfig writes into dir a configuration with one service whose
// mailbox is u (IDLE or polled every second) and returns its path and the
// HTTP address it serves on.
func supportConfig(tb testing.TB, dir string, u *testenv.IMAPUser, idle bool) (path, httpAddr string) {
	tb.Helper()
	path, httpAddr = filepath.Join(dir, "config.yaml"), freeAddr(tb)
	if err := os.WriteFile(path, []byte(fmt.Sprintf(`
http: {addr: "%s"}
smtp: {host: 127.0.0.1, port: 2525}
services:
  - key: support
    name: Support
    address: support@example.test
    locale: en
    mailbox: {host: %s, port: %d, tls: none, username: %s, password_env: CONTIPLE_IMAP_PASSWORD, idle: %t, poll_interval: 1s}
`, httpAddr, u.Host, u.Port, u.Username, idle)), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path, httpAddr
}

// workerCommand runs the built worker with args. It dies with the test
// binary (Pdeathsig), so a test killed midway leaves no worker behind.
func workerCommand(bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// TestKilledWorkerLosesNoMailAndMakesNoSecondTicket puts 1,000 mails in a
// Dovecot mailbox, then starts the worker and kills it (SIGKILL) at random
// moments, several times, before letting one run to the end. Every mail must
// become exactly one ticket and be acknowledged (\Seen) on the server.
func TestKilledWorkerLosesNoMailAndMakesNoSecondTicket(t *testing.T) {
	const mails = 1000
	ctx := context.Background()
	bin := buildWorker(t)
	pool := testenv.NewDatabase(t)
	u := testenv.NewIMAPUser(t)
	for i := range mails {
		u.Append("INBOX", numberedMail("crash", i))
	}
	dir := t.TempDir()
	cfgPath, addr := supportConfig(t, dir, u, false)
	env := append(os.Environ(), "CONTIPLE_DATABASE_URL="+testenv.URLFor(t, pool), "CONTIPLE_REDIS_URL="+testenv.NewRedisDB(t),
		"CONTIPLE_CONFIG="+cfgPath, "CONTIPLE_LOG_LEVEL=warn")
	logFile, err := os.Create(filepath.Join(dir, "worker.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	start := func() *exec.Cmd {
		cmd := workerCommand(bin, "serve")
		cmd.Env, cmd.Stdout, cmd.Stderr = env, logFile, logFile
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	count := func(query string) int {
		var n int
		if err := pool.QueryRow(ctx, query).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	for round := range 5 {
		cmd := start()
		time.Sleep(time.Duration(1000+rand.IntN(3000)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		t.Logf("kill %d: %d stored, %d ingested, %d acknowledged", round+1,
			count("SELECT count(*) FROM inbound_mails"), count("SELECT count(*) FROM inbound_mails WHERE state <> 'received'"),
			count("SELECT count(*) FROM inbound_mails WHERE acked_at IS NOT NULL"))
	}
	cmd := start()
	// SIGTERM is only handled once serve is up: wait for it.
	testenv.WaitFor(t, time.Minute, "the worker to come up", func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	deadline := time.Now().Add(5 * time.Minute)
	for count("SELECT count(*) FROM inbound_mails WHERE acked_at IS NOT NULL") < mails {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			log, _ := os.ReadFile(logFile.Name())
			t.Fatalf("not done after 5 minutes: %d acknowledged; worker log:\n%s",
				count("SELECT count(*) FROM inbound_mails WHERE acked_at IS NOT NULL"), log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		log, _ := os.ReadFile(logFile.Name())
		t.Errorf("worker did not stop cleanly: %v; worker log:\n%s", err, log)
	}

	if n := count("SELECT count(*) FROM tickets"); n != mails {
		t.Errorf("%d tickets for %d mails", n, mails)
	}
	if n := count("SELECT count(DISTINCT mail_message_id) FROM ticket_messages WHERE kind = 'customer'"); n != mails {
		t.Errorf("%d distinct mails in tickets", n)
	}
	if n := count("SELECT count(*) FROM ticket_messages"); n != mails {
		t.Errorf("%d messages: some mail was filed twice", n)
	}
	if n := count("SELECT count(*) FROM inbound_mails WHERE state <> 'processed'"); n != 0 {
		t.Errorf("%d inbound mails not processed", n)
	}
	flags := u.Flags("INBOX")
	seen := 0
	for _, f := range flags {
		for _, flag := range f {
			if flag == imap.FlagSeen {
				seen++
			}
		}
	}
	if len(flags) != mails || seen != mails {
		t.Errorf("server has %d messages, %d seen", len(flags), seen)
	}
}
