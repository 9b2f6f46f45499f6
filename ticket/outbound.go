package ticket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// OutboundState is where a customer mail we owe stands.
type OutboundState string

const (
	OutboundPending    OutboundState = "pending"    // owed, not tried (or a temporary failure)
	OutboundSending    OutboundState = "sending"    // claimed: an SMTP transaction may be under way
	OutboundSent       OutboundState = "sent"       // the server accepted it: never sent again
	OutboundFailed     OutboundState = "failed"     // permanently refused; claimable again after a fix
	OutboundSuppressed OutboundState = "suppressed" // a guard stopped it; claimable again
)

// MailContext is what rendering a resolve or hold mail needs from the database.
type MailContext struct {
	Ticket         Ticket
	Service        MailService
	Templates      []TemplateDef // the service's forms of this kind, every locale; none: the built-in ones
	ForbiddenWords []string
	CustomerText   string   // the customer's latest message, to answer in its language
	InReplyTo      string   // the customer's latest message (no angle brackets)
	References     []string // the conversation, oldest first, ending with InReplyTo
}

// MailService is the sending side of a mail.
type MailService struct {
	Key, Name, Address, Locale string
	Links                      []ServiceLink // settings.links of the service, if any
}

// ServiceLink is a labelled URL of a service (help centre, survey …).
type ServiceLink struct {
	Label string `json:"label"`
	URL   string `json:"url"`
}

// OutboundMail is one row of outbound_mails with all that sending it needs.
type OutboundMail struct {
	ID              int64
	TicketID        int64
	TicketMessageID int64
	Kind            MessageKind
	Recipient       string
	MailMessageID   string // ours, without angle brackets
	State           OutboundState
	Attempts        int
	LastError       string
	CreatedAt       time.Time
	SentAt          *time.Time
	Note            string // the operator's note: the ticket message the mail carries
	MailContext
}

// batcher is a transaction or a connection, for pipelined statements.
type batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// querier is a transaction or a connection.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ReplyContext is what a preview of a resolve or hold of ticket id needs. It
// writes nothing.
func (s *Store) ReplyContext(ctx context.Context, id int64, kind MessageKind) (MailContext, error) {
	if kind != MessageResolve && kind != MessageHold {
		return MailContext{}, inputf("%q is not a mail kind (want resolve or hold)", kind)
	}
	var mc MailContext
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		t, err := scanTicket(tx.QueryRow(ctx, "SELECT "+ticketColumns+" FROM tickets WHERE id = $1", id))
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound(id)
		}
		if err != nil {
			return err
		}
		mc, err = mailContext(ctx, tx, t, kind, 0)
		return err
	})
	return mc, err
}

