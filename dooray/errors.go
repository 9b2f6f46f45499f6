package dooray

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// APIError is the only error type the Client returns. It is classified where it
// enters, so callers decide on retries without knowing Dooray!: Retryable says a
// later attempt may succeed, Ambiguous says the request may already have taken
// effect (reconcile before re-creating), RetryAfter is the wait the server asked for.
type APIError struct {
	Method string // HTTP method of the call
	Path   string // URL path of the call, without the query

	HTTPStatus int    // 0 when no response was received
	ResultCode int    // header.resultCode; -HTTPStatus when the body was not an envelope
	Message    string // header.resultMessage or a hint; for humans only, never branch on it

	Retryable  bool
	Ambiguous  bool
	RetryAfter time.Duration

	Err error // underlying transport or decoding error, if any
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("dooray: ")
	if e.Method != "" {
		b.WriteString(e.Method + " " + e.Path + ": ")
	}
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, "HTTP %d", e.HTTPStatus)
		if e.ResultCode != 0 {
			fmt.Fprintf(&b, " resultCode %d", e.ResultCode)
		}
	}
	if e.Message != "" {
		if e.HTTPStatus != 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		if e.HTTPStatus != 0 || e.Message != "" {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	}
	switch {
	case e.Retryable && e.RetryAfter > 0:
		fmt.Fprintf(&b, " (retryable after %s", e.RetryAfter)
	case e.Retryable:
		b.WriteString(" (retryable")
	default:
		b.WriteString(" (permanent")
	}
	if e.Ambiguous {
		b.WriteString(", may have been applied")
	}
	b.WriteString(")")
	return b.String()
}

func (e *APIError) Unwrap() error { return e.Err }

// IsRetryable reports whether err is a Dooray! error that a later attempt may cure:
// 429, 5xx, timeouts and network failures.
func IsRetryable(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Retryable
}

// IsAmbiguous reports whether the request may have reached Dooray! and taken effect
// although no success was seen (5xx, timeouts after the request was sent). A create
// that fails this way must be reconciled by a lookup before it is sent again,
// because Dooray! has no idempotency keys.
func IsAmbiguous(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Ambiguous
}

// IsNotFound reports a 404. Dooray! also answers 404 for resources the token may
// not see, so this does not prove the resource is gone.
func IsNotFound(err error) bool { return hasStatus(err, 404) }

// IsUnauthorized reports a 401: a missing, wrong or revoked token.
func IsUnauthorized(err error) bool { return hasStatus(err, 401) }

// RetryAfter returns the wait the server asked for (from the rate-limit headers),
// or 0 when it did not say.
func RetryAfter(err error) time.Duration {
	var e *APIError
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

func hasStatus(err error, status int) bool {
	var e *APIError
	return errors.As(err, &e) && e.HTTPStatus == status
}

// classify sets Retryable, Ambiguous for an HTTP status. The server answered, so
// only statuses that can follow processing (5xx, 408) are ambiguous; 429 is
// rejected before processing and safe to resend even for creates.
func (e *APIError) classify() {
	s := e.HTTPStatus
	switch {
	case s == 429:
		e.Retryable = true
	case s == 408 || s >= 500:
		e.Retryable, e.Ambiguous = true, true
	default:
		e.Retryable, e.Ambiguous = false, false
	}
}
