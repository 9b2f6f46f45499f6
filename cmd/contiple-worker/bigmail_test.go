package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/contiple/contiple-worker/internal/testenv"
)

// bigMailSize is the size of each big mail: 25 MB, just under the default
// mail.max_message_bytes (25 MiB).
const bigMailSize = 25_000_000

// bigMail is a 25 MB mail: a short text and one base64 attachment of random
// bytes (seeded by n, so every attachment is distinct content).
func bigMail(n int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "From: Big Sender %d <big%d@example.jp>\r\nTo: support@example.test\r\nSubject: 大きな添付 %d\r\n"+
		"Message-ID: <big-%d@example.jp>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n"+
		"--b%d\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nログを添付します。\r\n"+
		"--b%d\r\nContent-Type: application/octet-stream; name=\"log%d.bin\"\r\nContent-Disposition: attachment; filename=\"log%d.bin\"\r\n"+
		"Content-Transfer-Encoding: base64\r\n\r\n", n, n, n, n, n, n, n, n, n)
	trailer := fmt.Sprintf("--b%d--\r\n", n)
	lines := (bigMailSize - sb.Len() - len(trailer)) / 78 // 76 base64 characters and CRLF
	rng := rand.New(rand.NewChaCha8([32]byte{byte(n), byte(n >> 8)}))
	chunk := make([]byte, 57)
	line := make([]byte, 76)
	sb.Grow(bigMailSize)
	for range lines {
		for i := range chunk {
			chunk[i] = byte(rng.Uint32())
		}
		base64.StdEncoding.Encode(line, chunk)
		sb.Write(line)
		sb.WriteString("\r\n")
	}
	sb.WriteString(trailer)
	return sb.String()
}

// bigMailRun starts the real serve binary with the default mail settings on a
// mailbox holding eight 25 MB mails and 200 small ones, waits until every mail
// is in a ticket and acknowledged, and returns the process's peak resident set
// (VmHWM) in MB and how long intake took. It fails when the worker dies.
func bigMailRun(tb testing.TB, bin string, env ...string) (peakMB float64, took time.Duration) {
	tb.Helper()
	const big, small = 8, 200
	ctx := context.Background()
	pool := testenv.NewDatabase(tb)
	u := testenv.NewIMAPUser(tb)
	for i := range small + big {
		if i%25 == 0 && i/25 < big { // the big ones among the small ones
			u.Append("INBOX", bigMail(i/25))
		}
		if i < small {
			u.Append("INBOX", numberedMail("small", i))
		}
	}
	dir := tb.TempDir()
	cfgPath, _ := supportConfig(tb, dir, u, true)
	logFile, err := os.Create(filepath.Join(dir, "worker.log"))
	if err != nil {
		tb.Fatal(err)
	}
	defer logFile.Close()
	cmd := workerCommand(bin, "serve")
	cmd.Env = append(append(os.Environ(), "CONTIPLE_DATABASE_URL="+testenv.URLFor(tb, pool), "CONTIPLE_REDIS_URL="+testenv.NewRedisDB(tb),
		"CONTIPLE_CONFIG="+cfgPath, "CONTIPLE_LOG_LEVEL=warn"), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	start := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	fail := func(format string, args ...any) {
		tb.Helper()
		cmd.Process.Kill()
		log, _ := os.ReadFile(logFile.Name())
		tb.Fatalf(format+"; worker log:\n%s", append(args, log)...)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var done int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM inbound_mails WHERE state = 'processed' AND acked_at IS NOT NULL").Scan(&done); err != nil {
			tb.Fatal(err)
		}
		if done == big+small {
			break
		}
		select {
		case err := <-exited:
			fail("the worker died (%v) with %d of %d mails done", err, done, big+small)
		default:
		}
		if time.Now().After(deadline) {
			fail("not done after 5 minutes: %d of %d mails", done, big+small)
		}
		time.Sleep(50 * time.Millisecond)
	}
	took = time.Since(start)
	peakMB = float64(testenv.PeakRSS(tb, cmd.Process.Pid)) / 1024
	cmd.Process.Signal(syscall.SIGTERM)
	if err := <-exited; err != nil {
		log, _ := os.ReadFile(logFile.Name())
		tb.Errorf("worker did not stop cleanly: %v; worker log:\n%s", err, log)
	}
	var stored, bytes int64
	if err := pool.QueryRow(ctx, "SELECT count(*), coalesce(sum(size), 0) FROM attachments").Scan(&stored, &bytes); err != nil {
		tb.Fatal(err)
	}
	if stored != big || bytes < big*18_000_000 {
		tb.Errorf("%d attachments of %d bytes stored, want %d of about 18.5 MB each", stored, bytes, big)
	}
	return peakMB, took
}

// TestBigMailDoesNotCrashLoop is the crash-loop case: a worker that
// took 1 GB for eight 25 MB mails would be killed by a 512 MB container limit,
// restart, fetch the same mails and be killed again. The real serve binary,
// with the default configuration, ingests eight big mails among 200 small ones
// without dying and stays under 300 MB resident (twice the 150 MB it is built
// for: the margin is for the machine, the benchmark reports the figure).
func TestBigMailDoesNotCrashLoop(t *testing.T) {
	peak, took := bigMailRun(t, buildWorker(t))
	t.Logf("peak RSS %.0f MB, intake took %s", peak, took.Round(time.Millisecond))
	if peak > 300 {
		t.Errorf("peak RSS %.0f MB, want at most 300 MB (150 MB by design)", peak)
	}
}

// BenchmarkServeBigMail reports the peak RSS of one serve process while eight
// 25 MB mails and 200 small ones are fetched, stored, parsed and ingested.
func BenchmarkServeBigMail(b *testing.B) {
	bin := buildWorker(b)
	var peak float64
	var took time.Duration
	for b.Loop() {
		p, d := bigMailRun(b, bin)
		peak, took = max(peak, p), took+d
	}
	b.ReportMetric(peak, "peak-RSS-MB")
	b.ReportMetric(float64(b.N*208)/took.Seconds(), "mails/s")
}
