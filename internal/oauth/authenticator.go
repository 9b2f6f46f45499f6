package oauth

import (
	"context"
	"errors"
	"fmt"

	"github.com/emersion/go-sasl"
	"github.com/wneessen/go-mail/smtp"
)

// Authenticator logs one account (a mailbox's user, the SMTP account's) in
// to a mail server with the Source's token. It satisfies the authenticator
// interfaces of channels/email (SASL) and mailer (SMTPAuth).
type Authenticator struct {
	Source *Source
	User   string // the account's login name, as XOAUTH2/OAUTHBEARER present it
	// Host and Port go into OAUTHBEARER's message (RFC 7628); optional.
	Host string
	Port int
}

// SASL returns a client for the best of the mechanisms the server offers,
// and the function to call if the server refuses it (the token is then
// dropped, and the next call fetches a new one).
func (a *Authenticator) SASL(ctx context.Context, offered []string) (sasl.Client, func(context.Context), error) {
	mech := PickMechanism(offered)
	if mech == "" {
		return nil, nil, fmt.Errorf("oauth2 %s: the server offers neither OAUTHBEARER nor XOAUTH2 (it offers %v)", a.Source.Name(), offered)
	}
	token, err := a.Source.Token(ctx)
	if err != nil {
		return nil, nil, err
	}
	c, err := NewSASLClient(mech, a.User, token, a.Host, a.Port)
	return c, a.rejected(token), err
}

// SMTPAuth returns go-mail's smtp.Auth presenting a current token with the
// mechanism the server offers, and the function to call if it is refused.
func (a *Authenticator) SMTPAuth(ctx context.Context) (smtp.Auth, func(context.Context), error) {
	token, err := a.Source.Token(ctx)
	if err != nil {
		return nil, nil, err
	}
	return &smtpAuth{a: a, token: token}, a.rejected(token), nil
}

func (a *Authenticator) rejected(token string) func(context.Context) {
	return func(ctx context.Context) { a.Source.Invalidate(ctx, token) }
}

// smtpAuth adapts the SASL clients to go-mail: the mechanism is chosen once
// the server's EHLO has listed its own.
type smtpAuth struct {
	a     *Authenticator
	token string
	c     sasl.Client
}

func (s *smtpAuth) Start(info *smtp.ServerInfo) (string, []byte, error) {
	mech := PickMechanism(info.Auth)
	if mech == "" {
		return "", nil, fmt.Errorf("oauth2 %s: the SMTP server offers neither OAUTHBEARER nor XOAUTH2 (it offers %v)", s.a.Source.Name(), info.Auth)
	}
	c, err := NewSASLClient(mech, s.a.User, s.token, s.a.Host, s.a.Port)
	if err != nil {
		return "", nil, err
	}
	s.c = c
	return c.Start()
}

func (s *smtpAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	if s.c == nil {
		return nil, errors.New("oauth2: SMTP AUTH continued before it started")
	}
	return s.c.Next(fromServer)
}
