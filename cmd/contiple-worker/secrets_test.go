package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/hibiken/asynq"

	"github.com/contiple/contiple-worker/internal/config"
	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/jobs"
	"github.com/contiple/contiple-worker/mailer"
)

const (
	imapPassword  = "Imap-Secr3t-7781"
	smtpPassword  = "Smtp-Secr3t-9924"
	redisPassword = "Redis-Secr3t-3310"
	pgPassword    = "Pg-Secr3t-5502"
)

// leaked lists the secrets found in out, written plainly or as the base64 of
// an AUTH PLAIN or LOGIN exchange.
func leaked(out []byte) []string {
	var found []string
	for _, s := range []string{imapPassword, smtpPassword, redisPassword, pgPassword} {
		for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)),
			base64.StdEncoding.EncodeToString([]byte("\x00support\x00" + s)), base64.StdEncoding.EncodeToString([]byte("\x00mailer\x00" + s))} {
			if bytes.Contains(out, []byte(form)) {
				found = append(found, form)
			}
		}
	}
	return found
}

// TestNoSecretInAnyOutput runs the real command where secrets meet failures:
// malformed Redis and database URLs, and a serve whose IMAP and SMTP logins
// are refused. Neither its stderr nor what it writes to the database may hold
// a password, in clear or base64.
func TestNoSecretInAnyOutput(t *testing.T) {
	bin := buildWorker(t)
	pool := testenv.NewDatabase(t)
	dbURL := testenv.URLFor(t, pool)
	redisURL := testenv.NewRedisDB(t)
	dir := t.TempDir()
	mx := newRefusingSMTP(t)
	u := testenv.NewIMAPUser(t)
	addr := freeAddr(t)
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
http: {addr: "%s"}
smtp: {host: 127.0.0.1, port: %d, tls: none, username: mailer, password_env: CT_SMTP_PASSWORD}
services:
  - key: support
    name: Support
    address: support@example.test
    locale: en
    mailbox: {host: %s, port: %d, tls: none, username: %s, password_env: CT_IMAP_PASSWORD, idle: false, poll_interval: 1s}
`, addr, mx.port, u.Host, u.Port, u.Username)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "CONTIPLE_CONFIG="+cfgPath, "CT_SMTP_PASSWORD="+smtpPassword, "CT_IMAP_PASSWORD="+imapPassword)
	command := func(extra []string, args ...string) ([]byte, error) {
		cmd := workerCommand(bin, args...)
		cmd.Env = append(append([]string{}, env...), extra...)
		return cmd.CombinedOutput()
	}

	for _, tc := range []struct {
		name, env, value, mention string
		args                      []string
	}{
		{"redis URL with a bad port", "CONTIPLE_REDIS_URL", "redis://:" + redisPassword + "@127.0.0.1:notaport/0", "CONTIPLE_REDIS_URL", []string{"serve"}},
		{"redis URL with a space", "CONTIPLE_REDIS_URL", "redis://user:" + redisPassword + "@local host:6379/0", "CONTIPLE_REDIS_URL", []string{"serve"}},
		{"database URL with a bad port", "CONTIPLE_DATABASE_URL", "postgres://postgres:" + pgPassword + "@127.0.0.1:notaport/x", "CONTIPLE_DATABASE_URL", []string{"ticket", "list"}},
		{"database keywords with a bad port", "CONTIPLE_DATABASE_URL", "host=127.0.0.1 port=x user=postgres password=" + pgPassword, "CONTIPLE_DATABASE_URL", []string{"ticket", "list"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			extra := []string{"CONTIPLE_DATABASE_URL=" + dbURL, "CONTIPLE_REDIS_URL=" + redisURL, tc.env + "=" + tc.value}
			out, err := command(extra, tc.args...)
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("%v: %v, want a failure\n%s", tc.args, err, out)
			}
			if !bytes.Contains(out, []byte(tc.mention)) {
				t.Errorf("the error does not name %s:\n%s", tc.mention, out)
			}
			if l := leaked(out); len(l) > 0 {
				t.Errorf("output holds %q:\n%s", l, out)
			}
		})
	}

	t.Run("refused IMAP and SMTP logins", func(t *testing.T) {
		t.Setenv("CONTIPLE_DATABASE_URL", dbURL)
		for _, args := range [][]string{
			{"migrate", "--config", cfgPath},
			{"ticket", "create", "--service", "support", "--subject", "Refund", "--customer-email", "c@customer.example"},
			{"ticket", "assign", "1", "--operator", "kim"},
			{"ticket", "resolve", "1", "--note", "Refunded."},
		} {
			if out, err := run(t, args...); err != nil {
				t.Fatalf("%v: %v %s", args, err, out)
			}
		}
		logPath := filepath.Join(dir, "serve.log")
		logFile, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		defer logFile.Close()
		cmd := workerCommand(bin, "serve")
		// Dovecot refuses this password: the configured one is wrong.
		cmd.Env = append(append([]string{}, env...), "CONTIPLE_DATABASE_URL="+dbURL, "CONTIPLE_REDIS_URL="+redisURL)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		stopped := false
		defer func() {
			if !stopped {
				cmd.Process.Kill()
				cmd.Wait()
			}
		}()
		testenv.WaitFor(t, 2*time.Minute, "the IMAP and SMTP logins to be refused", func() bool {
			b, _ := os.ReadFile(logPath)
			return mx.refused() > 0 && bytes.Contains(b, []byte(`"task_type":"mail:send"`)) &&
				bytes.Contains(b, []byte(`"task_type":"mail:poll"`))
		})
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		stopped = true
		out, _ := os.ReadFile(logPath)
		if l := leaked(out); len(l) > 0 {
			t.Errorf("serve's log holds %q:\n%s", l, out)
		}
		var stored string
		if err := pool.QueryRow(context.Background(), `SELECT concat_ws(' | ',
			(SELECT string_agg(coalesce(last_error, ''), ' ') FROM mailboxes),
			(SELECT string_agg(last_error, ' ') FROM outbound_mails),
			(SELECT string_agg(data::text, ' ') FROM ticket_events))`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(stored, "535") {
			t.Errorf("the refused SMTP login is not recorded: %s", stored)
		}
		if l := leaked([]byte(stored)); len(l) > 0 {
			t.Errorf("the database holds %q: %s", l, stored)
		}
	})
}

// TestPanicPrintsNoSecret: a task handler panics with a value that carries
// a credential (the SMTP settings, password included). The log line (through
// the command's redacting logger) and the task's error, which Redis keeps and
// the dashboard shows, name no password.
func TestPanicPrintsNoSecret(t *testing.T) {
	t.Setenv("CT_SMTP_PASSWORD", smtpPassword)
	cfg, err := config.Parse([]byte("smtp: {host: 127.0.0.1, port: 25, username: mailer, password_env: CT_SMTP_PASSWORD}\n" +
		"services: [{key: s, name: S, address: s@example.test}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	redact := &config.Redactor{}
	redact.AddConfig(cfg)
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{ReplaceAttr: redact.ReplaceAttr}))
	smtpCfg := mailer.SMTPConfig{Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, Username: cfg.SMTP.Username, Password: smtpPassword}
	h := jobs.Recover(log, redact.Redact)(asynq.HandlerFunc(func(context.Context, *asynq.Task) error {
		panic(fmt.Sprintf("cannot send with %+v", smtpCfg))
	}))
	err = h.ProcessTask(context.Background(), asynq.NewTask(jobs.TypeMailSend, []byte(`{"outbound_mail_id":1}`)))
	if err == nil || !strings.Contains(err.Error(), "panic") {
		t.Fatalf("a panicking handler returned %v; want its panic as the error", err)
	}
	if l := leaked([]byte(err.Error())); len(l) > 0 {
		t.Errorf("the task's error holds %q: %v", l, err)
	}
	if !strings.Contains(logs.String(), "task handler panicked") {
		t.Fatalf("no log of the panic:\n%s", logs.String())
	}
	if l := leaked(logs.Bytes()); len(l) > 0 {
		t.Errorf("the log holds %q:\n%s", l, logs.String())
	}
}

// refusingSMTP is an SMTP server that offers AUTH PLAIN and refuses every
// login with 535 (a fault no local MTA can be made to give on demand).
type refusingSMTP struct {
	port  int
	count chan struct{}
}

func newRefusingSMTP(t *testing.T) *refusingSMTP {
	t.Helper()
	r := &refusingSMTP{count: make(chan struct{}, 1000)}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &refusingSession{r}, nil }))
	srv.Domain = "refusing.test"
	srv.AllowInsecureAuth = true
	srv.ErrorLog = discardLog{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.port = l.Addr().(*net.TCPAddr).Port
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return r
}

func (r *refusingSMTP) refused() int { return len(r.count) }

type refusingSession struct{ r *refusingSMTP }

func (s *refusingSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *refusingSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, _, _ string) error {
		select {
		case s.r.count <- struct{}{}:
		default:
		}
		return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
	}), nil
}
func (s *refusingSession) Mail(string, *smtp.MailOptions) error { return smtp.ErrAuthRequired }
func (s *refusingSession) Rcpt(string, *smtp.RcptOptions) error { return smtp.ErrAuthRequired }
func (s *refusingSession) Data(io.Reader) error                 { return smtp.ErrAuthRequired }
func (s *refusingSession) Reset()                               {}
func (s *refusingSession) Logout() error                        { return nil }

type discardLog struct{}

func (discardLog) Printf(string, ...any) {}
func (discardLog) Println(...any)        {}
