package email

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"
)

// Error is what the IMAP adapter returns when talking to the server fails.
// It names the operation, the server, the user and the folder (never the
// password) and says whether trying again later can help.
type Error struct {
	Op     string // dial, tls, greeting, token, login, select, search, fetch, store, copy, move, expunge, create, idle, noop, ack, config
	Addr   string // host:port
	User   string
	Folder string
	// Temporary is true when a later attempt can succeed without an operator
	// changing anything: network errors, timeouts, a server that is busy or
	// restarting. Wrong credentials, a missing folder, a refused certificate
	// or a configuration error are permanent.
	Temporary bool
	Err       error
}

func (e *Error) Error() string {
	kind := "permanent"
	if e.Temporary {
		kind = "temporary"
	}
	return fmt.Sprintf("imap %s %s@%s folder %q (%s): %v", e.Op, e.User, e.Addr, e.Folder, kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// IsTemporary reports whether err is an IMAP *Error that a later attempt
// (normally on a new connection) may overcome. Errors that are not from the
// IMAP adapter, such as those returned by a Fetch callback, report false.
func IsTemporary(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Temporary
}

// classify decides whether err, returned by operation op, is temporary.
func classify(op string, err error) bool {
	if errors.Is(err, errConfig) {
		return false
	}
	var cred *credentialError
	if errors.As(err, &cred) {
		return cred.temporary()
	}
	var refused *refusedTokenError
	if errors.As(err, &refused) {
		return false
	}
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	if errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr) || errors.As(err, &invalid) {
		return false
	}
	var imapErr *imap.Error
	if errors.As(err, &imapErr) {
		if imapErr.Type == imap.StatusResponseTypeBad {
			return false
		}
		switch imapErr.Code {
		case imap.ResponseCodeAuthenticationFailed, imap.ResponseCodeAuthorizationFailed,
			imap.ResponseCodeExpired, imap.ResponseCodePrivacyRequired, imap.ResponseCodeContactAdmin,
			imap.ResponseCodeNonExistent, imap.ResponseCodeNoPerm, imap.ResponseCodeCannot,
			imap.ResponseCodeClientBug, imap.ResponseCodeParse, imap.ResponseCodeTryCreate:
			return false
		case "":
			// A bare NO to LOGIN/AUTHENTICATE or SELECT means "not with these
			// credentials" or "no such folder" on most servers.
			return op != "login" && op != "select"
		}
		return true
	}
	return true // network errors, timeouts, cancellation, BYE
}

// errConfig marks configuration mistakes (always permanent).
var errConfig = errors.New("invalid IMAP configuration")

// IsRefused reports whether the server answered a command with NO or BAD: it
// refused that command, and the connection is still good for others.
func IsRefused(err error) bool {
	var imapErr *imap.Error
	return errors.As(err, &imapErr)
}
