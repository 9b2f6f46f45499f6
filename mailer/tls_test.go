package mailer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// outTLS returns a server certificate for 127.0.0.1 and a client config that trusts it.
func outTLS(t *testing.T) (*tls.Config, *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// authSession is a session that requires AUTH PLAIN as user/secret and
// records whether the connection was encrypted when mail was sent.
type authSession struct {
	c       *smtp.Conn
	authed  bool
	got     chan string
	subject string
}

func (s *authSession) Reset()        {}
func (s *authSession) Logout() error { return nil }
func (s *authSession) AuthMechanisms() []string {
	return []string{sasl.Plain}
}
func (s *authSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "worker" || pass != "s3cret" {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.authed = true
		return nil
	}), nil
}
func (s *authSession) Mail(string, *smtp.MailOptions) error {
	if !s.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	return nil
}
func (s *authSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *authSession) Data(r io.Reader) error {
	_, tlsOn := s.c.TLSConnectionState()
	io.Copy(io.Discard, r)
	if tlsOn {
		s.got <- "tls"
	} else {
		s.got <- "plain"
	}
	return nil
}

func TestSenderTLSModesAndAuth(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := outTLS(t)
	for _, mode := range []string{"starttls", "tls", "none"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			got := make(chan string, 1)
			srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
				return &authSession{c: c, got: got}, nil
			}))
			srv.Domain = "fake.test"
			srv.ErrorLog = log.New(io.Discard, "", 0)
			srv.AllowInsecureAuth = mode == "none" // loopback only
			var l net.Listener
			var err error
			if mode == "tls" {
				l, err = tls.Listen("tcp", "127.0.0.1:0", serverTLS)
			} else {
				l, err = net.Listen("tcp", "127.0.0.1:0")
				srv.TLSConfig = serverTLS
			}
			if err != nil {
				t.Fatal(err)
			}
			go srv.Serve(l)
			defer srv.Close()
			port := l.Addr().(*net.TCPAddr).Port
			send := func(user, pass string) error {
				s, err := NewSender(SMTPConfig{Host: "127.0.0.1", Port: port, TLS: mode, Username: user, Password: pass,
					TLSConfig: clientTLS, Timeout: 5 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				return s.Send(context.Background(), testMessage())
			}
			if err := send("worker", "s3cret"); err != nil {
				t.Fatalf("send: %v", err)
			}
			want := "tls"
			if mode == "none" {
				want = "plain"
			}
			if g := <-got; g != want {
				t.Fatalf("the server saw a %s connection, want %s", g, want)
			}
			err = send("worker", "wrong")
			if err == nil || !strings.Contains(err.Error(), "535") {
				t.Fatalf("wrong password: %v", err)
			}
			if err := send("", ""); !IsPermanent(err) || !strings.Contains(err.Error(), "530") {
				t.Fatalf("no auth: %v", err)
			}
		})
	}
}
