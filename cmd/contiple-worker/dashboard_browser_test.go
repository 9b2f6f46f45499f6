package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
	"github.com/hibiken/asynq"

	"github.com/contiple/contiple-worker/internal/config"
	"github.com/contiple/contiple-worker/internal/smtptest"
	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/jobs"
)

// TestDashboardInChromium is the runbook's "retry from the dashboard", done
// as an operator does it: a resolve mail that the SMTP server refuses with 550
// ends archived; in Debian's headless Chromium the test logs in to
// /monitoring/ (answering the basic-auth challenge), sees the queues, opens
// mail_out's archived tasks, fixes the server, presses the task's own Run
// button, and the mail goes out exactly once. Screenshots land in artifacts/.
func TestDashboardInChromium(t *testing.T) {
	chromium := chromiumPath(t)
	pool := testenv.NewDatabase(t)
	t.Setenv("CONTIPLE_DATABASE_URL", testenv.URLFor(t, pool))
	redisURL := testenv.NewRedisDB(t)
	t.Setenv("CONTIPLE_REDIS_URL", redisURL)
	const password = "dash-s3cret"
	t.Setenv("CT_TEST_DASHBOARD", password)
	const customer = "blocked@customer.example"
	mx := smtptest.New(t) // answers 550 for the customer until the mailbox is "fixed"
	mx.SetFault(smtptest.Reject550(customer))

	addr := freeAddr(t)
	base := "http://" + addr
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(`
http: {addr: "%s", dashboard_password_env: CT_TEST_DASHBOARD}
smtp: {host: 127.0.0.1, port: %d, timeout: 20s}
services:
  - {key: support, name: Support, address: support@example.test, locale: en}
`, addr, mx.Port())), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	startServe(t, cfg, base)

	// One resolve → one mail:send, refused at RCPT with 550 → SkipRetry → archived.
	out, err := run(t, "ticket", "create", "--service", "support", "--subject", "Refund",
		"--customer-email", customer, "--json")
	if err != nil {
		t.Fatalf("ticket create: %v %s", err, out)
	}
	var created struct{ ID int64 }
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.ID == 0 {
		t.Fatalf("ticket create --json printed %q", out)
	}
	id := strconv.FormatInt(created.ID, 10)
	for _, args := range [][]string{
		{"ticket", "assign", id, "--operator", "kim"},
		{"ticket", "resolve", id, "--note", "Refunded."},
	} {
		if out, err := run(t, args...); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	redisOpt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(redisOpt)
	t.Cleanup(func() { insp.Close() })
	var task *asynq.TaskInfo
	testenv.WaitFor(t, time.Minute, "the mail:send task to be archived", func() bool {
		tasks, err := insp.ListArchivedTasks(jobs.QueueMailOut)
		if err != nil || len(tasks) == 0 {
			return false
		}
		task = tasks[0]
		return true
	})
	if task.Type != jobs.TypeMailSend || !strings.Contains(task.LastErr, "550") {
		t.Fatalf("archived task: type %q, last error %q; want mail:send refused with 550", task.Type, task.LastErr)
	}
	if n := len(mailsTo(mx, customer)); n != 0 {
		t.Fatalf("%d mails accepted for %s while the server refused it", n, customer)
	}

	b := newDashboardBrowser(t, chromium, base, "admin", password)
	b.step("log in to /monitoring/", chromedp.Navigate(base+"/monitoring/"))
	for _, q := range []string{jobs.QueueMailOut, jobs.QueueMailIn, jobs.QueueDooray, jobs.QueueDefault} {
		b.step("see queue "+q, chromedp.WaitVisible(queueLink(q)))
	}
	if realms := b.challenges(); len(realms) == 0 || realms[0] != "contiple-worker dashboard" {
		t.Fatalf("basic-auth challenges answered: %q; want the dashboard's realm", realms)
	}
	b.screenshot("queues")

	row := chromedp.Search(fmt.Sprintf(`//tr[td[normalize-space()=%q]][th[contains(normalize-space(.),%q)]]`,
		jobs.TypeMailSend, task.ID))
	b.step("open queue mail_out", chromedp.Click(queueLink(jobs.QueueMailOut)))
	b.step("open its archived tasks", chromedp.Click(chip("Archived")), chromedp.WaitVisible(row))
	if loc := b.location(); !strings.HasSuffix(loc, "/monitoring/queues/mail_out?status=archived") {
		t.Errorf("archived tasks at %s", loc)
	}
	if text := b.text(row); !strings.Contains(text, "550") {
		t.Errorf("archived row shows no 550: %q", text)
	}
	b.screenshot("archived")

	mx.SetFault(nil)
	// The row shows Run and Delete only while the pointer is over its actions
	// cell: hover its left edge first, away from where the buttons appear.
	actions := chromedp.Search(string(row) + "/td[last()]")
	runButton := chromedp.Search(string(row) + `/td[last()]//button[@title="Run"]`)
	b.step("hover the task's actions", hoverLeftEdge(actions), chromedp.WaitVisible(runButton))
	b.step("press Run", chromedp.Click(runButton),
		chromedp.WaitVisible(chromedp.Search(`//*[contains(@class,"MuiSnackbarContent-message")][contains(.,"Archived task is now pending")]`)))
	b.step("see the task leave the archived list", chromedp.WaitNotPresent(row))

	testenv.WaitFor(t, time.Minute, "the retried task to complete", func() bool {
		info, err := insp.GetTaskInfo(jobs.QueueMailOut, task.ID)
		return err == nil && info.State == asynq.TaskStateCompleted
	})
	if mails := mailsTo(mx, customer); len(mails) != 1 {
		t.Errorf("%d mails accepted for %s after the retry, want 1", len(mails), customer)
	} else if !bytes.Contains(mails[0], []byte(customer)) {
		t.Errorf("accepted mail is not addressed to %s:\n%s", customer, mails[0])
	}
	// The queue's counts refresh on a timer; a reload shows them as they are now.
	b.step("see it among the completed tasks", chromedp.Click(chip("Completed")), chromedp.Reload(),
		chromedp.WaitVisible(row), chromedp.WaitVisible(chip("Completed 1")))
	b.screenshot("completed")
}

