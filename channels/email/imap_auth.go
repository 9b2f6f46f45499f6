package email

import (
	"context"
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"
)

// Authenticator logs a mailbox in with a token instead of a password: an
// OAuth2 access token over XOAUTH2 or OAUTHBEARER (internal/oauth's
// *Authenticator, wired by cmd). The adapter never sees where tokens come from.
type Authenticator interface {
	// SASL returns a client for one of the mechanisms the server offers, and
	// the function to call if the server refuses it.
	SASL(ctx context.Context, offered []string) (client sasl.Client, rejected func(context.Context), err error)
}

// login authenticates the connection: with a.Auth's token when set, else
// with the password (AUTHENTICATE PLAIN, or LOGIN). It returns the failed
// operation: "token" when no token could be had, "login" when the server
// refused.
func (m *Mailbox) login(ctx context.Context, a Account) (op string, err error) {
	caps := m.c.Caps()
	if a.Auth != nil {
		sc, rejected, err := a.Auth.SASL(ctx, caps.AuthMechanisms())
		if err != nil {
			return "token", &credentialError{err}
		}
		if err := m.c.Authenticate(sc); err != nil {
			return "login", &refusedTokenError{Err: err, rejected: rejected}
		}
		return "", nil
	}
	switch {
	case caps.Has(imap.AuthCap(sasl.Plain)):
		err = m.c.Authenticate(sasl.NewPlainClient("", a.Username, a.Password))
	case caps.Has(imap.CapLoginDisabled):
		err = fmt.Errorf("%w: server refuses LOGIN and offers no AUTH=PLAIN (does it require TLS? tls=%s)", errConfig, a.TLS)
	default:
		err = m.c.Login(a.Username, a.Password).Wait()
	}
	if err != nil {
		return "login", fmt.Errorf("authentication failed: %w", err)
	}
	return "", nil
}

// refusedTokenError is the server refusing a token (permanent once Dial has
// tried a fresh one).
type refusedTokenError struct {
	Err      error
	rejected func(context.Context)
}

func (e *refusedTokenError) Error() string {
	return "the server refused the access token: " + e.Err.Error()
}
func (e *refusedTokenError) Unwrap() error { return e.Err }

// tokenRefused returns the Authenticator's rejected callback when err is a
// refused token, else nil.
func tokenRefused(err error) func(context.Context) {
	var e *refusedTokenError
	if errors.As(err, &e) && e.rejected != nil {
		return e.rejected
	}
	return nil
}

// credentialError is a failure to get a token. It is temporary when the
// token source says so (a token endpoint that did not answer), permanent
// for a lost authorization, which needs an operator.
type credentialError struct{ Err error }

func (e *credentialError) Error() string { return e.Err.Error() }
func (e *credentialError) Unwrap() error { return e.Err }

func (e *credentialError) temporary() bool {
	var p interface{ Permanent() bool }
	return !(errors.As(e.Err, &p) && p.Permanent())
}
