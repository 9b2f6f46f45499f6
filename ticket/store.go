package ticket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store keeps tickets in PostgreSQL. Each of its operations is one transaction
// that writes the ticket, its history message, its events and the outbox row of
// any side effect it owes, or nothing at all.
type Store struct {
	pool   *pgxpool.Pool
	sealer *Sealer // nil: masks are not recoverable
	now    func() time.Time
	// suppressFor is how long a hard bounce stops mail to its address.
	suppressFor time.Duration
	// leaseTTL and leaseRenew time the Dooray! leases (see DoorayLease).
	leaseTTL, leaseRenew time.Duration
	// judged, when set, runs between a claim's guard verdict and its record
	// (tests change the mail there).
	judged func()
}

// NewStore returns a Store on pool. sealer may be nil (see Sealer).
func NewStore(pool *pgxpool.Pool, sealer *Sealer) *Store {
	return &Store{pool: pool, sealer: sealer, now: time.Now, suppressFor: DefaultSuppressFor,
		leaseTTL: doorayLeaseTTL, leaseRenew: doorayLeaseRenew}
}

const ticketColumns = `id, service_key, subject, status, priority, channel, customer_name, customer_email,
	assignee, operator_group, starred, source_ticket_id, created_at, updated_at, resolved_at, completed_at,
	customer_fields, feedback_requested_at`

func scanTicket(row pgx.Row) (Ticket, error) {
	var t Ticket
	err := row.Scan(&t.ID, &t.Service, &t.Subject, &t.Status, &t.Priority, &t.Channel, &t.CustomerName,
		&t.CustomerEmail, &t.Assignee, &t.Group, &t.Starred, &t.SourceTicketID, &t.CreatedAt, &t.UpdatedAt,
		&t.ResolvedAt, &t.CompletedAt, &t.CustomerFields, &t.FeedbackRequestedAt)
	return t, err
}

// Get returns one ticket.
func (s *Store) Get(ctx context.Context, id int64) (Ticket, error) {
	t, err := scanTicket(s.pool.QueryRow(ctx, "SELECT "+ticketColumns+" FROM tickets WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, notFound(id)
	}
	return t, err
}

// Messages returns the processing history of a ticket, oldest first.
func (s *Store) Messages(ctx context.Context, id int64) ([]Message, error) {
	rows, err := s.pool.Query(ctx, `SELECT m.id, m.ticket_id, m.kind, m.author, m.body, coalesce(m.reply_text, m.body),
			coalesce(m.reply_text = '' AND m.body <> '', false), m.html,
			coalesce(m.mail_message_id, ''), coalesce(m.in_reply_to, ''), m.refs, coalesce(m.dooray_log_id, ''), m.created_at,
			coalesce((SELECT json_agg(json_build_object('id', k.id, 'start', k.start_pos, 'end', k.end_pos,
				'recoverable', k.sealed IS NOT NULL, 'masked_by', k.masked_by) ORDER BY k.start_pos)
				FROM message_masks k WHERE k.message_id = m.id), '[]')
		FROM ticket_messages m WHERE m.ticket_id = $1 ORDER BY m.id`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) {
		var m Message
		var masks []byte
		err := r.Scan(&m.ID, &m.TicketID, &m.Kind, &m.Author, &m.Body, &m.ReplyText, &m.QuoteOnly, &m.HTML, &m.MailMessageID, &m.InReplyTo,
			&m.References, &m.DoorayLogID, &m.CreatedAt, &masks)
		if err == nil {
			err = json.Unmarshal(masks, &m.Masks)
		}
		return m, err
	})
}

// Events returns the event log of a ticket, oldest first.
func (s *Store) Events(ctx context.Context, id int64) ([]Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, ticket_id, kind, actor, from_status, to_status, data, created_at
		FROM ticket_events WHERE ticket_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Event, error) {
		var e Event
		err := r.Scan(&e.ID, &e.TicketID, &e.Kind, &e.Actor, &e.From, &e.To, &e.Data, &e.CreatedAt)
		if len(e.Data) == 0 {
			e.Data = nil
		}
		return e, err
	})
}

// change is the context of one state-changing operation inside its transaction.
type change struct {
	tx     pgx.Tx
	ticket Ticket // as locked, before the change
	next   Status
	actor  string
	now    time.Time
}

