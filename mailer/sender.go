package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// SMTPConfig says how to reach the submission server.
type SMTPConfig struct {
	Host     string
	Port     int
	TLS      string // none | starttls | tls (implicit TLS, e.g. port 465)
	Username string // empty: no SMTP AUTH
	Password string
	Auth     string // plain (default) | login
	// Token, when set, logs Username in with a token instead of Password
	// (OAuth2: XOAUTH2 or OAUTHBEARER, see tokenauth.go). Auth is then unused.
	Token   Authenticator
	Timeout time.Duration // per SMTP command; 0 = 30s
	HELO    string        // empty: the host name

	TLSConfig *tls.Config // nil: verify Host, TLS 1.2 or later
	MaxIdle   int         // idle connections kept for reuse; 0 = 4, -1 = none
	// MaxConns bounds the SMTP sessions open at once: more sends wait for
	// one. Servers limit them (Exchange Online: 3 per mailbox), and on a
	// small machine a few sessions move more mail than many. 0 = 4, -1 = no limit.
	MaxConns    int
	IdleTimeout time.Duration // an idle connection older than this is closed; 0 = 30s
	// DialContext replaces net.Dialer (tests, proxies). Implicit TLS is still
	// layered on top by the Sender.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (c SMTPConfig) withDefaults() SMTPConfig {
	if c.TLS == "" {
		c.TLS = "none"
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.MaxIdle == 0 {
		c.MaxIdle = 4
	}
	if c.MaxConns == 0 {
		c.MaxConns = 4
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 30 * time.Second
	}
	if c.TLSConfig == nil {
		c.TLSConfig = &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12}
	}
	return c
}

// Sender sends mails over SMTP with go-mail. Connections are kept and reused:
// a batch of mails, or the tasks of one worker process, share a few SMTP
// sessions instead of dialling for each mail. Safe for concurrent use.
type Sender struct {
	cfg SMTPConfig

	slots chan struct{} // one per open session (MaxConns); nil: no limit

	mu     sync.Mutex
	idle   []*session
	closed bool
	dials  int // for tests and metrics: SMTP sessions opened
}

// session is one SMTP connection with its own go-mail client (which holds the
// dialer that knows the raw connection, so a cancelled context can cut it).
type session struct {
	client *gomail.Client
	smtp   *smtp.Client
	raw    net.Conn
	idleAt time.Time
}

// NewSender checks cfg and returns a Sender. It does not connect.
func NewSender(cfg SMTPConfig) (*Sender, error) {
	cfg = cfg.withDefaults()
	if cfg.Host == "" {
		return nil, errors.New("smtp: host is required")
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("smtp: %d is not a port", cfg.Port)
	}
	switch cfg.TLS {
	case "none", "starttls", "tls":
	default:
		return nil, fmt.Errorf("smtp: tls %q is not none, starttls or tls", cfg.TLS)
	}
	switch cfg.Auth {
	case "", "plain", "login":
	default:
		return nil, fmt.Errorf("smtp: auth %q is not plain or login", cfg.Auth)
	}
	s := &Sender{cfg: cfg}
	if cfg.MaxConns > 0 {
		s.slots = make(chan struct{}, cfg.MaxConns)
	}
	return s, nil
}

// Addr is host:port of the server, e.g. as a rate-limit key.
func (s *Sender) Addr() string { return net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)) }

// Dials is how many SMTP sessions were opened so far.
func (s *Sender) Dials() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dials
}

// dial opens a session, logged in. A token the server refuses is reported to
// the Authenticator, and dial tries once more with a fresh one.
func (s *Sender) dial(ctx context.Context) (*session, error) {
	ses, rejected, err := s.dialOnce(ctx)
	if rejected != nil && ctx.Err() == nil {
		rejected(ctx)
		ses, _, err = s.dialOnce(ctx)
	}
	return ses, err
}

