package mailer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/contiple/contiple-worker/internal/smtptest"
)

func newTestSender(t *testing.T, f *smtptest.Server, mod func(*SMTPConfig)) *Sender {
	t.Helper()
	cfg := SMTPConfig{Host: "127.0.0.1", Port: f.Port(), TLS: "none", Timeout: 5 * time.Second, HELO: "worker.test"}
	if mod != nil {
		mod(&cfg)
	}
	s, err := NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func numbered(i int) *Message {
	m := testMessage()
	m.MessageID = fmt.Sprintf("ct-%d-abc@example.test", i+1)
	return m
}

func TestSenderReusesOneConnectionForABatch(t *testing.T) {
	t.Parallel()
	f := smtptest.New(t)
	s := newTestSender(t, f, nil)
	batch := []*Message{numbered(0), numbered(1), numbered(2), numbered(3)}
	for i, err := range s.SendBatch(context.Background(), batch) {
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if err := s.Send(context.Background(), numbered(4)); err != nil {
		t.Fatal(err)
	}
	if got := len(f.Messages()); got != 5 {
		t.Fatalf("server accepted %d messages, want 5", got)
	}
	if s.Dials() != 1 || f.Sessions() != 1 {
		t.Fatalf("dials %d, sessions %d; want one connection for the batch", s.Dials(), f.Sessions())
	}
	for i, m := range f.Messages() {
		if !strings.Contains(string(m.Data), fmt.Sprintf("Message-ID: <ct-%d-abc@example.test>", i+1)) {
			t.Errorf("message %d has the wrong Message-ID", i)
		}
	}
}

func TestSenderConcurrentSendsShareSessions(t *testing.T) {
	t.Parallel()
	f := smtptest.New(t)
	s := newTestSender(t, f, func(c *SMTPConfig) { c.MaxIdle = 2 })
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for w := 0; w < 4; w++ {
		wg.Go(func() {
			for i := 0; i < 10; i++ {
				errs <- s.Send(context.Background(), numbered(w*10+i))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(f.Messages()) != 40 || s.Dials() > 6 {
		t.Fatalf("accepted %d, dials %d (want 40 over a few sessions)", len(f.Messages()), s.Dials())
	}
}

// However many send at once, no more than MaxConns SMTP sessions are open.
func TestSenderOpensAtMostMaxConnsSessions(t *testing.T) {
	t.Parallel()
	f := smtptest.New(t)
	var mu sync.Mutex
	open, most := 0, 0
	s := newTestSender(t, f, func(c *SMTPConfig) {
		c.MaxConns, c.MaxIdle = 2, 2
		c.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			mu.Lock()
			open++
			most = max(most, open)
			mu.Unlock()
			return &countedConn{Conn: conn, closed: func() { mu.Lock(); open--; mu.Unlock() }}, nil
		}
	})
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for w := 0; w < 10; w++ {
		wg.Go(func() {
			for i := 0; i < 5; i++ {
				errs <- s.Send(context.Background(), numbered(w*5+i))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(f.Messages()) != 50 || most > 2 {
		t.Fatalf("accepted %d, at most %d sessions open at once (want 50 over at most 2)", len(f.Messages()), most)
	}
}

// countedConn calls closed once when it is closed.
type countedConn struct {
	net.Conn
	once   sync.Once
	closed func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.closed)
	return c.Conn.Close()
}

func TestSenderRedialsAStaleIdleConnection(t *testing.T) {
	t.Parallel()
	f := smtptest.New(t)
	s := newTestSender(t, f, nil)
	if err := s.Send(context.Background(), numbered(0)); err != nil {
		t.Fatal(err)
	}
	f.CloseAll() // the server's idle timeout
	time.Sleep(50 * time.Millisecond)
	if err := s.Send(context.Background(), numbered(1)); err != nil {
		t.Fatalf("send after the server closed the idle session: %v", err)
	}
	if len(f.Messages()) != 2 || s.Dials() != 2 {
		t.Fatalf("accepted %d, dials %d", len(f.Messages()), s.Dials())
	}
}

// Postfix ends an idle session with "421 … timeout exceeded" before it
// closes: the next mail reads that as the reply to MAIL, and is sent on a new
// session.
func TestSenderRedialsAfterTheServersIdleTimeout(t *testing.T) {
	t.Parallel()
	f := smtptest.New(t)
	s := newTestSender(t, f, nil)
	if err := s.Send(context.Background(), numbered(0)); err != nil {
		t.Fatal(err)
	}
	f.TimeOutAll()
	time.Sleep(50 * time.Millisecond)
	if err := s.Send(context.Background(), numbered(1)); err != nil {
		t.Fatalf("send after the server timed the idle session out: %v", err)
	}
	if len(f.Messages()) != 2 || s.Dials() != 2 {
		t.Fatalf("accepted %d, dials %d", len(f.Messages()), s.Dials())
	}
}

func TestSenderClassifiesFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		stage     string
		err       error
		temporary bool
		maybe     bool
		code      int
	}{
		{"4xx at RCPT", "rcpt", &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}, true, false, 451},
		{"mailbox full 452", "data", &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "full"}, true, false, 452},
		{"5xx unknown user", "rcpt", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}, false, false, 550},
		{"5xx at MAIL", "mail", &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "sender refused"}, false, false, 553},
		{"5xx content", "data", &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "rejected"}, false, false, 554},
		{"dropped at RCPT", "rcpt", smtptest.ErrDrop, true, false, 0},
		{"dropped after the message", "data", smtptest.ErrDrop, true, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := smtptest.New(t)
			f.SetFault(func(stage, _ string) error {
				if stage == tc.stage {
					return tc.err
				}
				return nil
			})
			s := newTestSender(t, f, nil)
			err := s.Send(context.Background(), numbered(0))
			var se *SendError
			if !errors.As(err, &se) {
				t.Fatalf("Send = %v, want *SendError", err)
			}
			if se.Temporary != tc.temporary || IsTemporary(err) != tc.temporary || IsPermanent(err) == tc.temporary ||
				se.MaybeDelivered != tc.maybe || se.Code != tc.code {
				t.Fatalf("got %+v, want temporary=%v maybe=%v code=%d", se, tc.temporary, tc.maybe, tc.code)
			}
			if len(f.Messages()) != 0 {
				t.Fatal("the server kept a refused message")
			}
			// The next mail goes through on a fresh or reset session.
			f.SetFault(nil)
			if err := s.Send(context.Background(), numbered(1)); err != nil {
				t.Fatalf("after the failure: %v", err)
			}
		})
	}
}

func TestSenderDialFailureIsTemporary(t *testing.T) {
	t.Parallel()
	s, err := NewSender(SMTPConfig{Host: "127.0.0.1", Port: 1, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), numbered(0))
	var se *SendError
	if !errors.As(err, &se) || se.Stage != "dial" || !IsTemporary(err) {
		t.Fatalf("Send = %v", err)
	}
}

func TestSenderStopsWithTheContext(t *testing.T) {
	t.Parallel()
	f := smtptest.New(t)
	release := make(chan struct{})
	f.SetFault(func(stage, _ string) error {
		if stage == "rcpt" {
			<-release
		}
		return nil
	})
	defer close(release)
	s := newTestSender(t, f, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Send(ctx, numbered(0))
	if !IsTemporary(err) || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Fatalf("Send = %v after %v", err, time.Since(start))
	}
}

func TestNewSenderChecksConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []SMTPConfig{{Port: 25}, {Host: "h", Port: 0}, {Host: "h", Port: 25, TLS: "ssl"}, {Host: "h", Port: 25, Auth: "cram"}} {
		if _, err := NewSender(cfg); err == nil {
			t.Errorf("NewSender(%+v) accepted", cfg)
		}
	}
}
