package ticket

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// verdict is what the guards say about one mail: stop it (suppress), make it
// wait (deferUntil), or neither.
type verdict struct {
	suppress    string
	deferUntil  time.Time
	deferReason string
}

// guard checks, under the recipient's lock, the limits of mailing addr:
// a recent bounce or one of our own addresses suppress the mail (a person
// decides: unsuppress, correct the address, retry); the hourly cap only makes
// it wait for the hour to have room again.
func (s *Store) guard(ctx context.Context, tx pgx.Tx, id int64, addr string, g Guards, now time.Time) (verdict, error) {
	var v verdict
	var err error
	if v.suppress, err = s.suppressionOf(ctx, tx, addr, now); err != nil || v.suppress != "" {
		return v, err
	}
	var service string
	switch err := tx.QueryRow(ctx, "SELECT key FROM services WHERE lower(address) = $1 LIMIT 1", addr).Scan(&service); {
	case err == nil:
		v.suppress = fmt.Sprintf("%s is the address of our service %q", addr, service)
		return v, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return v, err
	}
	if g.RecipientPerHour <= 0 {
		return v, nil
	}
	// The mails of the last hour (one being sent counts as sent now); the
	// window has room again when the oldest of those over the cap is an hour old.
	rows, err := tx.Query(ctx, `SELECT coalesce(sent_at, $3) FROM outbound_mails WHERE lower(recipient) = $1 AND id <> $2
		AND (state = 'sent' AND sent_at > $3 - interval '1 hour' OR state = 'sending') ORDER BY 1`, addr, id, now)
	if err != nil {
		return v, err
	}
	recent, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil || len(recent) < g.RecipientPerHour {
		return v, err
	}
	v.deferUntil = recent[len(recent)-g.RecipientPerHour].Add(time.Hour)
	if !v.deferUntil.After(now) {
		v.deferUntil = now.Add(time.Minute)
	}
	v.deferReason = fmt.Sprintf("%s already got %d mails in the last hour (cap %d); waiting until %s",
		addr, len(recent), g.RecipientPerHour, v.deferUntil.UTC().Format(time.RFC3339))
	return v, nil
}

// deferIn records that the mail waits for its recipient's next hour: it stays
// owed (pending), with the reason and an event.
func deferIn(ctx context.Context, tx pgx.Tx, id, ticketID int64, reason string, until, now time.Time) error {
	tag, err := tx.Exec(ctx, `UPDATE outbound_mails SET last_error = $2,
			state = CASE WHEN state IN ('failed', 'suppressed') THEN 'pending' ELSE state END
		WHERE id = $1 AND state <> 'sent'`, id, reason)
	if err != nil || tag.RowsAffected() == 0 {
		return err
	}
	return insertEvent(ctx, tx, ticketID, "mail_deferred", "worker", "", "",
		map[string]any{"outbound_mail_id": id, "reason": reason, "until": until}, now)
}