// dialOnce opens a session; rejected is set when the server refused the token.
func (s *Sender) dialOnce(ctx context.Context) (_ *session, rejected func(context.Context), _ error) {
	ses := &session{}
	base := s.cfg.DialContext
	if base == nil {
		d := &net.Dialer{Timeout: s.cfg.Timeout}
		base = d.DialContext
	}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := base(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if s.cfg.TLS == "tls" {
			tc := tls.Client(c, s.cfg.TLSConfig)
			if err := tc.HandshakeContext(ctx); err != nil {
				c.Close()
				return nil, err
			}
			c = tc
		}
		ses.raw = c
		return c, nil
	}
	// A mail is four round trips: MAIL, RCPT, DATA, the message. go-mail's
	// NOOP before each mail and NOOP+RSET after it would add three: a
	// transaction ends with the reply to its data (RFC 5321 §4.1.1.4), and a
	// session the server closed while idle fails at MAIL, before anything
	// was sent, and is dialled again (Send).
	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTimeout(s.cfg.Timeout),
		gomail.WithDialContextFunc(dial), gomail.WithTLSConfig(s.cfg.TLSConfig), gomail.WithoutNoop(), gomail.WithoutRset()}
	if s.cfg.TLS == "starttls" {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(s.cfg.HELO))
	}
	var token *tokenAuth
	if s.cfg.Token != nil {
		auth, rej, err := s.cfg.Token.SMTPAuth(ctx)
		if err != nil {
			return nil, nil, &SendError{Stage: "token", Temporary: true, Err: err}
		}
		token = &tokenAuth{Auth: auth, rejected: rej}
		opts = append(opts, gomail.WithSMTPAuthCustom(token))
	} else if s.cfg.Username != "" {
		auth := gomail.SMTPAuthPlain
		if s.cfg.Auth == "login" {
			auth = gomail.SMTPAuthLogin
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	client, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return nil, nil, &SendError{Stage: "dial", Temporary: false, Err: err}
	}
	ses.client = client
	sc, err := client.DialToSMTPClientWithContext(ctx)
	s.mu.Lock()
	s.dials++
	s.mu.Unlock()
	if err != nil {
		if ses.raw != nil {
			ses.raw.Close()
		}
		// The server or our configuration is at fault, not this mail: retry later.
		if token.refused(err) {
			return nil, token.rejected, &SendError{Stage: "auth", Temporary: true, Err: err}
		}
		return nil, nil, &SendError{Stage: "dial", Temporary: true, Err: err}
	}
	ses.smtp = sc
	return ses, nil, nil
}

// get returns an idle session (reused) or a new one.
func (s *Sender) get(ctx context.Context) (ses *session, reused bool, err error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, false, &SendError{Stage: "conn", Temporary: true, Err: errors.New("sender closed")}
	}
	now := time.Now()
	var stale []*session
	for len(s.idle) > 0 {
		ses = s.idle[len(s.idle)-1]
		s.idle = s.idle[:len(s.idle)-1]
		if now.Sub(ses.idleAt) < s.cfg.IdleTimeout {
			break
		}
		stale = append(stale, ses)
		ses = nil
	}
	s.mu.Unlock()
	for _, st := range stale {
		st.close()
	}
	if ses != nil {
		return ses, true, nil
	}
	ses, err = s.dial(ctx)
	return ses, false, err
}

func (s *Sender) put(ses *session) {
	s.mu.Lock()
	if !s.closed && len(s.idle) < s.cfg.MaxIdle {
		ses.idleAt = time.Now()
		s.idle = append(s.idle, ses)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	ses.close()
}

func (ses *session) close() {
	ses.raw.SetDeadline(time.Now().Add(2 * time.Second))
	ses.client.CloseWithSMTPClient(ses.smtp) // QUIT; errors do not matter any more
	ses.raw.Close()
}

// Send delivers one message. On success the server has accepted it. Errors
// are *SendError (or *HeaderError, permanent): see IsTemporary.
func (s *Sender) Send(ctx context.Context, m *Message) error {
	msg, err := m.Build()
	if err != nil {
		return err
	}
	if s.slots != nil {
		select {
		case s.slots <- struct{}{}:
			defer func() { <-s.slots }()
		case <-ctx.Done():
			return classify(ctx.Err(), ctx)
		}
	}
	for attempt := 0; ; attempt++ {
		ses, reused, err := s.get(ctx)
		if err != nil {
			return err
		}
		stop := context.AfterFunc(ctx, func() { ses.raw.SetDeadline(time.Now()) })
		err = ses.client.SendWithSMTPClient(ses.smtp, msg)
		cancelled := !stop()
		switch {
		case err == nil && !cancelled:
			s.put(ses)
			return nil
		case msg.IsDelivered():
			// Accepted; only the RSET after it failed. Do not reuse the session.
			ses.raw.Close()
			return nil
		}
		ses.raw.Close()
		if err == nil { // the context ended just as the message went through
			return nil
		}
		se := classify(err, ctx)
		// An idle session the server had closed fails its first command,
		// before anything of the mail is sent: without a reply, or with the
		// 421 the server wrote as it closed (Postfix, Exchange). Dial once more.
		if reused && attempt == 0 && staleSession(se) && ctx.Err() == nil {
			continue
		}
		return se
	}
}

// staleSession says whether a reused session's first command failed because
// the server had closed it.
func staleSession(se *SendError) bool {
	return se.Stage == "conn" && se.Code == 0 || se.Stage == "mail" && (se.Code == 0 || se.Code == 421)
}

// SendBatch delivers several messages over the sessions of s (in practice one
// connection for the whole batch) and returns one error per message.
func (s *Sender) SendBatch(ctx context.Context, ms []*Message) []error {
	errs := make([]error, len(ms))
	for i, m := range ms {
		errs[i] = s.Send(ctx, m)
	}
	return errs
}

// Close ends every idle session with QUIT. Sends after Close fail.
func (s *Sender) Close() error {
	s.mu.Lock()
	idle := s.idle
	s.idle, s.closed = nil, true
	s.mu.Unlock()
	for _, ses := range idle {
		ses.close()
	}
	return nil
}
