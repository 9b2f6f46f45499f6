package ticket

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// NewTicket is what Create needs: by hand (channel created) or from a channel.
type NewTicket struct {
	Service       string
	Subject       string
	Channel       Channel
	Priority      Priority
	CustomerName  string
	CustomerEmail string
	Body          string  // the customer's first message; may be empty for a manual ticket
	ReplyText     *string // a mail's new words without quoted history; nil when none was read
	HTML          string
	Actor         string // operator, or "channel:email" and the like
	SourceTicket  *int64 // set by TransferIssue

	// Mail threading keys of the first message, when it came by mail.
	MailMessageID string
	InReplyTo     string
	References    []string
	InboundMailID *int64
}

func (n *NewTicket) validate() error {
	var problems []string
	if n.Service == "" {
		problems = append(problems, "service is required")
	}
	if strings.TrimSpace(n.Subject) == "" {
		problems = append(problems, "subject is required")
	}
	if n.CustomerEmail != "" {
		if _, err := mailAddress(n.CustomerEmail); err != nil {
			problems = append(problems, fmt.Sprintf("customer email %q is not an address", n.CustomerEmail))
		}
	}
	if strings.ContainsAny(n.CustomerName+n.CustomerEmail, "\r\n") {
		problems = append(problems, "customer name and email must be one line")
	}
	var err error
	if n.Channel, err = ParseChannel(string(n.Channel)); err != nil {
		problems = append(problems, err.Error())
	}
	if n.Priority, err = ParsePriority(string(n.Priority)); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return inputf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// Create makes a ticket in status unassigned with its first message and a
// "created" event.
func (s *Store) Create(ctx context.Context, n NewTicket) (Ticket, error) {
	if err := n.validate(); err != nil {
		return Ticket{}, err
	}
	var t Ticket
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		t, err = createIn(ctx, tx, n, s.now())
		return err
	})
	return t, err
}

func createIn(ctx context.Context, tx pgx.Tx, n NewTicket, now time.Time) (Ticket, error) {
	t, _, err := createWithMessage(ctx, tx, n, now)
	return t, err
}

// createWithMessage makes the ticket, its first message (id 0 when there is
// none) and its "created" event, then applies the service's triggers.
func createWithMessage(ctx context.Context, tx pgx.Tx, n NewTicket, now time.Time) (Ticket, int64, error) {
	t, err := scanTicket(tx.QueryRow(ctx, `INSERT INTO tickets (service_key, subject, channel, priority,
			customer_name, customer_email, source_ticket_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING `+ticketColumns,
		n.Service, strings.TrimSpace(n.Subject), n.Channel, n.Priority, n.CustomerName, n.CustomerEmail, n.SourceTicket, now))
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23503" { // foreign_key_violation: unknown service
			return t, 0, inputf("unknown service %q", n.Service)
		}
		return t, 0, err
	}
	var msgID int64
	if n.Body != "" || n.HTML != "" || n.MailMessageID != "" || n.InboundMailID != nil {
		kind := MessageCustomer
		if n.SourceTicket != nil {
			kind = MessageIssueTransfer
		}
		author := n.CustomerEmail
		if n.Channel == ChannelCreated || n.SourceTicket != nil {
			author = n.Actor
		}
		if err := tx.QueryRow(ctx, `INSERT INTO ticket_messages (ticket_id, kind, author, body, html,
				mail_message_id, in_reply_to, refs, inbound_mail_id, created_at, reply_text)
			VALUES ($1, $2, $3, $4, $5, nullif($6, ''), nullif($7, ''), $8, $9, $10, $11) RETURNING id`,
			t.ID, kind, author, n.Body, n.HTML, n.MailMessageID, n.InReplyTo, nonNil(n.References), n.InboundMailID, now, n.ReplyText).Scan(&msgID); err != nil {
			return t, 0, err
		}
	}
	data := map[string]any{"channel": n.Channel, "priority": n.Priority}
	if n.SourceTicket != nil {
		data["source_ticket_id"] = *n.SourceTicket
	}
	if err := insertEvent(ctx, tx, t.ID, "created", n.Actor, "", StatusUnassigned, data, now); err != nil {
		return t, 0, err
	}
	t, err = applyTriggers(ctx, tx, t, n.Body, now)
	return t, msgID, err
}

// Assignment is a keep (an operator takes the ticket), a transfer (to a group
// and operator) or a trigger's choice.
type Assignment struct {
	Operator string
	Group    string
	Actor    string
	Via      string // keep | transfer | trigger; recorded in the event
}