// TestDashboardRefusesAnotherSite: the operator is logged in to the
// dashboard (the browser holds its credentials) and opens a page of another
// origin on loopback, which auto-submits a form that would archive every
// pending mail. Nothing may change. (The dashboard's own buttons still work:
// TestDashboardInChromium presses Run.)
func TestDashboardRefusesAnotherSite(t *testing.T) {
	chromium := chromiumPath(t)
	pool := testenv.NewDatabase(t)
	t.Setenv("CONTIPLE_DATABASE_URL", testenv.URLFor(t, pool))
	redisURL := testenv.NewRedisDB(t)
	t.Setenv("CONTIPLE_REDIS_URL", redisURL)
	const password = "dash-s3cret"
	t.Setenv("CT_TEST_DASHBOARD", password)
	addr := freeAddr(t)
	base := "http://" + addr
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(`
http: {addr: "%s", dashboard_password_env: CT_TEST_DASHBOARD}
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
	startServe(t, cfg, base)
	redisOpt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(redisOpt)
	t.Cleanup(func() { insp.Close() })
	// Two resolve mails wait in a paused queue: pending work to attack.
	if err := insp.PauseQueue(jobs.QueueMailOut); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		id := strconv.Itoa(i + 1)
		for _, args := range [][]string{
			{"ticket", "create", "--service", "support", "--subject", "Refund " + id, "--customer-email", "c" + id + "@customer.example"},
			{"ticket", "assign", id, "--operator", "kim"},
			{"ticket", "resolve", id, "--note", "Refunded."},
		} {
			if out, err := run(t, args...); err != nil {
				t.Fatalf("%v: %v %s", args, err, out)
			}
		}
	}
	counts := func() (pending, archived int) {
		info, err := insp.GetQueueInfo(jobs.QueueMailOut)
		if err != nil {
			return -1, -1
		}
		return info.Pending, info.Archived
	}
	testenv.WaitFor(t, time.Minute, "two pending mail:send tasks", func() bool { p, _ := counts(); return p == 2 })

	b := newDashboardBrowser(t, chromium, base, "admin", password)
	b.step("log in to /monitoring/", chromedp.Navigate(base+"/monitoring/"), chromedp.WaitVisible(queueLink(jobs.QueueMailOut)))

	target := base + "/monitoring/api/queues/" + jobs.QueueMailOut + "/pending_tasks:archive_all"
	evil := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Win a prize</title>
<form id="f" method="POST" action="%s"><input type="hidden" name="x" value="1"></form>
<script>document.getElementById("f").submit()</script>`, target)
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0") // another origin: same host, another port
	if err != nil {
		t.Fatal(err)
	}
	go evil.Serve(l)
	t.Cleanup(func() { evil.Close() })
	b.step("open the other site's page", chromedp.Navigate("http://"+l.Addr().String()+"/"))
	testenv.WaitFor(t, time.Minute, "the forged form to be submitted", func() bool { return b.location() == target })
	b.screenshot("forged-request")
	if p, a := counts(); p != 2 || a != 0 {
		t.Errorf("after the forged request: %d pending, %d archived; want 2 pending, none archived", p, a)
	}
	if text := b.text(chromedp.Search("//body")); !strings.Contains(strings.ToLower(text), "cross-origin") {
		t.Errorf("the forged request was answered with %q; want the cross-origin refusal", text)
	}
}

