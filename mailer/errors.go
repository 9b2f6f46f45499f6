package mailer

import (
	"context"
	"errors"
	"fmt"

	gomail "github.com/wneessen/go-mail"
)

// SendError is a failed SMTP delivery, classified where it happened.
type SendError struct {
	Stage     string // build | dial | token | auth | mail | rcpt | data | write | end-of-data | reset | conn
	Code      int    // the SMTP reply code, 0 when the server gave none (network)
	Enhanced  string // the enhanced status code (5.1.1), when the server sent one
	Temporary bool   // 4xx or network: try again later; otherwise the mail can never go as it is
	// MaybeDelivered: the connection failed after the whole message was sent
	// but before the server's reply to it, so the server may have accepted it.
	MaybeDelivered bool
	Err            error
}

func (e *SendError) Error() string {
	kind := "permanent"
	if e.Temporary {
		kind = "temporary"
	}
	return fmt.Sprintf("smtp %s (%s): %v", e.Stage, kind, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// IsTemporary says whether a send failure may succeed when tried again later:
// 4xx replies, network failures, timeouts, a cancelled context. SMTP 5xx
// replies, addresses that do not parse and mail that cannot be built are
// permanent. An error that is not a *SendError counts as temporary.
func IsTemporary(err error) bool {
	if err == nil {
		return false
	}
	var se *SendError
	if errors.As(err, &se) {
		return se.Temporary
	}
	return !IsHeaderError(err)
}

// IsPermanent is the opposite of IsTemporary for a non-nil error.
func IsPermanent(err error) bool { return err != nil && !IsTemporary(err) }

// classify turns a go-mail error of one message into a *SendError.
func classify(err error, ctx context.Context) *SendError {
	var ge *gomail.SendError
	if !errors.As(err, &ge) {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return &SendError{Stage: "conn", Temporary: true, Err: err}
	}
	if ctx.Err() != nil {
		// Cut off by the context: temporary, but if the message was already
		// out (waiting for the reply to its end) it may have been delivered.
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		return &SendError{Stage: "conn", Temporary: true, MaybeDelivered: ge.Reason == gomail.ErrSMTPDataClose, Err: err}
	}
	se := &SendError{Code: ge.ErrorCode(), Enhanced: ge.EnhancedStatusCode(), Err: err}
	switch ge.Reason {
	case gomail.ErrGetSender, gomail.ErrGetRcpts, gomail.ErrNoUnencoded:
		se.Stage = "build"
	case gomail.ErrSMTPMailFrom:
		se.Stage = "mail"
	case gomail.ErrSMTPRcptTo:
		se.Stage = "rcpt"
	case gomail.ErrSMTPData:
		se.Stage = "data"
	case gomail.ErrWriteContent:
		se.Stage = "write"
	case gomail.ErrSMTPDataClose:
		se.Stage = "end-of-data"
	case gomail.ErrSMTPReset:
		se.Stage = "reset"
	default:
		se.Stage = "conn"
	}
	switch {
	case se.Code >= 500:
		se.Temporary = false
	case se.Code >= 400:
		se.Temporary = true
	case se.Stage == "build":
		se.Temporary = false
	default: // no reply code: the connection failed
		se.Temporary = true
		se.MaybeDelivered = se.Stage == "end-of-data"
	}
	return se
}
