package mailer

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// fakeSMTP is an in-process SMTP server whose replies a test controls.
type fakeSMTP struct {
	addr string

	mu       sync.Mutex
	accepted [][]byte
	sessions int
	// fault, when set, may fail a stage (mail, rcpt, data) by returning an
	// error; errDrop closes the connection instead of replying.
	fault func(stage string) error
	conns []*smtp.Conn
}

var errDrop = errors.New("drop the connection")

func newFakeSMTP(t *testing.T) *fakeSMTP {
	t.Helper()
	f := &fakeSMTP{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		f.mu.Lock()
		f.sessions++
		f.conns = append(f.conns, c)
		f.mu.Unlock()
		return &fakeSession{f: f, c: c}, nil
	}))
	srv.Domain = "fake.test"
	srv.AllowInsecureAuth = true
	srv.ErrorLog = discardLogger{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return f
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

func (f *fakeSMTP) check(stage string, c *smtp.Conn) error {
	f.mu.Lock()
	fault := f.fault
	f.mu.Unlock()
	if fault == nil {
		return nil
	}
	err := fault(stage)
	if errors.Is(err, errDrop) {
		c.Conn().Close()
	}
	return err
}

func (f *fakeSMTP) messages() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.accepted...)
}

func (f *fakeSMTP) sessionCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sessions
}

// closeAll drops every open connection, as a server's idle timeout would.
func (f *fakeSMTP) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Conn().Close()
	}
}

func (f *fakeSMTP) port() int {
	_, p, _ := net.SplitHostPort(f.addr)
	n := 0
	for _, c := range p {
		n = n*10 + int(c-'0')
	}
	return n
}

type fakeSession struct {
	f *fakeSMTP
	c *smtp.Conn
}

func (s *fakeSession) Reset()        {}
func (s *fakeSession) Logout() error { return nil }
func (s *fakeSession) Mail(string, *smtp.MailOptions) error {
	return s.f.check("mail", s.c)
}
func (s *fakeSession) Rcpt(string, *smtp.RcptOptions) error { return s.f.check("rcpt", s.c) }
func (s *fakeSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := s.f.check("data", s.c); err != nil {
		return err
	}
	s.f.mu.Lock()
	s.f.accepted = append(s.f.accepted, bytes.Clone(b))
	s.f.mu.Unlock()
	return nil
}