// startServe runs the worker in-process until the test ends.
func startServe(t *testing.T, cfg *config.Config, base string) {
	t.Helper()
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
	testenv.WaitFor(t, 30*time.Second, "the worker to come up", func() bool {
		select {
		case err := <-done:
			t.Fatalf("serve: %v", err)
		default:
		}
		resp, err := http.Get(base + "/readyz") // /healthz answers before the worker has started
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// chromiumPath is Debian's Chromium (scripts/services.sh installs it), or
// CONTIPLE_CHROMIUM. Missing, it fails the test under CI and skips it elsewhere.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("CONTIPLE_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(p); err != nil {
		msg := fmt.Sprintf("no Chromium at %s (%v): run `scripts/services.sh up`, which installs Debian's chromium", p, err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// queueLink is a queue's name in the dashboard's queue table, a link to the queue.
func queueLink(queue string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//table//a[normalize-space()=%q]`, queue))
}

// chip is one of the task-state chips ("Archived 1") above a queue's task
// table, by the start of its label.
func chip(label string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//div[contains(@class,"MuiChip-clickable")][starts-with(normalize-space(.),%q)]`, label))
}

// hoverLeftEdge moves the mouse just inside the left edge of the element.
func hoverLeftEdge(sel chromedp.Search) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		if _, err := chromedp.ScrollIntoView(sel)(ctx, tgt); err != nil {
			return err
		}
		box, err := chromedp.Dimensions(sel)(ctx, tgt)
		if err != nil {
			return err
		}
		q := box.Border // x1,y1 (top left) … x4,y4 (bottom left)
		if len(q) != 8 {
			return fmt.Errorf("box of %s: %v", sel, q)
		}
		_, err = chromedp.MouseEvent(chromedp.MouseMoved, q[0]+3, (q[1]+q[7])/2)(ctx, tgt)
		return err
	})
}

// dashboardBrowser is one headless Chromium tab that answers the dashboard's
// basic-auth challenge the way a person at a login prompt would.
type dashboardBrowser struct {
	t   *testing.T
	ctx context.Context

	mu     sync.Mutex
	realms []string // the challenges answered, by realm
}

func newDashboardBrowser(t *testing.T, chromium, base, user, password string) *dashboardBrowser {
	t.Helper()
	var output lockedBuffer
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(chromium),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.Flag("disable-background-networking", true),
			chromedp.WindowSize(1440, 1200), // the dashboard scrolls inside its own frame: show it whole,
			chromedp.CombinedOutput(&output),
		)...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	b := &dashboardBrowser{t: t, ctx: ctx}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		closeCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := chromedp.Cancel(closeCtx); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("closing chromium: %v", err)
		}
		cancelTab()
		cancelAlloc()
		wg.Wait()
		if t.Failed() {
			t.Logf("chromium output:\n%s", output.tail(40))
		}
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v\n%s", chromium, err, output.tail(40))
	}

	// Fetch pauses every request to the worker; a 401 comes back as
	// authRequired, answered with the credential.
	auths := chromedp.Events(ctx, fetch.AuthRequired)
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	wg.Go(func() {
		for ev, err := range auths {
			if err != nil {
				return
			}
			answer := &fetch.AuthChallengeResponse{Response: fetch.AuthChallengeResponseResponseCancelAuth}
			if ev.AuthChallenge.Origin == base {
				answer = &fetch.AuthChallengeResponse{Response: fetch.AuthChallengeResponseResponseProvideCredentials,
					Username: user, Password: password}
				b.mu.Lock()
				b.realms = append(b.realms, ev.AuthChallenge.Realm)
				b.mu.Unlock()
			}
			chromedp.Call(ctx, fetch.ContinueWithAuth, fetch.ContinueWithAuthParams{RequestID: ev.RequestID, AuthChallengeResponse: answer})
		}
	})
	wg.Go(func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
		}
	})
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{
		Patterns:           []*fetch.RequestPattern{{URLPattern: base + "/*"}},
		HandleAuthRequests: new(true),
	}); err != nil {
		t.Fatalf("Fetch.enable: %v", err)
	}
	if dir, err := artifactsDir(); err == nil {
		os.Remove(filepath.Join(dir, "dashboard-failure.png")) // an earlier run's
	}
	// Runs before the browser closes (cleanups run last-in first-out).
	t.Cleanup(func() {
		if t.Failed() {
			b.shoot("failure", t.Logf)
		}
	})
	return b
}