// transact runs fn on ticket id, locked, inside one transaction, after checking
// that action is allowed in its status. It then stores the new status, records
// the event (kind = action, with data) and, when the ticket leaves for resolved,
// answers the issue transfer it came from.
func (s *Store) transact(ctx context.Context, id int64, action Action, actor string, fn func(c *change) (map[string]any, error)) (Ticket, error) {
	var out Ticket
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		out, err = transactIn(ctx, tx, id, action, actor, s.now(), fn)
		return err
	})
	return out, err
}

// transactIn is transact inside a transaction the caller holds.
func transactIn(ctx context.Context, tx pgx.Tx, id int64, action Action, actor string, now time.Time, fn func(c *change) (map[string]any, error)) (Ticket, error) {
	t, err := scanTicket(tx.QueryRow(ctx, "SELECT "+ticketColumns+" FROM tickets WHERE id = $1 FOR UPDATE", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, notFound(id)
	}
	if err != nil {
		return t, err
	}
	next, err := Next(t.Status, action, t.Assignee != "")
	if err != nil {
		return t, fmt.Errorf("ticket %d: %w", id, err)
	}
	c := &change{tx: tx, ticket: t, next: next, actor: actor, now: now}
	data := map[string]any{}
	if fn != nil {
		if data, err = fn(c); err != nil {
			return t, err
		}
	}
	if action == ActionDeleteSpam {
		_, err := tx.Exec(ctx, "DELETE FROM tickets WHERE id = $1", id)
		return t, err
	}
	out, err := scanTicket(tx.QueryRow(ctx, `UPDATE tickets SET status = $2, updated_at = $3,
			resolved_at = CASE WHEN $2 = status OR $2 = 'completed' THEN resolved_at WHEN $2 = 'resolved' THEN $3 END,
			completed_at = CASE WHEN $2 = status THEN completed_at WHEN $2 = 'completed' THEN $3 END,
			feedback_requested_at = CASE WHEN $4 THEN NULL ELSE feedback_requested_at END
		WHERE id = $1 RETURNING `+ticketColumns, id, c.next, c.now, clearsFeedback(action)))
	if err != nil {
		return out, err
	}
	if err := c.event(ctx, string(action), t.Status, c.next, data); err != nil {
		return out, err
	}
	if c.next == StatusResolved && t.SourceTicketID != nil {
		return out, c.answerIssue(ctx, *t.SourceTicketID)
	}
	return out, nil
}

func (c *change) event(ctx context.Context, kind string, from, to Status, data map[string]any) error {
	return insertEvent(ctx, c.tx, c.ticket.ID, kind, c.actor, from, to, data, c.now)
}

func insertEvent(ctx context.Context, tx pgx.Tx, id int64, kind, actor string, from, to Status, data map[string]any, at time.Time) error {
	if data == nil {
		data = map[string]any{}
	}
	_, err := tx.Exec(ctx, `INSERT INTO ticket_events (ticket_id, kind, actor, from_status, to_status, data, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, kind, actor, string(from), string(to), data, at)
	return err
}

// message appends an entry to the processing history and returns its id.
func (c *change) message(ctx context.Context, kind MessageKind, body string) (int64, error) {
	var id int64
	err := c.tx.QueryRow(ctx, `INSERT INTO ticket_messages (ticket_id, kind, author, body, created_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, c.ticket.ID, kind, c.actor, body, c.now).Scan(&id)
	return id, err
}

// outbox records a side effect owed; the relay turns it into an asynq task.
func (c *change) outbox(ctx context.Context, kind string, payload any) (int64, error) {
	var id int64
	err := c.tx.QueryRow(ctx, `INSERT INTO outbox (kind, payload, ticket_id, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		kind, payload, c.ticket.ID, c.now).Scan(&id)
	return id, err
}

// answerIssue moves the ticket an issue was transferred from to issue_answered,
// when it is still waiting for the answer.
func (c *change) answerIssue(ctx context.Context, sourceID int64) error {
	var from Status
	err := c.tx.QueryRow(ctx, "SELECT status FROM tickets WHERE id = $1 FOR UPDATE", sourceID).Scan(&from)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	to, err := Next(from, ActionIssueAnswered, true)
	if err != nil {
		return nil // the source moved on by itself (e.g. resolved meanwhile): nothing to answer
	}
	if _, err := c.tx.Exec(ctx, "UPDATE tickets SET status = $2, updated_at = $3 WHERE id = $1", sourceID, to, c.now); err != nil {
		return err
	}
	return insertEvent(ctx, c.tx, sourceID, string(ActionIssueAnswered), c.actor, from, to,
		map[string]any{"issue_ticket_id": c.ticket.ID}, c.now)
}
