// Package smtptest is an in-process SMTP server (go-smtp) whose replies a test
// controls: the fault-injection counterpart of the local Postfix, for the 4xx,
// 5xx and dropped connections a real server will not produce on demand.
package smtptest

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// ErrDrop, returned by a fault, closes the connection instead of replying.
var ErrDrop = errors.New("smtptest: drop the connection")

// Message is one mail the server accepted.
type Message struct {
	From string
	To   []string
	Data []byte
}

// Server listens on 127.0.0.1 until the test ends.
type Server struct {
	Addr string

	mu       sync.Mutex
	accepted []Message
	sessions int
	conns    []*smtp.Conn
	fault    func(stage, arg string) error
}

// New starts a server that accepts everything until SetFault says otherwise.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		s.mu.Lock()
		s.sessions++
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		return &session{s: s, c: c}, nil
	}))
	srv.Domain = "smtptest.test"
	srv.AllowInsecureAuth = true
	srv.ErrorLog = discard{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

// SetFault makes fn decide each stage: "mail" (arg: the sender), "rcpt" (arg:
// the recipient) and "data" (arg: ""). A nil error accepts; an
// *smtp.SMTPError is the reply (e.g. 550 for one address); ErrDrop hangs up.
// nil fn accepts everything again.
func (s *Server) SetFault(fn func(stage, arg string) error) {
	s.mu.Lock()
	s.fault = fn
	s.mu.Unlock()
}

// Reject550 is a fault that refuses one recipient permanently.
func Reject550(address string) func(stage, arg string) error {
	return func(stage, arg string) error {
		if stage == "rcpt" && strings.EqualFold(arg, address) {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user here"}
		}
		return nil
	}
}

// Messages returns the mails accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.accepted...)
}

// Sessions counts the connections made to the server.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// CloseAll drops every open connection, as a server's idle timeout would.
func (s *Server) CloseAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Conn().Close()
	}
}

// TimeOutAll ends every open connection as Postfix's idle timeout does: a
// 421 reply nobody asked for, then the close.
func (s *Server) TimeOutAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		io.WriteString(c.Conn(), "421 4.4.2 localhost Error: timeout exceeded\r\n")
		c.Conn().Close()
	}
}

// Host and Port split Addr for configurations.
func (s *Server) Host() string { h, _, _ := net.SplitHostPort(s.Addr); return h }

// Port is the listening port.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr)
	n, _ := strconv.Atoi(p)
	return n
}

func (s *Server) check(stage, arg string, c *smtp.Conn) error {
	s.mu.Lock()
	fault := s.fault
	s.mu.Unlock()
	if fault == nil {
		return nil
	}
	err := fault(stage, arg)
	if errors.Is(err, ErrDrop) {
		c.Conn().Close()
	}
	return err
}

type session struct {
	s    *Server
	c    *smtp.Conn
	from string
	to   []string
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }
func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return x.s.check("mail", from, x.c)
}
func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := x.s.check("rcpt", to, x.c); err != nil {
		return err
	}
	x.to = append(x.to, to)
	return nil
}
func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := x.s.check("data", "", x.c); err != nil {
		return err
	}
	x.s.mu.Lock()
	x.s.accepted = append(x.s.accepted, Message{From: x.from, To: x.to, Data: bytes.Clone(b)})
	x.s.mu.Unlock()
	return nil
}

type discard struct{}

func (discard) Printf(string, ...any) {}
func (discard) Println(...any)        {}
