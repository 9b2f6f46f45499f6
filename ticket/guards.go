package ticket

import (
	"context"
	"fmt"
	"strings"
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

// guardFacts is what the guards read about a mail's recipient, under the
// recipient's lock.
type guardFacts struct {
	bounced    *string     // the reason of an active suppression (a recent bounce)
	ownService *string     // the service whose address it is
	recent     []time.Time // with a cap: the mails of the last hour, oldest first (one being sent counts as sent now)
}

// claimIfAllowed reads the guard facts of mail @id (to @addr, its recipient
// as normalAddress writes it everywhere) and, when no guard stops
// it, moves it to sending (attempts + 1), returning the new attempts (NULL
// when it was not claimed). No row: the mail was sent, or goes to another
// address than @recipient, the one it was built for. The cap's condition is
// the one verdict applies.
const claimIfAllowed = `WITH o AS (
		SELECT id, @addr::text AS addr FROM outbound_mails
		WHERE id = @id AND state <> 'sent' AND recipient = @recipient
	), g AS (
		SELECT
			(SELECT f.reason FROM failing_addresses f WHERE f.address = o.addr AND ` + suppressionActive + `) AS bounced,
			(SELECT key FROM services WHERE lower(address) = o.addr ORDER BY key LIMIT 1) AS own_service,
			CASE WHEN @cap > 0 THEN ARRAY(SELECT coalesce(x.sent_at, @now) FROM outbound_mails x
				WHERE lower(x.recipient) = o.addr AND x.id <> o.id
					AND (x.state = 'sent' AND x.sent_at > @now::timestamptz - interval '1 hour' OR x.state = 'sending')
				ORDER BY 1) ELSE '{}' END AS recent
		FROM o
	), u AS (
		UPDATE outbound_mails SET state = 'sending', attempts = attempts + 1 FROM g
		WHERE outbound_mails.id = @id AND outbound_mails.state <> 'sent' AND g.bounced IS NULL AND g.own_service IS NULL
			AND (@cap <= 0 OR cardinality(g.recent) < @cap)
		RETURNING attempts
	)
	SELECT g.bounced, g.own_service, g.recent, (SELECT attempts FROM u) FROM g`

func (s *Store) guardArgs(id int64, recipient, addr string, g Guards, now time.Time) pgx.NamedArgs {
	args := s.suppressionArgs(now)
	args["id"], args["recipient"], args["addr"], args["cap"] = id, recipient, addr, g.RecipientPerHour
	return args
}

// verdict says what the facts mean for mailing addr: a recent bounce or one
// of our own addresses suppress the mail (a person decides: unsuppress,
// correct the address, retry); the hourly cap only makes it wait for the hour
// to have room again.
func (f guardFacts) verdict(addr string, g Guards, now time.Time) verdict {
	var v verdict
	switch {
	case f.bounced != nil:
		v.suppress = fmt.Sprintf("%s is marked failing by a bounce (%s)", addr, strings.TrimSpace(*f.bounced))
	case f.ownService != nil:
		v.suppress = fmt.Sprintf("%s is the address of our service %q", addr, *f.ownService)
	case g.RecipientPerHour > 0 && len(f.recent) >= g.RecipientPerHour:
		// The window has room again when the oldest of those over the cap is an hour old.
		v.deferUntil = f.recent[len(f.recent)-g.RecipientPerHour].Add(time.Hour)
		if !v.deferUntil.After(now) {
			v.deferUntil = now.Add(time.Minute)
		}
		v.deferReason = fmt.Sprintf("%s already got %d mails in the last hour (cap %d); waiting until %s",
			addr, len(f.recent), g.RecipientPerHour, v.deferUntil.UTC().Format(time.RFC3339))
	}
	return v
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
