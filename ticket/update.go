package ticket

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/jackc/pgx/v5"
)

// TicketUpdate changes a ticket's own data; a nil field is left as it is.
// None of it is a status change, so it is allowed in every status.
type TicketUpdate struct {
	Priority       *Priority
	CustomerName   *string
	CustomerEmail  *string
	CustomerFields map[string]string // replaces the fields; nil: unchanged
	Starred        *bool             // important (seed ⑥)
	Actor          string
}

// Update changes the fields given, in one transaction with an "updated" event
// that records each change. A corrected customer address also readdresses the
// ticket's mails not sent yet (pending, failed, suppressed): pressing Run on
// the failed mail:send task, or `outbox retry`, then mails the new address.
func (s *Store) Update(ctx context.Context, id int64, u TicketUpdate) (Ticket, error) {
	if err := u.validate(); err != nil {
		return Ticket{}, err
	}
	var out Ticket
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		now := s.now()
		t, err := scanTicket(tx.QueryRow(ctx, "SELECT "+ticketColumns+" FROM tickets WHERE id = $1 FOR UPDATE", id))
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound(id)
		}
		if err != nil {
			return err
		}
		next := t
		changes := map[string]any{}
		change := func(field string, from, to any) { changes[field] = map[string]any{"from": from, "to": to} }
		if u.Priority != nil && *u.Priority != t.Priority {
			next.Priority = *u.Priority
			change("priority", t.Priority, next.Priority)
		}
		if u.CustomerName != nil && *u.CustomerName != t.CustomerName {
			next.CustomerName = *u.CustomerName
			change("customer_name", t.CustomerName, next.CustomerName)
		}
		if u.CustomerEmail != nil && *u.CustomerEmail != t.CustomerEmail {
			next.CustomerEmail = *u.CustomerEmail
			change("customer_email", t.CustomerEmail, next.CustomerEmail)
		}
		if u.CustomerFields != nil && !maps.Equal(u.CustomerFields, t.CustomerFields) {
			next.CustomerFields = u.CustomerFields
			change("customer_fields", t.CustomerFields, next.CustomerFields)
		}
		kind := "updated"
		if u.Starred != nil && *u.Starred != t.Starred {
			next.Starred = *u.Starred
			change("starred", t.Starred, next.Starred)
			if len(changes) == 1 {
				kind = map[bool]string{true: "starred", false: "unstarred"}[next.Starred]
			}
		}
		if len(changes) == 0 {
			out = t
			return nil
		}
		if next.CustomerFields == nil {
			next.CustomerFields = map[string]string{}
		}
		if out, err = scanTicket(tx.QueryRow(ctx, `UPDATE tickets SET priority = $2, customer_name = $3, customer_email = $4,
				customer_fields = $5, starred = $6, updated_at = $7
			WHERE id = $1 RETURNING `+ticketColumns, id, next.Priority, next.CustomerName, next.CustomerEmail,
			next.CustomerFields, next.Starred, now)); err != nil {
			return err
		}
		data := map[string]any{"changes": changes}
		if next.CustomerEmail != t.CustomerEmail && next.CustomerEmail != "" {
			rows, err := tx.Query(ctx, `UPDATE outbound_mails SET recipient = $2
				WHERE ticket_id = $1 AND state IN ('pending', 'failed', 'suppressed') RETURNING id`, id, next.CustomerEmail)
			if err != nil {
				return err
			}
			ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				return err
			}
			if len(ids) > 0 {
				data["readdressed_outbound_mail_ids"] = ids
			}
		}
		return insertEvent(ctx, tx, id, kind, u.Actor, "", "", data, now)
	})
	return out, err
}

func (u *TicketUpdate) validate() error {
	var problems []string
	if u.Priority != nil {
		p, err := ParsePriority(string(*u.Priority))
		if err != nil || *u.Priority == "" {
			problems = append(problems, fmt.Sprintf("unknown priority %q (want one of %v)", *u.Priority, Priorities))
		}
		*u.Priority = p
	}
	if u.CustomerEmail != nil {
		e := strings.TrimSpace(*u.CustomerEmail)
		u.CustomerEmail = &e
		if e != "" {
			if _, err := mailAddress(e); err != nil {
				problems = append(problems, fmt.Sprintf("customer email %q is not an address", e))
			}
		}
	}
	if u.CustomerName != nil && strings.ContainsAny(*u.CustomerName, "\r\n") {
		problems = append(problems, "customer name must be one line")
	}
	for k, v := range u.CustomerFields {
		if strings.TrimSpace(k) == "" || len(k) > 64 || len(v) > 1000 {
			problems = append(problems, fmt.Sprintf("customer field %q: names of 1 to 64 characters, values up to 1000", k))
		}
	}
	if len(problems) > 0 {
		return inputf("%s", strings.Join(problems, "; "))
	}
	return nil
}
