package ticket

import (
	"errors"
	"fmt"
)

// ErrNotFound is returned, wrapped with the ticket number, for an unknown ticket.
var ErrNotFound = errors.New("not found")

// ErrEscalationPending refuses a second escalation while the first one's
// Dooray! task does not exist yet.
var ErrEscalationPending = errors.New("already being escalated: its Dooray! task is on the way (see the dooray queue)")

// InputError is a request the store refuses before touching anything: a missing
// field, a bad value. It is the caller's to fix.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func inputf(format string, args ...any) error { return &InputError{Msg: fmt.Sprintf(format, args...)} }

func notFound(id int64) error { return fmt.Errorf("ticket %d: %w", id, ErrNotFound) }