// Assign sets the assignee. An unassigned ticket becomes in_progress.
func (s *Store) Assign(ctx context.Context, id int64, a Assignment) (Ticket, error) {
	if strings.TrimSpace(a.Operator) == "" {
		return Ticket{}, inputf("an operator is required to assign a ticket")
	}
	if a.Via == "" {
		a.Via = "transfer"
	}
	return s.transact(ctx, id, ActionAssign, a.Actor, func(c *change) (map[string]any, error) {
		_, err := c.tx.Exec(ctx, "UPDATE tickets SET assignee = $2, operator_group = $3 WHERE id = $1", id, a.Operator, a.Group)
		return map[string]any{"operator": a.Operator, "group": a.Group, "via": a.Via,
			"previous_operator": c.ticket.Assignee}, err
	})
}

// Note is an operator's processing note for an action.
type Note struct {
	Text  string
	Actor string
}

// Resolve sets the ticket resolved and owes the customer a resolve mail.
func (s *Store) Resolve(ctx context.Context, id int64, n Note) (Ticket, error) {
	return s.reply(ctx, id, ActionResolve, MessageResolve, n)
}

// Hold puts the ticket on hold and owes the customer a hold mail.
func (s *Store) Hold(ctx context.Context, id int64, n Note) (Ticket, error) {
	return s.reply(ctx, id, ActionHold, MessageHold, n)
}