// step runs actions with a generous deadline; the dashboard polls and
// animates, so every wait is for an element, never for a time.
func (b *dashboardBrowser) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("dashboard: %s: %v", what, err)
	}
}

func (b *dashboardBrowser) location() string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("dashboard: location: %v", err)
	}
	return loc
}

func (b *dashboardBrowser) text(sel chromedp.Search) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	text, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		b.t.Fatalf("dashboard: text of %s: %v", sel, err)
	}
	return text
}

func (b *dashboardBrowser) challenges() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.realms...)
}

// screenshot saves the whole page as artifacts/dashboard-<name>.png.
func (b *dashboardBrowser) screenshot(name string) {
	b.t.Helper()
	b.shoot(name, b.t.Errorf)
}

func (b *dashboardBrowser) shoot(name string, report func(string, ...any)) {
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		report("screenshot %s: %v", name, err)
		return
	}
	dir, err := artifactsDir()
	if err == nil {
		path := filepath.Join(dir, "dashboard-"+name+".png")
		if err = os.WriteFile(path, png, 0o644); err == nil {
			b.t.Logf("screenshot: %s", path)
			return
		}
	}
	report("screenshot %s: %v", name, err)
}

// artifactsDir is <repo>/artifacts, which CI keeps (and git ignores).
func artifactsDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test's directory")
		}
		dir = parent
	}
	dir = filepath.Join(dir, "artifacts")
	return dir, os.MkdirAll(dir, 0o755)
}

// lockedBuffer collects the browser's output, written from another goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// tail is the last n lines, without the D-Bus complaints that Chromium
// prints by the dozen where no system bus runs.
func (w *lockedBuffer) tail(n int) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var lines []string
	for line := range strings.Lines(w.buf.String()) {
		if !strings.Contains(line, "dbus") {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines[max(0, len(lines)-n):], "")
}

// mailsTo returns the mails the server accepted for rcpt.
func mailsTo(mx *smtptest.Server, rcpt string) [][]byte {
	var out [][]byte
	for _, m := range mx.Messages() {
		if slices.ContainsFunc(m.To, func(to string) bool { return strings.EqualFold(to, rcpt) }) {
			out = append(out, m.Data)
		}
	}
	return out
}