// mailContext reads the service, templates, forbidden words and threading
// keys of a mail about t, in one round trip (a pipelined batch). exclude is
// the outbound mail being sent, left out of its own References.
func mailContext(ctx context.Context, q batcher, t Ticket, kind MessageKind, exclude int64) (MailContext, error) {
	mc := MailContext{Ticket: t}
	var links []byte
	var chain []string
	add := func(id string) {
		id = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(id), "<"), ">")
		if id != "" && !slices.Contains(chain, id) {
			chain = append(chain, id)
		}
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT key, name, address, locale, coalesce(settings->'links', '[]') FROM services WHERE key = $1`, t.Service).
		QueryRow(func(r pgx.Row) error {
			if err := r.Scan(&mc.Service.Key, &mc.Service.Name, &mc.Service.Address, &mc.Service.Locale, &links); err != nil {
				return fmt.Errorf("service %q of ticket %d: %w", t.Service, t.ID, err)
			}
			return nil
		})
	b.Queue(`SELECT kind, locale, subject, text_body, html_body FROM mail_templates
		WHERE service_key = $1 AND kind = $2 ORDER BY locale`, t.Service, kind).Query(func(rows pgx.Rows) error {
		var err error
		mc.Templates, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (TemplateDef, error) {
			var d TemplateDef
			err := r.Scan(&d.Kind, &d.Locale, &d.Subject, &d.Text, &d.HTML)
			return d, err
		})
		return err
	})
	b.Queue(`SELECT word FROM forbidden_words WHERE service_key = $1 ORDER BY word`, t.Service).Query(func(rows pgx.Rows) error {
		var err error
		mc.ForbiddenWords, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	b.Queue(`SELECT coalesce((SELECT body FROM ticket_messages WHERE ticket_id = $1 AND kind = 'customer'
		ORDER BY id DESC LIMIT 1), '')`, t.ID).QueryRow(func(r pgx.Row) error { return r.Scan(&mc.CustomerText) })
	// The conversation: the customer's mails (with the References they carried)
	// and the mails we already sent, in time order.
	b.Queue(`SELECT id, refs, customer FROM (
			SELECT mail_message_id AS id, refs, true AS customer, created_at AS at, id AS seq
			FROM ticket_messages WHERE ticket_id = $1 AND kind = 'customer' AND mail_message_id IS NOT NULL AND mail_message_id <> ''
			UNION ALL
			SELECT mail_message_id, '{}', false, sent_at, id
			FROM outbound_mails WHERE ticket_id = $1 AND state = 'sent' AND id <> $2
		) c ORDER BY at, seq`, t.ID, exclude).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id string
			var refs []string
			var customer bool
			if err := rows.Scan(&id, &refs, &customer); err != nil {
				return err
			}
			for _, r := range refs {
				add(r)
			}
			add(id)
			if customer {
				mc.InReplyTo = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(id), "<"), ">")
			}
		}
		return rows.Err()
	})
	if err := q.SendBatch(ctx, b).Close(); err != nil {
		return mc, err
	}
	if json.Unmarshal(links, &mc.Service.Links) != nil {
		mc.Service.Links = nil // malformed settings must not stop mail
	}
	if i := slices.Index(chain, mc.InReplyTo); mc.InReplyTo != "" && i >= 0 {
		chain = append(append(chain[:i:i], chain[i+1:]...), mc.InReplyTo) // the parent comes last
	}
	mc.References = chain
	return mc, nil
}

// ErrOutboundBusy is returned by LockOutbound while another worker holds the mail.
var ErrOutboundBusy = errors.New("another worker is sending this mail right now")

// outboundLockSpace is the first key of the advisory locks on outbound mails ('outb').
const outboundLockSpace = 0x6f757462

// OutboundLock is the right to send one outbound mail. It is a session-level
// advisory lock on a connection of its own, which every step below uses: a
// worker that dies loses the connection and with it the lock, so a task run
// again after a crash can tell a crashed attempt (state sending, lock free)
// from one still running elsewhere (ErrOutboundBusy). Each step is one
// transaction.
type OutboundLock struct {
	s    *Store
	conn *pgxpool.Conn
	id   int64
}

// LockOutbound takes the lock of outbound mail id without waiting.
func (s *Store) LockOutbound(ctx context.Context, id int64) (*OutboundLock, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", int32(outboundLockSpace), int32(id)).Scan(&ok); err != nil {
		conn.Release()
		return nil, err
	}
	if !ok {
		conn.Release()
		return nil, fmt.Errorf("outbound mail %d: %w", id, ErrOutboundBusy)
	}
	return &OutboundLock{s: s, conn: conn, id: id}, nil
}

// Release gives the lock up. It is safe to call more than once.
func (l *OutboundLock) Release() {
	if l.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := l.conn.Exec(ctx, "SELECT pg_advisory_unlock($1, $2)", int32(outboundLockSpace), int32(l.id)); err != nil {
		// Ending the session is the other way to free the lock.
		l.conn.Conn().Close(ctx)
	}
	l.conn.Release()
	l.conn = nil
}

func (l *OutboundLock) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, l.conn, fn)
}

// Load reads the mail with its ticket, note, service, templates and threading
// keys, in two round trips (two pipelined batches). It needs no snapshot of
// its own: Claim checks the state again under the row's lock.
func (l *OutboundLock) Load(ctx context.Context) (OutboundMail, error) {
	var m OutboundMail
	var t Ticket
	b := &pgx.Batch{}
	b.Queue(`SELECT o.id, o.ticket_id, o.ticket_message_id, o.kind, o.recipient, o.mail_message_id, o.state,
			o.attempts, o.last_error, o.created_at, o.sent_at, m.body
		FROM outbound_mails o JOIN ticket_messages m ON m.id = o.ticket_message_id WHERE o.id = $1`, l.id).QueryRow(func(r pgx.Row) error {
		err := r.Scan(&m.ID, &m.TicketID, &m.TicketMessageID, &m.Kind, &m.Recipient, &m.MailMessageID, &m.State,
			&m.Attempts, &m.LastError, &m.CreatedAt, &m.SentAt, &m.Note)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("outbound mail %d: %w", l.id, ErrNotFound)
		}
		return err
	})
	b.Queue("SELECT "+ticketColumns+" FROM tickets WHERE id = (SELECT ticket_id FROM outbound_mails WHERE id = $1)", l.id).
		QueryRow(func(r pgx.Row) (err error) {
			t, err = scanTicket(r)
			return err
		})
	if err := l.conn.SendBatch(ctx, b).Close(); err != nil {
		return m, err
	}
	var err error
	m.MailContext, err = mailContext(ctx, l.conn, t, m.Kind, m.ID)
	return m, err
}

// ClaimOutcome is what Claim decided.
type ClaimOutcome string

const (
	ClaimSend        ClaimOutcome = "send"         // state is now sending: go ahead
	ClaimAlreadySent ClaimOutcome = "already_sent" // nothing to do, ever
	ClaimSuppressed  ClaimOutcome = "suppressed"   // a guard stopped it (Reason), with an event
	ClaimDeferred    ClaimOutcome = "deferred"     // the hourly cap: try again at Until; still pending
)

// Claim is the result of claiming an outbound mail for sending.
type Claim struct {
	Outcome  ClaimOutcome
	Previous OutboundState // the state found; sending means an earlier attempt ended unrecorded
	Attempts int           // including this one
	Reason   string        // why it was suppressed or deferred
	Until    time.Time     // deferred: when the recipient's hour has room again
}

// Guards are the limits checked when a mail is claimed.
type Guards struct {
	RecipientPerHour int // at most this many mails to one address in an hour; 0: no cap
}

// Claim moves the mail to sending (attempts + 1) unless it was sent already
// or a guard stops it (see guard): the address bounced recently, or it is one
// of our services' own addresses (suppressed); or the address already got
// RecipientPerHour mails in the last hour (deferred: it stays pending for the
// next window, never dropped). A failed or suppressed mail is claimable
// again, so a retry from the dashboard after a fix works.
func (l *OutboundLock) Claim(ctx context.Context, g Guards) (Claim, error) {
	var c Claim
	err := l.tx(ctx, func(tx pgx.Tx) error {
		var recipient string
		var ticketID int64
		err := tx.QueryRow(ctx, `SELECT state, recipient, ticket_id, attempts FROM outbound_mails WHERE id = $1 FOR UPDATE`, l.id).
			Scan(&c.Previous, &recipient, &ticketID, &c.Attempts)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("outbound mail %d: %w", l.id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if c.Previous == OutboundSent {
			c.Outcome = ClaimAlreadySent
			return nil
		}
		addr := strings.ToLower(strings.TrimSpace(recipient))
		// One recipient at a time, so two workers cannot both pass the hourly cap.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('contiple:recipient:' || $1))", addr); err != nil {
			return err
		}
		now := l.s.now()
		v, err := l.s.guard(ctx, tx, l.id, addr, g, now)
		if err != nil {
			return err
		}
		switch {
		case v.suppress != "":
			c.Outcome, c.Reason = ClaimSuppressed, v.suppress
			return suppressIn(ctx, tx, l.id, ticketID, v.suppress, now)
		case !v.deferUntil.IsZero():
			c.Outcome, c.Reason, c.Until = ClaimDeferred, v.deferReason, v.deferUntil
			return deferIn(ctx, tx, l.id, ticketID, v.deferReason, v.deferUntil, now)
		}
		c.Outcome = ClaimSend
		return tx.QueryRow(ctx, `UPDATE outbound_mails SET state = 'sending', attempts = attempts + 1
			WHERE id = $1 AND state <> 'sent' RETURNING attempts`, l.id).Scan(&c.Attempts)
	})
	return c, err
}

func suppressIn(ctx context.Context, tx pgx.Tx, id, ticketID int64, reason string, now time.Time) error {
	tag, err := tx.Exec(ctx, `UPDATE outbound_mails SET state = 'suppressed', last_error = $2 WHERE id = $1 AND state <> 'sent'`, id, reason)
	if err != nil || tag.RowsAffected() == 0 {
		return err
	}
	return insertEvent(ctx, tx, ticketID, "mail_suppressed", "worker", "", "",
		map[string]any{"outbound_mail_id": id, "reason": reason}, now)
}

// Suppress stops the mail for reason (a guard the caller checked), with an event.
func (l *OutboundLock) Suppress(ctx context.Context, reason string) error {
	return l.tx(ctx, func(tx pgx.Tx) error {
		var ticketID int64
		if err := tx.QueryRow(ctx, "SELECT ticket_id FROM outbound_mails WHERE id = $1 FOR UPDATE", l.id).Scan(&ticketID); err != nil {
			return err
		}
		return suppressIn(ctx, tx, l.id, ticketID, reason, l.s.now())
	})
}

// SentMail is what was sent, for the ticket's history. The body is the
// note (the history message itself) in its template's frame; the frame is not
// stored, so masking the note later masks everything personal that was kept.
type SentMail struct {
	Subject    string
	InReplyTo  string
	References []string
	Locale     string
	Response   string // the server's reply to the end of DATA, when known
}

// MarkSent records that the server accepted the mail: state sent, the
// history message (the note) gets the mail's Message-ID, In-Reply-To and
// References, and a mail_sent event keeps the subject and headers. Only a mail in state sending can be marked.
//
// The mail is out: recording it must not fail for a passing reason, or the
// next attempt sends it again. When the lock's connection is gone (PostgreSQL
// restarted, a failover, the network), the record is tried again on new
// connections, with backoff, until ctx ends. The row being sending, the
// record is still right without the lock.
func (l *OutboundLock) MarkSent(ctx context.Context, sm SentMail) error {
	err := l.markSent(ctx, l.conn, sm)
	for wait := 100 * time.Millisecond; err != nil && !errors.Is(err, errNotSending) && ctx.Err() == nil; wait = min(2*wait, 2*time.Second) {
		select {
		case <-ctx.Done():
		case <-time.After(wait):
			err = l.markSent(ctx, l.s.pool, sm)
		}
	}
	if errors.Is(err, errNotSending) {
		return fmt.Errorf("outbound mail %d is not being sent: cannot mark it sent", l.id)
	}
	return err
}

var errNotSending = errors.New("not being sent")

func (l *OutboundLock) markSent(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, sm SentMail) error {
	// One statement (so one round trip, atomic without a transaction of its
	// own): the mail, its history message and the mail_sent event.
	var eventID int64
	err := q.QueryRow(ctx, `WITH o AS (
			UPDATE outbound_mails SET state = 'sent', sent_at = $2, last_error = '' WHERE id = $1 AND state = 'sending'
			RETURNING ticket_id, ticket_message_id, kind, recipient, mail_message_id, attempts
		), m AS (
			UPDATE ticket_messages SET mail_message_id = o.mail_message_id, in_reply_to = nullif($3, ''), refs = $4
			FROM o WHERE ticket_messages.id = o.ticket_message_id
		)
		INSERT INTO ticket_events (ticket_id, kind, actor, from_status, to_status, data, created_at)
		SELECT o.ticket_id, 'mail_sent', 'worker', '', '', jsonb_build_object(
			'outbound_mail_id', $1::bigint, 'kind', o.kind, 'recipient', o.recipient, 'message_id', o.mail_message_id,
			'subject', $5::text, 'in_reply_to', $3::text, 'references', to_jsonb($4::text[]),
			'locale', $6::text, 'attempts', o.attempts, 'smtp_response', $7::text), $2
		FROM o RETURNING id`,
		l.id, l.s.now(), sm.InReplyTo, nonNil(sm.References), sm.Subject, sm.Locale, sm.Response).Scan(&eventID)
	if errors.Is(err, pgx.ErrNoRows) {
		return errNotSending
	}
	return err
}

// Failure is a failed attempt.
type Failure struct {
	Reason    string
	Permanent bool // state failed with a mail_failed event; otherwise back to pending for a retry
	// MaybeDelivered keeps the state sending: the server may have the mail, and
	// the next attempt must know it is the at-least-once case.
	MaybeDelivered bool
}

// MarkFailed records a failed attempt.
func (l *OutboundLock) MarkFailed(ctx context.Context, f Failure) error {
	return l.tx(ctx, func(tx pgx.Tx) error {
		state := OutboundPending
		switch {
		case f.Permanent:
			state = OutboundFailed
		case f.MaybeDelivered:
			state = OutboundSending
		}
		var ticketID int64
		var recipient string
		var attempts int
		err := tx.QueryRow(ctx, `UPDATE outbound_mails SET state = $2, last_error = $3
			WHERE id = $1 AND state <> 'sent' RETURNING ticket_id, recipient, attempts`, l.id, state, f.Reason).
			Scan(&ticketID, &recipient, &attempts)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // sent meanwhile: nothing failed
		}
		if err != nil || !f.Permanent {
			return err
		}
		return insertEvent(ctx, tx, ticketID, "mail_failed", "worker", "", "", map[string]any{
			"outbound_mail_id": l.id, "recipient": recipient, "reason": f.Reason, "attempts": attempts,
		}, l.s.now())
	})
}

// Outbound returns one outbound mail row (no context), for operators and tests.
func (s *Store) Outbound(ctx context.Context, id int64) (OutboundMail, error) {
	var m OutboundMail
	err := s.pool.QueryRow(ctx, `SELECT id, ticket_id, ticket_message_id, kind, recipient, mail_message_id, state,
			attempts, last_error, created_at, sent_at FROM outbound_mails WHERE id = $1`, id).Scan(
		&m.ID, &m.TicketID, &m.TicketMessageID, &m.Kind, &m.Recipient, &m.MailMessageID, &m.State,
		&m.Attempts, &m.LastError, &m.CreatedAt, &m.SentAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, fmt.Errorf("outbound mail %d: %w", id, ErrNotFound)
	}
	return m, err
}