// reply is resolve or hold: the note goes into the history, an outbound_mails
// row (unique per note) fixes our Message-ID, and the outbox owes mail:send.
func (s *Store) reply(ctx context.Context, id int64, action Action, kind MessageKind, n Note) (Ticket, error) {
	if strings.TrimSpace(n.Text) == "" {
		return Ticket{}, inputf("a note is required to %s a ticket: it is the body of the mail", action)
	}
	return s.transact(ctx, id, action, n.Actor, func(c *change) (map[string]any, error) {
		if c.ticket.CustomerEmail == "" {
			return nil, inputf("ticket %d has no customer address to mail: use internal-resolve", id)
		}
		var address string
		if err := c.tx.QueryRow(ctx, "SELECT address FROM services WHERE key = $1", c.ticket.Service).Scan(&address); err != nil {
			return nil, fmt.Errorf("service %q of ticket %d: %w", c.ticket.Service, id, err)
		}
		msgID, err := c.message(ctx, kind, n.Text)
		if err != nil {
			return nil, err
		}
		var outID int64
		err = c.tx.QueryRow(ctx, `INSERT INTO outbound_mails (ticket_id, ticket_message_id, kind, recipient, mail_message_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			id, msgID, kind, c.ticket.CustomerEmail, NewMailMessageID(id, address), c.now).Scan(&outID)
		if err != nil {
			return nil, err
		}
		if _, err := c.outbox(ctx, OutboxMailSend, map[string]int64{"outbound_mail_id": outID}); err != nil {
			return nil, err
		}
		return map[string]any{"message_id": msgID, "outbound_mail_id": outID}, nil
	})
}

// Comment adds an internal note; nothing is sent.
func (s *Store) Comment(ctx context.Context, id int64, n Note) (Ticket, error) {
	if strings.TrimSpace(n.Text) == "" {
		return Ticket{}, inputf("a comment needs text")
	}
	return s.transact(ctx, id, ActionComment, n.Actor, func(c *change) (map[string]any, error) {
		msgID, err := c.message(ctx, MessageComment, n.Text)
		return map[string]any{"message_id": msgID}, err
	})
}

// InternalResolve resolves without mail (spam, tests, solved by phone); with
// spam the ticket goes to the spam box instead.
func (s *Store) InternalResolve(ctx context.Context, id int64, n Note, spam bool) (Ticket, error) {
	action := ActionInternalResolve
	if spam {
		action = ActionMarkSpam
	}
	return s.transact(ctx, id, action, n.Actor, func(c *change) (map[string]any, error) {
		if strings.TrimSpace(n.Text) == "" {
			return nil, nil
		}
		msgID, err := c.message(ctx, MessageInternalResolve, n.Text)
		return map[string]any{"message_id": msgID}, err
	})
}

// Restore takes a ticket out of the spam box, back to be worked on.
func (s *Store) Restore(ctx context.Context, id int64, actor string) (Ticket, error) {
	return s.transact(ctx, id, ActionRestore, actor, nil)
}

// DeleteSpam deletes a ticket in the spam box, with its history and events.
func (s *Store) DeleteSpam(ctx context.Context, id int64, actor string) error {
	_, err := s.transact(ctx, id, ActionDeleteSpam, actor, nil)
	return err
}

// Complete closes a resolved ticket for good (an administrator's action).
func (s *Store) Complete(ctx context.Context, id int64, actor string) (Ticket, error) {
	return s.transact(ctx, id, ActionComplete, actor, nil)
}

// Escalation is a Dooray! transfer: a task in the project the operator chose.
type Escalation struct {
	ProjectID string
	Content   string
	Actor     string
}

// Escalate records the escalation and owes a Dooray! task (dooray:escalate).
// The ticket becomes dooray_transferred when the task exists (DoorayCreated).
func (s *Store) Escalate(ctx context.Context, id int64, e Escalation) (Ticket, error) {
	if strings.TrimSpace(e.ProjectID) == "" || strings.TrimSpace(e.Content) == "" {
		return Ticket{}, inputf("an escalation needs a Dooray! project and content")
	}
	return s.transact(ctx, id, ActionEscalate, e.Actor, func(c *change) (map[string]any, error) {
		msgID, err := c.message(ctx, MessageEscalation, e.Content)
		if err != nil {
			return nil, err
		}
		var linkID int64
		if err := c.tx.QueryRow(ctx, `INSERT INTO dooray_links (ticket_id, escalation_message_id, project_id, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $4) RETURNING id`, id, msgID, e.ProjectID, c.now).Scan(&linkID); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.ConstraintName == "dooray_links_one_pending_idx" {
				return nil, fmt.Errorf("ticket %d: %w", id, ErrEscalationPending)
			}
			return nil, err
		}
		if _, err := c.outbox(ctx, OutboxDoorayEscalate, map[string]int64{"dooray_link_id": linkID}); err != nil {
			return nil, err
		}
		return map[string]any{"project_id": e.ProjectID, "dooray_link_id": linkID, "message_id": msgID}, nil
	})
}

// DoorayComment adds an operator's comment for the Dooray! task and owes
// dooray:comment. Allowed while the ticket is dooray_transferred or dooray_in_progress.
func (s *Store) DoorayComment(ctx context.Context, id int64, n Note) (Ticket, error) {
	if strings.TrimSpace(n.Text) == "" {
		return Ticket{}, inputf("a Dooray! comment needs text")
	}
	return s.transact(ctx, id, ActionDoorayComment, n.Actor, func(c *change) (map[string]any, error) {
		msgID, err := c.message(ctx, MessageDoorayOut, n.Text)
		if err != nil {
			return nil, err
		}
		if _, err := c.outbox(ctx, OutboxDoorayComment, map[string]int64{"message_id": msgID}); err != nil {
			return nil, err
		}
		return map[string]any{"message_id": msgID}, nil
	})
}

// IssueTransfer hands a ticket to an issue-management service (イシュー移管).
type IssueTransfer struct {
	Service string
	Channel Channel
	Subject string
	Body    string
	Actor   string
}

// TransferIssue creates the ticket in the other service and sets this one
// issue_transferring; resolving the new ticket answers it (issue_answered).
// It returns the source ticket and the new one.
func (s *Store) TransferIssue(ctx context.Context, id int64, it IssueTransfer) (Ticket, Ticket, error) {
	var created Ticket
	src, err := s.transact(ctx, id, ActionIssueTransfer, it.Actor, func(c *change) (map[string]any, error) {
		if it.Service == c.ticket.Service {
			return nil, inputf("an issue transfer goes to another service, not %q", it.Service)
		}
		n := NewTicket{Service: it.Service, Channel: it.Channel, Subject: it.Subject, Body: it.Body,
			CustomerName: c.ticket.CustomerName, CustomerEmail: c.ticket.CustomerEmail,
			Priority: c.ticket.Priority, Actor: it.Actor, SourceTicket: &c.ticket.ID}
		if n.Subject == "" {
			n.Subject = c.ticket.Subject
		}
		if err := n.validate(); err != nil {
			return nil, err
		}
		var err error
		if created, err = createIn(ctx, c.tx, n, c.now); err != nil {
			return nil, err
		}
		return map[string]any{"service": it.Service, "issue_ticket_id": created.ID}, nil
	})
	return src, created, err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
