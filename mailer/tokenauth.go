package mailer

import (
	"context"
	"errors"
	"net/textproto"

	"github.com/wneessen/go-mail/smtp"
)

// Authenticator logs the SMTP account in with a token instead of a password:
// an OAuth2 access token over XOAUTH2 or OAUTHBEARER (internal/oauth's
// *Authenticator, wired by cmd). The mailer never sees where tokens come from.
type Authenticator interface {
	// SMTPAuth returns the login to use for one session (it picks its
	// mechanism from the server's EHLO), and the function to call if the
	// server refuses it.
	SMTPAuth(ctx context.Context) (auth smtp.Auth, rejected func(context.Context), err error)
}

// tokenAuth remembers whether the server refused the token, as opposed to
// the connection failing.
type tokenAuth struct {
	smtp.Auth
	rejected func(context.Context)
	nextErr  error // the server's refusal inside the exchange (XOAUTH2/OAUTHBEARER error challenge)
}

func (t *tokenAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	b, err := t.Auth.Next(fromServer, more)
	if err != nil {
		t.nextErr = err
	}
	return b, err
}

// refused reports whether the failure of a session's start was the server
// refusing the token: an error challenge, or a 535/530-class reply to AUTH.
func (t *tokenAuth) refused(err error) bool {
	if t == nil {
		return false
	}
	if t.nextErr != nil {
		return true
	}
	var te *textproto.Error
	return errors.As(err, &te) && te.Code >= 530 && te.Code <= 539
}
