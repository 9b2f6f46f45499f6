package ticket

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultSuppressFor is how long a hard bounce stops mail to an address
// unless configured (smtp.suppress_for).
const DefaultSuppressFor = 7 * 24 * time.Hour

// SetSuppressFor sets how long a hard bounce stops mail to its address
// (0: DefaultSuppressFor). Call it while wiring, before the store is shared.
func (s *Store) SetSuppressFor(d time.Duration) {
	if d <= 0 {
		d = DefaultSuppressFor
	}
	s.suppressFor = d
}

// suppressionActive is the one rule of suppression, over failing_addresses f:
// a bounce stops mail to its address for suppressFor, or until the customer
// writes to us again from it, whichever comes first.
const suppressionActive = `f.created_at > @now::timestamptz - make_interval(secs => @for_secs)
	AND NOT EXISTS (SELECT 1 FROM ticket_messages m WHERE m.kind = 'customer'
		AND lower(m.author) = f.address AND m.created_at > f.created_at)`

func (s *Store) suppressionArgs(now time.Time) pgx.NamedArgs {
	return pgx.NamedArgs{"now": now, "for_secs": s.suppressFor.Seconds()}
}

// normalAddress is an address as suppressions, the hourly cap and the
// recipient's lock know it.
func normalAddress(addr string) string { return strings.ToLower(strings.TrimSpace(addr)) }

// Suppression is an address we do not mail, and until when.
type Suppression struct {
	Address  string    `json:"address"`
	Reason   string    `json:"reason"`
	TicketID *int64    `json:"ticket_id,omitempty"` // the ticket whose mail bounced
	Since    time.Time `json:"since"`
	Until    time.Time `json:"until"` // or earlier, when the customer writes again
}

// Suppressed lists the addresses mail is stopped to now, newest first.
func (s *Store) Suppressed(ctx context.Context, limit int) ([]Suppression, error) {
	if limit <= 0 {
		limit = 100
	}
	args := s.suppressionArgs(s.now())
	args["limit"] = limit
	rows, err := s.pool.Query(ctx, `SELECT f.address, f.reason, f.ticket_id, f.created_at,
			f.created_at + make_interval(secs => @for_secs)
		FROM failing_addresses f WHERE `+suppressionActive+` ORDER BY f.created_at DESC LIMIT @limit`, args)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Suppression, error) {
		var x Suppression
		return x, r.Scan(&x.Address, &x.Reason, &x.TicketID, &x.Since, &x.Until)
	})
}

// Unsuppress lifts the suppression of address, with an event on the ticket
// whose mail bounced. The mails it stopped are not sent by this: retry them
// (`outbox retry`, or Run in the dashboard).
func (s *Store) Unsuppress(ctx context.Context, address, actor string) (Suppression, error) {
	addr := normalAddress(address)
	var x Suppression
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `DELETE FROM failing_addresses WHERE address = $1 RETURNING address, reason, ticket_id, created_at`, addr).
			Scan(&x.Address, &x.Reason, &x.TicketID, &x.Since)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("address %q: %w", address, ErrNotFound)
		}
		if err != nil {
			return err
		}
		x.Until = s.now()
		if x.TicketID == nil {
			return nil
		}
		return insertEvent(ctx, tx, *x.TicketID, "unsuppressed", actor, "", "", map[string]any{"address": addr}, x.Until)
	})
	return x, err
}
