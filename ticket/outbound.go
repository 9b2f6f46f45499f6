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
		b := &pgx.Batch{}
		queueMailContext(b, &mc, id, kind, 0)
		return tx.SendBatch(ctx, b).Close()
	})
	return mc, err
}

// queueMailContext queues on b the reads of ticket ticketID with its
// service, templates, forbidden words and threading keys for a mail of kind:
// mc is filled as the batch's results are read. exclude is the outbound mail
// being sent, left out of its own References.
func queueMailContext(b *pgx.Batch, mc *MailContext, ticketID int64, kind MessageKind, exclude int64) {
	var links []byte
	var chain []string
	add := func(id string) {
		id = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(id), "<"), ">")
		if id != "" && !slices.Contains(chain, id) {
			chain = append(chain, id)
		}
	}
	b.Queue("SELECT "+ticketColumns+" FROM tickets WHERE id = $1", ticketID).QueryRow(func(r pgx.Row) error {
		t, err := scanTicket(r)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound(ticketID)
		}
		mc.Ticket = t
		return err
	})
	const service = `(SELECT service_key FROM tickets WHERE id = $1)`
	b.Queue(`SELECT key, name, address, locale, coalesce(settings->'links', '[]') FROM services WHERE key = `+service, ticketID).
		QueryRow(func(r pgx.Row) error {
			if err := r.Scan(&mc.Service.Key, &mc.Service.Name, &mc.Service.Address, &mc.Service.Locale, &links); err != nil {
				return fmt.Errorf("service %q of ticket %d: %w", mc.Ticket.Service, ticketID, err)
			}
			if json.Unmarshal(links, &mc.Service.Links) != nil {
				mc.Service.Links = nil // malformed settings must not stop mail
			}
			return nil
		})
	b.Queue(`SELECT kind, locale, subject, text_body, html_body FROM mail_templates
		WHERE service_key = `+service+` AND kind = $2 ORDER BY locale`, ticketID, kind).Query(func(rows pgx.Rows) error {
		var err error
		mc.Templates, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (TemplateDef, error) {
			var d TemplateDef
			err := r.Scan(&d.Kind, &d.Locale, &d.Subject, &d.Text, &d.HTML)
			return d, err
		})
		return err
	})
	b.Queue(`SELECT word FROM forbidden_words WHERE service_key = `+service+` ORDER BY word`, ticketID).Query(func(rows pgx.Rows) error {
		var err error
		mc.ForbiddenWords, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	b.Queue(`SELECT coalesce((SELECT body FROM ticket_messages WHERE ticket_id = $1 AND kind = 'customer'
		ORDER BY id DESC LIMIT 1), '')`, ticketID).QueryRow(func(r pgx.Row) error { return r.Scan(&mc.CustomerText) })
	// The conversation: the customer's mails (with the References they carried)
	// and the mails we already sent, in time order.
	b.Queue(`SELECT id, refs, customer FROM (
			SELECT mail_message_id AS id, refs, true AS customer, created_at AS at, id AS seq
			FROM ticket_messages WHERE ticket_id = $1 AND kind = 'customer' AND mail_message_id IS NOT NULL AND mail_message_id <> ''
			UNION ALL
			SELECT mail_message_id, '{}', false, sent_at, id
			FROM outbound_mails WHERE ticket_id = $1 AND state = 'sent' AND id <> $2
		) c ORDER BY at, seq`, ticketID, exclude).Query(func(rows pgx.Rows) error {
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
		if err := rows.Err(); err != nil {
			return err
		}
		if i := slices.Index(chain, mc.InReplyTo); mc.InReplyTo != "" && i >= 0 {
			chain = append(append(chain[:i:i], chain[i+1:]...), mc.InReplyTo) // the parent comes last
		}
		mc.References = chain
		return nil
	})
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
// transaction, sent as one pipelined batch where it can be: a mail costs five
// round trips (lock, load, claim, record, unlock).
type OutboundLock struct {
	s        *Store
	conn     *pgxpool.Conn
	id       int64
	ticketID int64 // 0: no such mail
	kind     MessageKind
	// loaded is the recipient Load read: the address the mail is built for,
	// which Claim holds the row to. nil: not loaded yet.
	loaded *string
}

// LockOutbound takes the lock of outbound mail id without waiting.
func (s *Store) LockOutbound(ctx context.Context, id int64) (*OutboundLock, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	// The ticket and kind of a mail never change: read with the lock, they
	// let Load read everything else in one batch.
	var ok bool
	var ticketID *int64
	var kind *MessageKind
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2), o.ticket_id, o.kind
		FROM (SELECT) x LEFT JOIN outbound_mails o ON o.id = $3`, int32(outboundLockSpace), int32(id), id).Scan(&ok, &ticketID, &kind); err != nil {
		conn.Release()
		return nil, err
	}
	if !ok {
		conn.Release()
		return nil, fmt.Errorf("outbound mail %d: %w", id, ErrOutboundBusy)
	}
	l := &OutboundLock{s: s, conn: conn, id: id}
	if ticketID != nil {
		l.ticketID, l.kind = *ticketID, *kind
	}
	return l, nil
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
// keys, in one round trip (a pipelined batch, so one implicit transaction).
// Claim checks the state again under the row's lock.
func (l *OutboundLock) Load(ctx context.Context) (OutboundMail, error) {
	var m OutboundMail
	if l.ticketID == 0 {
		return m, fmt.Errorf("outbound mail %d: %w", l.id, ErrNotFound)
	}
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
	queueMailContext(b, &m.MailContext, l.ticketID, l.kind, l.id)
	if err := l.conn.SendBatch(ctx, b).Close(); err != nil {
		return m, err
	}
	l.loaded = &m.Recipient
	return m, nil
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
// or a guard stops it (see guardFacts): the address bounced recently, or it is one
// of our services' own addresses (suppressed); or the address already got
// RecipientPerHour mails in the last hour (deferred: it stays pending for the
// next window, never dropped). A failed or suppressed mail is claimable
// again, so a retry from the dashboard after a fix works.
//
// The mail is claimed for the recipient Load read, which it was built for:
// when an operator corrected the address since, nothing is claimed and the
// error says so (ErrReaddressed); the next attempt builds it anew.
//
// The claim is one round trip: one batch, so one implicit transaction, that
// locks the row, then the recipient (one recipient at a time, so two workers
// cannot both pass the hourly cap), reads the guards and moves the row to
// sending only when none stops it. A guard that stops it is recorded by a
// second transaction, for the same recipient only.
func (l *OutboundLock) Claim(ctx context.Context, g Guards) (Claim, error) {
	var c Claim
	if l.loaded == nil {
		return c, fmt.Errorf("outbound mail %d: claimed before it was loaded", l.id)
	}
	var recipient string
	addr := normalAddress(*l.loaded)
	var ticketID int64
	var facts guardFacts
	var claimed *int
	now := l.s.now()
	b := &pgx.Batch{}
	b.Queue(`SELECT state, recipient, ticket_id, attempts FROM outbound_mails WHERE id = $1 FOR UPDATE`, l.id).
		QueryRow(func(r pgx.Row) error {
			err := r.Scan(&c.Previous, &recipient, &ticketID, &c.Attempts)
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("outbound mail %d: %w", l.id, ErrNotFound)
			}
			return err
		})
	b.Queue(`SELECT pg_advisory_xact_lock(hashtext('contiple:recipient:' || $2::text))
		FROM outbound_mails WHERE id = $1 AND state <> 'sent'`, l.id, addr)
	b.Queue(claimIfAllowed, l.s.guardArgs(l.id, *l.loaded, addr, g, now)).QueryRow(func(r pgx.Row) error {
		err := r.Scan(&facts.bounced, &facts.ownService, &facts.recent, &claimed)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // sent already
		}
		return err
	})
	if err := l.conn.SendBatch(ctx, b).Close(); err != nil {
		return c, err
	}
	switch v := facts.verdict(addr, g, now); {
	case c.Previous == OutboundSent:
		c.Outcome = ClaimAlreadySent
	case recipient != *l.loaded:
		return c, fmt.Errorf("outbound mail %d: loaded for %s, now to %s: %w", l.id, *l.loaded, recipient, ErrReaddressed)
	case claimed != nil:
		c.Outcome, c.Attempts = ClaimSend, *claimed
	case v.suppress != "":
		c.Outcome, c.Reason = ClaimSuppressed, v.suppress
		return c, l.record(ctx, func(tx pgx.Tx) error { return suppressIn(ctx, tx, l.id, ticketID, v.suppress, now) })
	case !v.deferUntil.IsZero():
		c.Outcome, c.Reason, c.Until = ClaimDeferred, v.deferReason, v.deferUntil
		return c, l.record(ctx, func(tx pgx.Tx) error {
			return deferIn(ctx, tx, l.id, ticketID, v.deferReason, v.deferUntil, now)
		})
	default:
		return c, fmt.Errorf("outbound mail %d: not claimed, and no guard says why", l.id)
	}
	return c, nil
}

// ErrReaddressed is returned by Claim when the mail's recipient is no longer
// the one it was loaded for (an operator corrected it): load and claim again.
var ErrReaddressed = errors.New("the recipient changed while the mail was being sent; it is built again for the new one")

// record runs fn in a transaction if the mail still goes to the loaded
// recipient (the guard's verdict was about it).
func (l *OutboundLock) record(ctx context.Context, fn func(pgx.Tx) error) error {
	if l.s.judged != nil {
		l.s.judged()
	}
	return l.tx(ctx, func(tx pgx.Tx) error {
		var now string
		if err := tx.QueryRow(ctx, "SELECT recipient FROM outbound_mails WHERE id = $1 FOR UPDATE", l.id).Scan(&now); err != nil {
			return err
		}
		if now != *l.loaded {
			return fmt.Errorf("outbound mail %d: loaded for %s, now to %s: %w", l.id, *l.loaded, now, ErrReaddressed)
		}
		return fn(tx)
	})
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
