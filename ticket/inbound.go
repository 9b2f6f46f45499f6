package ticket

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/contiple/contiple-worker/channels"
)

// OutboxMailIngest is the task that turns a stored inbound mail into a ticket.
const OutboxMailIngest = "mail:ingest" // payload {"inbound_mail_id": N} or {"inbound_mail_ids": [N, …]}

// Inbound mail states (inbound_mails.state).
const (
	InboundReceived  = "received"  // stored, not yet ingested
	InboundProcessed = "processed" // in a ticket
	InboundIgnored   = "ignored"   // recorded, no ticket: a loop, an auto-reply, a bounce we could not match
	InboundFailed    = "failed"    // could not be read or too large; see error
	InboundDuplicate = "duplicate" // the same mail was ingested already
)

// Mailbox is an IMAP account of a service and how far intake has got in it.
type Mailbox struct {
	ID          int64      `json:"id"`
	Service     string     `json:"service"`
	Name        string     `json:"name"`
	Host        string     `json:"host"`
	Port        int        `json:"port"`
	Username    string     `json:"username"`
	Folder      string     `json:"folder"`
	UIDValidity uint32     `json:"uidvalidity"` // 0 until first seen
	LastUID     uint32     `json:"last_uid"`
	LastFetchAt *time.Time `json:"last_fetch_at,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
}

const mailboxColumns = `id, service_key, name, host, port, username, folder, coalesce(uidvalidity, 0), last_uid, last_fetch_at, coalesce(last_error, '')`

func scanMailbox(r pgx.Row) (Mailbox, error) {
	var m Mailbox
	err := r.Scan(&m.ID, &m.Service, &m.Name, &m.Host, &m.Port, &m.Username, &m.Folder, &m.UIDValidity, &m.LastUID, &m.LastFetchAt, &m.LastError)
	return m, err
}

// SkipMailboxTo makes intake of mailbox name go on after lastUID under
// uidValidity, as if everything up to it had been read: mail already in the
// folder is left alone (the demo starts on a mailbox earlier runs filled).
func (s *Store) SkipMailboxTo(ctx context.Context, name string, uidValidity, lastUID uint32) error {
	_, err := s.pool.Exec(ctx, `UPDATE mailboxes SET uidvalidity = $2, last_uid = $3 WHERE name = $1`, name, int64(uidValidity), int64(lastUID))
	return err
}

// Mailbox returns the mailbox of that name (the service key).
func (s *Store) Mailbox(ctx context.Context, name string) (Mailbox, error) {
	m, err := scanMailbox(s.pool.QueryRow(ctx, "SELECT "+mailboxColumns+" FROM mailboxes WHERE name = $1", name))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, fmt.Errorf("mailbox %q: %w", name, ErrNotFound)
	}
	return m, err
}

// SetUIDValidity records the folder's UIDVALIDITY. When it changed, every UID
// known is void: intake starts again from UID 1, and the mails it already has
// are recognised as duplicates by Message-ID and content.
func (s *Store) SetUIDValidity(ctx context.Context, mailboxID int64, v uint32) (changed bool, err error) {
	tag, err := s.pool.Exec(ctx, `UPDATE mailboxes SET uidvalidity = $2, last_uid = 0
		WHERE id = $1 AND uidvalidity IS DISTINCT FROM $2`, mailboxID, int64(v))
	return tag.RowsAffected() > 0, err
}

// MailboxError records why the last intake from mailbox name failed ("" clears
// it); writing what is there already writes nothing.
func (s *Store) MailboxError(ctx context.Context, name, msg string) error {
	_, err := s.pool.Exec(ctx, "UPDATE mailboxes SET last_error = $2 WHERE name = $1 AND last_error IS DISTINCT FROM $2", name, msg)
	return err
}

// Fetched is one message read from a mailbox. Raw is nil when the message was
// too large to read; TooLarge then says so. A large message comes as Body
// instead (a spool file), and is streamed into the database, never held whole.
type Fetched struct {
	UID      uint32
	Raw      []byte
	Body     io.ReadSeeker // when set, the message's bytes, from its start; Raw is nil
	Size     int64
	TooLarge string
}

// SaveFetched stores fetched messages under the mailbox's current UIDVALIDITY
// and owes a mail:ingest for each new one, in one transaction, then advances
// the mailbox's last UID. A message stored before (same mailbox, UIDVALIDITY
// and UID) is skipped: fetching again after a crash is harmless. It returns the
// ids of the rows it created.
func (s *Store) SaveFetched(ctx context.Context, mailboxID int64, uidValidity uint32, msgs []Fetched) ([]int64, error) {
	var ids []int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		now := s.now()
		var maxUID uint32
		var received []int64 // owe one mail:ingest for all of them
		// The rows go in one pipelined batch (one round trip), in order; a
		// streamed message sends what is queued before it first.
		b := &pgx.Batch{}
		send := func() error {
			err := tx.SendBatch(ctx, b).Close()
			b = &pgx.Batch{}
			return err
		}
		for _, m := range msgs {
			maxUID = max(maxUID, m.UID)
			if m.Body != nil {
				if err := send(); err != nil {
					return err
				}
				id, err := saveStreamed(ctx, tx, mailboxID, uidValidity, m, now)
				if err != nil {
					return err
				}
				if id != 0 { // 0: stored before
					ids = append(ids, id)
					received = append(received, id)
				}
				continue
			}
			state, errText := InboundReceived, ""
			if m.Raw == nil {
				state, errText = InboundFailed, m.TooLarge
				if errText == "" {
					errText = "message not read"
				}
			}
			sum := sha256.Sum256(m.Raw)
			b.Queue(`INSERT INTO inbound_mails (mailbox_id, uidvalidity, uid, content_hash, raw, size, state, error, received_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (mailbox_id, uidvalidity, uid) DO NOTHING RETURNING id`,
				mailboxID, int64(uidValidity), int64(m.UID), hex.EncodeToString(sum[:]), nonNilBytes(m.Raw), m.Size, state, errText, now).
				QueryRow(func(r pgx.Row) error {
					var id int64
					err := r.Scan(&id)
					if errors.Is(err, pgx.ErrNoRows) {
						return nil // stored before
					}
					if err != nil {
						return err
					}
					ids = append(ids, id)
					if state == InboundReceived {
						received = append(received, id)
					}
					return nil
				})
		}
		if err := send(); err != nil {
			return err
		}
		if err := oweIngest(ctx, tx, received, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE mailboxes SET last_uid = greatest(last_uid, $2), last_fetch_at = $3, last_error = ''
			WHERE id = $1 AND uidvalidity = $4`, mailboxID, int64(maxUID), now, int64(uidValidity))
		return err
	})
	return ids, err
}

// oweIngest records the one mail:ingest task the inbound mails ids owe
// together (ingested in one transaction, in order: see IngestBatch).
func oweIngest(ctx context.Context, tx pgx.Tx, ids []int64, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO outbox (kind, payload, created_at) VALUES ($1, $2, $3)`,
		OutboxMailIngest, map[string][]int64{"inbound_mail_ids": ids}, now)
	return err
}

func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Unacked returns the UIDs (under uidValidity) whose mails are done with and
// may now be flagged, moved or deleted on the server: ingested into a ticket,
// ignored, duplicate, or failed but kept in a ticket. A failed mail with no
// ticket stays untouched on the server for a person to see.
func (s *Store) Unacked(ctx context.Context, mailboxID int64, uidValidity uint32, limit int) ([]uint32, error) {
	rows, err := s.pool.Query(ctx, `SELECT uid FROM inbound_mails
		WHERE mailbox_id = $1 AND uidvalidity = $2 AND acked_at IS NULL
		  AND (state IN ('processed', 'ignored', 'duplicate') OR state = 'failed' AND ticket_id IS NOT NULL)
		ORDER BY uid LIMIT $3`, mailboxID, int64(uidValidity), limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (uint32, error) {
		var uid int64
		err := r.Scan(&uid)
		return uint32(uid), err
	})
}

// MarkAcked records that the server was told about these UIDs.
func (s *Store) MarkAcked(ctx context.Context, mailboxID int64, uidValidity uint32, uids []uint32) error {
	u := make([]int64, len(uids))
	for i, v := range uids {
		u[i] = int64(v)
	}
	_, err := s.pool.Exec(ctx, `UPDATE inbound_mails SET acked_at = $4
		WHERE mailbox_id = $1 AND uidvalidity = $2 AND uid = ANY($3) AND acked_at IS NULL`,
		mailboxID, int64(uidValidity), u, s.now())
	return err
}

// InboundMail is a stored raw mail and what became of it.
type InboundMail struct {
	ID          int64      `json:"id"`
	Mailbox     string     `json:"mailbox"`
	Service     string     `json:"service"`
	UIDValidity uint32     `json:"uidvalidity"`
	UID         uint32     `json:"uid"`
	MessageID   string     `json:"message_id,omitempty"`
	Size        int64      `json:"size"`
	State       string     `json:"state"`
	Error       string     `json:"error,omitempty"`
	TicketID    *int64     `json:"ticket_id,omitempty"`
	ReceivedAt  time.Time  `json:"received_at"`
	ProcessedAt *time.Time `json:"processed_at,omitempty"`
	Raw         []byte     `json:"-"` // nil when RawSize is large: see InboundRaw
	RawSize     int64      `json:"-"` // bytes stored
}

const inboundColumns = `i.id, b.name, b.service_key, i.uidvalidity, i.uid, i.message_id, i.size, i.state, i.error, i.ticket_id,
	i.received_at, i.processed_at`

func scanInbound(r pgx.Row, extra ...any) (InboundMail, error) {
	var m InboundMail
	var v, uid int64
	err := r.Scan(append([]any{&m.ID, &m.Mailbox, &m.Service, &v, &uid, &m.MessageID, &m.Size, &m.State, &m.Error,
		&m.TicketID, &m.ReceivedAt, &m.ProcessedAt}, extra...)...)
	m.UIDValidity, m.UID = uint32(v), uint32(uid)
	return m, err
}

// Inbound returns one stored mail with its raw bytes when they are small;
// large ones (Raw nil, RawSize set) are read with InboundRaw.
func (s *Store) Inbound(ctx context.Context, id int64) (InboundMail, error) {
	var raw []byte
	var size int64
	m, err := scanInbound(s.pool.QueryRow(ctx, "SELECT "+inboundColumns+`, CASE WHEN length(i.raw) <= $2 THEN i.raw END, length(i.raw)
		FROM inbound_mails i JOIN mailboxes b ON b.id = i.mailbox_id WHERE i.id = $1`, id, streamOver), &raw, &size)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, fmt.Errorf("inbound mail %d: %w", id, ErrNotFound)
	}
	m.Raw, m.RawSize = raw, size
	if m.Raw == nil && size == 0 {
		m.Raw = []byte{}
	}
	return m, err
}

// InboundRaw reads the raw bytes of a large stored mail (m from Inbound) into
// one buffer of their size: the caller holds one copy of the mail, not three.
func (s *Store) InboundRaw(ctx context.Context, m InboundMail) ([]byte, error) {
	if m.Raw != nil {
		return m.Raw, nil
	}
	return readRaw(ctx, s.pool, m.ID, m.RawSize)
}

// InboundByState lists stored mails in the given states, newest first, without raw bytes.
func (s *Store) InboundByState(ctx context.Context, states []string, limit int) ([]InboundMail, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, "SELECT "+inboundColumns+` FROM inbound_mails i JOIN mailboxes b ON b.id = i.mailbox_id
		WHERE i.state = ANY($1) ORDER BY i.id DESC LIMIT $2`, states, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (InboundMail, error) { return scanInbound(r) })
}

// RetryInbound puts a failed or ignored mail back to be ingested again and owes
// a mail:ingest for it. A ticket made for it before is kept and completed.
func (s *Store) RetryInbound(ctx context.Context, id int64) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var state string
		err := tx.QueryRow(ctx, "SELECT state FROM inbound_mails WHERE id = $1 FOR UPDATE", id).Scan(&state)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("inbound mail %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if state != InboundFailed && state != InboundIgnored {
			return inputf("inbound mail %d is %s: only failed or ignored mail can be retried", id, state)
		}
		if err := rawReadable(ctx, tx, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE inbound_mails SET state = 'received', error = '' WHERE id = $1", id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO outbox (kind, payload, created_at) VALUES ($1, $2, $3)`,
			OutboxMailIngest, map[string]int64{"inbound_mail_id": id}, s.now())
		return err
	})
}

// Hints are what the channel could read of the ticket a message belongs to.
type Hints struct {
	Marker int64   // [CT-n] in the subject
	Tokens []int64 // ticket numbers in Message-IDs of ours the message names
	// (Both count only when the sender belongs to that ticket.)
	// Tracker is mail sent by Dooray! (a task's mail to an e-mail user coming
	// back): it joins the ticket of its subject marker as a Dooray! message.
	Tracker bool
	// Spam says why the receiving MTA flagged the mail as spam ("" when it
	// did not): it goes to the spam box instead of the queue.
	Spam string
	// OwnToken says the mail's own Message-ID has the form of ours
	// (ct-<ticket>-<random>@domain, see NewMailMessageID).
	OwnToken bool
}

// Ingest outcomes.
const (
	IngestCreated   = "created"   // a new ticket
	IngestThreaded  = "threaded"  // added to an existing ticket
	IngestReopened  = "reopened"  // added, and a resolved or held ticket is open again
	IngestIgnored   = "ignored"   // recorded, no ticket
	IngestBounce    = "bounce"    // a delivery report, matched or not
	IngestDuplicate = "duplicate" // seen before
	IngestFailed    = "failed"    // unreadable; kept, and in a ticket when possible
	IngestSpam      = "spam"      // a new ticket, in the spam box
	IngestDone      = "done"      // the row was already ingested: nothing to do
)

// IngestResult is what Ingest did with a mail.
type IngestResult struct {
	Outcome  string
	TicketID int64
	Reason   string
}

// Ingest threads a parsed inbound mail (row id) into a ticket or makes one, in
// one transaction with the row's new state. parseErr, when set, says the mail
// could not be read: it is kept as failed, with a ticket when a sender is known.
// Ingesting a row twice does nothing the second time.
func (s *Store) Ingest(ctx context.Context, id int64, m *channels.Message, h Hints, parseErr error) (IngestResult, error) {
	var res IngestResult
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) (err error) {
		res, err = s.ingestIn(ctx, tx, id, m, h, parseErr, s.now())
		return err
	})
	return res, err
}

// ingestIn is Ingest inside a transaction the caller holds.
func (s *Store) ingestIn(ctx context.Context, tx pgx.Tx, id int64, m *channels.Message, h Hints, parseErr error, now time.Time) (IngestResult, error) {
	in := &ingest{tx: tx, id: id, m: m, h: h, now: now}
	res, err := in.run(ctx, parseErr)
	if err != nil || res.Outcome == IngestDone {
		return res, err
	}
	state := map[string]string{IngestCreated: InboundProcessed, IngestThreaded: InboundProcessed, IngestReopened: InboundProcessed,
		IngestIgnored: InboundIgnored, IngestBounce: InboundProcessed, IngestDuplicate: InboundDuplicate, IngestFailed: InboundFailed,
		IngestSpam: InboundProcessed}[res.Outcome]
	if res.Outcome == IngestBounce && res.TicketID == 0 {
		state = InboundIgnored
	}
	var ticketID *int64
	if res.TicketID != 0 {
		ticketID = &res.TicketID
	}
	_, err = tx.Exec(ctx, `UPDATE inbound_mails SET state = $2, error = $3, ticket_id = coalesce($4, ticket_id),
		message_id = $5, fingerprint = $6, processed_at = $7 WHERE id = $1`,
		id, state, res.Reason, ticketID, m.ExternalID, in.fingerprint(), in.now)
	if err == nil && state == InboundDuplicate {
		err = s.sealDuplicate(ctx, tx, id)
	}
	return res, err
}

type ingest struct {
	tx      pgx.Tx
	id      int64
	m       *channels.Message
	h       Hints
	now     time.Time
	service string
	ticket  *int64 // the ticket of an earlier attempt (failed mail retried)
	hash    string
	// fromOurs: From is one of our support addresses (see ownMail).
	fromOurs bool
}

func (in *ingest) run(ctx context.Context, parseErr error) (IngestResult, error) {
	var state string
	err := in.tx.QueryRow(ctx, `SELECT i.state, i.ticket_id, i.content_hash, b.service_key FROM inbound_mails i
		JOIN mailboxes b ON b.id = i.mailbox_id WHERE i.id = $1 FOR UPDATE OF i`, in.id).Scan(&state, &in.ticket, &in.hash, &in.service)
	if errors.Is(err, pgx.ErrNoRows) {
		return IngestResult{}, fmt.Errorf("inbound mail %d: %w", in.id, ErrNotFound)
	}
	if err != nil {
		return IngestResult{}, err
	}
	if state != InboundReceived {
		var t int64
		if in.ticket != nil {
			t = *in.ticket
		}
		return IngestResult{Outcome: IngestDone, TicketID: t, Reason: "already " + state}, nil
	}
	if in.ticket != nil {
		return in.replaceFailed(ctx, parseErr)
	}
	// Copies of one mail (an alias and a direct delivery, a folder read again)
	// are ingested one after the other, so the second sees the first: every
	// copy (see duplicate) has the same Message-ID, or the same fingerprint
	// when it has none.
	key := in.service + "|" + in.m.ExternalID
	if in.m.ExternalID == "" {
		key = in.service + "|" + in.fingerprint()
	}
	if _, err := in.tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key); err != nil {
		return IngestResult{}, err
	}
	if dup, t, err := in.duplicate(ctx); err != nil || dup {
		return IngestResult{Outcome: IngestDuplicate, TicketID: t, Reason: "already ingested"}, err
	}
	if parseErr != nil {
		return in.poison(ctx, parseErr)
	}
	from := strings.ToLower(in.m.From.Address)
	if reason, err := in.ownMail(ctx); err != nil || reason != "" {
		return IngestResult{Outcome: IngestIgnored, Reason: reason}, err
	}
	if b := in.m.Bounce; b != nil {
		if len(b.Failed) == 0 && b.Report {
			return IngestResult{Outcome: IngestIgnored, Reason: "delivery report without a failed recipient (delayed or relayed)"}, nil
		}
		return in.bounce(ctx)
	}
	if in.h.Spam != "" {
		return in.spamBox(ctx)
	}
	if in.h.Tracker {
		if res, ok, err := in.trackerMail(ctx); err != nil || ok {
			return res, err
		}
	}
	t, err := in.thread(ctx)
	if err != nil {
		return IngestResult{}, err
	}
	if t == nil {
		if in.m.Automatic {
			return IngestResult{Outcome: IngestIgnored, Reason: "automatic mail (" + in.m.Reason + ") in no ticket's thread"}, nil
		}
		if from == "" {
			return IngestResult{Outcome: IngestIgnored, Reason: "no sender address"}, nil
		}
		return in.create(ctx, nil)
	}
	if t.Status == StatusCompleted {
		return in.create(ctx, &t.ID)
	}
	return in.appendTo(ctx, *t)
}

// duplicate: the same mail is already in a ticket of this service, e.g.
// fetched again after UIDVALIDITY changed, or delivered by a second route. A
// copy has the same Message-ID (or none) and the same bytes or the same
// fingerprint of what the sender wrote (relays add different Received lines),
// so the (message_id, content_hash) index finds it. A different
// mail that reuses a Message-ID is no copy. Mail stored before fingerprints
// existed counts by its Message-ID alone.
func (in *ingest) duplicate(ctx context.Context) (bool, int64, error) {
	var t int64
	err := in.tx.QueryRow(ctx, `SELECT coalesce(ticket_id, 0) FROM inbound_mails i JOIN mailboxes b ON b.id = i.mailbox_id
		WHERE i.id <> $1 AND b.service_key = $2 AND i.state IN ('processed', 'ignored', 'failed')
		  AND i.message_id = $4 AND (i.content_hash = $3 OR i.fingerprint = $5 OR $4 <> '' AND i.fingerprint = '')
		ORDER BY i.id LIMIT 1`, in.id, in.service, in.hash, in.m.ExternalID, in.fingerprint()).Scan(&t)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, 0, nil
	}
	return err == nil, t, err
}

// thread finds the ticket the message answers: one whose message (customer
// mail or ours) it names in In-Reply-To/References, a ticket token in one of
// our Message-IDs it names, or the subject's marker when the sender belongs to
// that ticket.
func (in *ingest) thread(ctx context.Context) (*Ticket, error) {
	candidates, err := in.threadTickets(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range candidates {
		if t, err := in.lockTicket(ctx, c); err != nil || t != nil {
			return t, err
		}
	}
	// A ticket number read from a token or the subject is easy to forge: it
	// counts only when the sender belongs to that ticket.
	for _, c := range append(slices.Clone(in.h.Tokens), in.h.Marker) {
		if c == 0 {
			continue
		}
		t, err := in.lockTicket(ctx, c)
		if err != nil {
			return nil, err
		}
		if t == nil {
			continue
		}
		if belongs, err := in.senderBelongs(ctx, t.ID); err != nil || belongs {
			return t, err
		}
	}
	return nil, nil
}

// senderBelongs reports whether the sender is ticket id's customer or wrote in it before.
func (in *ingest) senderBelongs(ctx context.Context, id int64) (bool, error) {
	var belongs bool
	err := in.tx.QueryRow(ctx, `SELECT lower($2) = lower(customer_email) OR EXISTS (SELECT 1 FROM ticket_messages
		WHERE ticket_id = $1 AND kind = 'customer' AND lower(author) = lower($2)) FROM tickets WHERE id = $1`,
		id, in.m.From.Address).Scan(&belongs)
	return belongs, err
}

// threadTickets returns the tickets of the messages (the customer's or ours)
// this one names, in the order it names them.
func (in *ingest) threadTickets(ctx context.Context) ([]int64, error) {
	if len(in.m.ThreadIDs) == 0 {
		return nil, nil
	}
	rows, err := in.tx.Query(ctx, `SELECT mail_message_id, ticket_id FROM ticket_messages WHERE mail_message_id = ANY($1)
		UNION ALL SELECT mail_message_id, ticket_id FROM outbound_mails WHERE mail_message_id = ANY($1)`, in.m.ThreadIDs)
	if err != nil {
		return nil, err
	}
	byID := map[string]int64{}
	var mid string
	var tid int64
	_, err = pgx.ForEachRow(rows, []any{&mid, &tid}, func() error {
		if _, seen := byID[mid]; !seen {
			byID[mid] = tid
		}
		return nil
	})
	var out []int64
	for _, id := range in.m.ThreadIDs {
		if t, ok := byID[id]; ok {
			out = append(out, t)
		}
	}
	return out, err
}

// lockTicket locks ticket id when it exists in this mail's service.
func (in *ingest) lockTicket(ctx context.Context, id int64) (*Ticket, error) {
	t, err := scanTicket(in.tx.QueryRow(ctx, "SELECT "+ticketColumns+" FROM tickets WHERE id = $1 AND service_key = $2 FOR UPDATE", id, in.service))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// customer is who the ticket answers: the Reply-To address if any, with the
// From name — or the Reply-To name when From is our own address (a contact
// form, a list that rewrote From), whose name is ours or the list's.
func (in *ingest) customer() (name, address string) {
	name, address = in.m.From.Name, in.m.From.Address
	if len(in.m.ReplyTo) > 0 && in.m.ReplyTo[0].Address != "" {
		address = in.m.ReplyTo[0].Address
		if name == "" || in.fromOurs {
			name = in.m.ReplyTo[0].Name
		}
	}
	return oneLine(name), oneLine(address)
}

// fingerprint is the message's, or its bytes' digest when the channel gave none.
func (in *ingest) fingerprint() string {
	if in.m.Fingerprint != "" {
		return in.m.Fingerprint
	}
	return in.hash
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (in *ingest) body() string {
	if in.m.Text != "" {
		return in.m.Text
	}
	return in.m.ReplyText
}

// replyText is what the customer wrote anew: empty for a mail that only quotes.
func (in *ingest) replyText() *string {
	rt := in.m.ReplyText
	return &rt
}

// create makes a ticket from the message; follows is the completed ticket the
// customer wrote again about.
func (in *ingest) create(ctx context.Context, follows *int64) (IngestResult, error) {
	name, address := in.customer()
	subject := in.m.Subject
	if strings.TrimSpace(subject) == "" {
		subject = "(no subject)"
	}
	n := NewTicket{Service: in.service, Subject: subject, Channel: ChannelEmail, Priority: PriorityNormal,
		CustomerName: name, CustomerEmail: address, Body: in.body(), ReplyText: in.replyText(), HTML: in.m.HTML, Actor: "channel:email",
		MailMessageID: in.m.ExternalID, InReplyTo: in.m.InReplyTo, References: in.m.References, InboundMailID: &in.id}
	if _, err := mailAddress(address); err != nil {
		n.CustomerEmail = "" // unusable for replies; the sender is still in the history
	}
	t, msgID, err := createWithMessage(ctx, in.tx, n, in.now)
	if err != nil {
		return IngestResult{}, err
	}
	if err := in.attach(ctx, t.ID, msgID); err != nil {
		return IngestResult{}, err
	}
	if follows != nil {
		if err := insertEvent(ctx, in.tx, t.ID, "follows", "channel:email", "", "", map[string]any{"ticket_id": *follows}, in.now); err != nil {
			return IngestResult{}, err
		}
	}
	return IngestResult{Outcome: IngestCreated, TicketID: t.ID}, nil
}

// appendTo adds the message to ticket t; a person's reply reopens a resolved or
// held ticket, an automatic one never changes the status.
func (in *ingest) appendTo(ctx context.Context, t Ticket) (IngestResult, error) {
	msgID, err := in.insertMessage(ctx, t.ID)
	if err != nil {
		return IngestResult{}, err
	}
	if err := in.attach(ctx, t.ID, msgID); err != nil {
		return IngestResult{}, err
	}
	data := map[string]any{"message_id": msgID, "inbound_mail_id": in.id}
	if in.m.Automatic {
		data["automatic"] = in.m.Reason
	}
	if !in.m.Automatic && Allowed(t.Status, ActionCustomerReply) {
		if _, err := transactIn(ctx, in.tx, t.ID, ActionCustomerReply, "channel:email", in.now,
			func(*change) (map[string]any, error) { return data, nil }); err != nil {
			return IngestResult{}, err
		}
		return IngestResult{Outcome: IngestReopened, TicketID: t.ID}, nil
	}
	if _, err := in.tx.Exec(ctx, "UPDATE tickets SET updated_at = $2 WHERE id = $1", t.ID, in.now); err != nil {
		return IngestResult{}, err
	}
	return IngestResult{Outcome: IngestThreaded, TicketID: t.ID},
		insertEvent(ctx, in.tx, t.ID, "customer_message", "channel:email", t.Status, t.Status, data, in.now)
}

func (in *ingest) insertMessage(ctx context.Context, ticketID int64) (int64, error) {
	var id int64
	_, address := in.customer()
	err := in.tx.QueryRow(ctx, `INSERT INTO ticket_messages (ticket_id, kind, author, body, reply_text, html,
			mail_message_id, in_reply_to, refs, inbound_mail_id, created_at)
		VALUES ($1, 'customer', $2, $3, $4, $5, nullif($6, ''), nullif($7, ''), $8, $9, $10) RETURNING id`,
		ticketID, address, in.body(), in.replyText(), in.m.HTML, in.m.ExternalID, in.m.InReplyTo, nonNil(in.m.References), in.id, in.now).Scan(&id)
	return id, err
}

// attach stores the message's attachments content-addressed and links them;
// those over the size limit are listed in an event instead.
func (in *ingest) attach(ctx context.Context, ticketID, msgID int64) error {
	var omitted []string
	for _, a := range in.m.Attachments {
		if a.Omitted || a.Data == nil {
			omitted = append(omitted, fmt.Sprintf("%s (%d bytes)", a.Filename, a.Size))
			continue
		}
		if err := storeAttachment(ctx, in.tx, msgID, a); err != nil {
			return err
		}
	}
	if len(omitted) == 0 {
		return nil
	}
	return insertEvent(ctx, in.tx, ticketID, "attachments_omitted", "channel:email", "", "",
		map[string]any{"message_id": msgID, "attachments": omitted, "reason": "larger than the attachment size limit"}, in.now)
}

func storeAttachment(ctx context.Context, tx pgx.Tx, msgID int64, a channels.Attachment) error {
	sum := sha256.Sum256(a.Data)
	key := hex.EncodeToString(sum[:])
	ct := a.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	if len(a.Data) > streamOver {
		if err := storeLargeAttachment(ctx, tx, key, ct, a.Data); err != nil {
			return err
		}
	} else if _, err := tx.Exec(ctx, `INSERT INTO attachments (sha256, size, content_type, data) VALUES ($1, $2, $3, $4)
		ON CONFLICT (sha256) DO NOTHING`, key, len(a.Data), ct, a.Data); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO message_attachments (message_id, sha256, filename, content_type, content_id, inline)
		VALUES ($1, $2, $3, $4, $5, $6)`, msgID, key, a.Filename, ct, a.ContentID, a.Inline)
	return err
}

// poison keeps an unreadable mail: failed, with a ticket holding the raw
// message when we at least know who sent it.
func (in *ingest) poison(ctx context.Context, parseErr error) (IngestResult, error) {
	reason := parseErr.Error()
	if _, err := mailAddress(in.m.From.Address); err != nil {
		return IngestResult{Outcome: IngestFailed, Reason: reason + "; no sender address, so no ticket"}, nil
	}
	note := "This mail could not be read completely (" + reason + "). The original message is attached as original.eml."
	in.m.Text = note + "\n\n" + in.m.Text
	in.m.ReplyText = strings.TrimSpace(note + "\n\n" + in.m.ReplyText)
	raw, err := in.raw(ctx)
	if err != nil {
		return IngestResult{}, err
	}
	in.m.Attachments = append(in.m.Attachments, channels.Attachment{Filename: "original.eml", ContentType: "message/rfc822",
		Size: int64(len(raw)), Data: raw})
	res, err := in.create(ctx, nil)
	res.Outcome, res.Reason = IngestFailed, reason
	return res, err
}

func (in *ingest) raw(ctx context.Context) ([]byte, error) {
	var raw []byte
	err := in.tx.QueryRow(ctx, "SELECT raw FROM inbound_mails WHERE id = $1", in.id).Scan(&raw)
	return raw, err
}

// replaceFailed handles the retry of a mail that failed before but got a
// ticket then: the ticket's message takes the content read now.
func (in *ingest) replaceFailed(ctx context.Context, parseErr error) (IngestResult, error) {
	if parseErr != nil {
		return IngestResult{Outcome: IngestFailed, TicketID: *in.ticket, Reason: parseErr.Error()}, nil
	}
	if _, err := in.tx.Exec(ctx, `UPDATE ticket_messages SET body = $2, reply_text = $3, html = $4 WHERE inbound_mail_id = $1`,
		in.id, in.body(), in.replyText(), in.m.HTML); err != nil {
		return IngestResult{}, err
	}
	var msgID int64
	if err := in.tx.QueryRow(ctx, "SELECT id FROM ticket_messages WHERE inbound_mail_id = $1", in.id).Scan(&msgID); err != nil {
		return IngestResult{}, err
	}
	if err := in.attach(ctx, *in.ticket, msgID); err != nil {
		return IngestResult{}, err
	}
	return IngestResult{Outcome: IngestThreaded, TicketID: *in.ticket},
		insertEvent(ctx, in.tx, *in.ticket, "mail_reprocessed", "channel:email", "", "", map[string]any{"inbound_mail_id": in.id}, in.now)
}

// bounce matches a delivery report to the mail of ours it bounces, marks that
// mail's recipient as failing, and notes it in the ticket. A report that
// matches no mail of ours (backscatter, a forgery) marks nothing: it would
// silence a customer.
func (in *ingest) bounce(ctx context.Context) (IngestResult, error) {
	b := in.m.Bounce
	ids := append([]string{b.OriginalID}, in.m.ThreadIDs...)
	var outID, ticketID int64
	var recipient string
	err := in.tx.QueryRow(ctx, `SELECT id, ticket_id, recipient FROM outbound_mails WHERE mail_message_id = ANY($1)
		ORDER BY array_position($1::text[], mail_message_id) LIMIT 1`, ids).Scan(&outID, &ticketID, &recipient)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return IngestResult{}, err
	}
	failures := b.Failed
	if len(failures) == 0 && outID != 0 {
		// A plain-text bounce (qmail, appliances) that names nobody: it is
		// about the recipient of the mail of ours it quotes.
		failures = []channels.FailedRecipient{{Address: recipient, Diagnostic: "bounce without a delivery report"}}
	}
	var reported []string
	for _, r := range failures {
		reported = append(reported, normalAddress(r.Address))
	}
	if outID == 0 {
		return IngestResult{Outcome: IngestBounce, Reason: fmt.Sprintf("delivery report for no mail of ours (failed: %v); nothing marked", reported)}, nil
	}
	var failed []string
	for _, r := range failures {
		addr := normalAddress(r.Address)
		if !strings.EqualFold(addr, recipient) {
			continue
		}
		failed = append(failed, addr)
		reason := strings.TrimSpace(r.Status + " " + r.Diagnostic)
		if _, err := in.tx.Exec(ctx, `INSERT INTO failing_addresses (address, reason, ticket_id, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (address) DO UPDATE SET reason = $2, ticket_id = $3, created_at = $4`,
			addr, reason, ticketID, in.now); err != nil {
			return IngestResult{}, err
		}
	}
	if len(failed) == 0 {
		return IngestResult{Outcome: IngestBounce, TicketID: ticketID,
			Reason: fmt.Sprintf("delivery report names %v, not the recipient %s of our mail; nothing marked", reported, recipient)}, nil
	}
	if _, err := in.tx.Exec(ctx, `UPDATE outbound_mails SET last_error = $2 WHERE id = $1`,
		outID, "bounced: "+strings.Join(failed, ", ")); err != nil {
		return IngestResult{}, err
	}
	if _, err := in.tx.Exec(ctx, `INSERT INTO ticket_messages (ticket_id, kind, author, body, mail_message_id, inbound_mail_id, created_at)
		VALUES ($1, 'system', 'channel:email', $2, nullif($3, ''), $4, $5)`, ticketID,
		"Delivery failed for "+strings.Join(failed, ", ")+".", in.m.ExternalID, in.id, in.now); err != nil {
		return IngestResult{}, err
	}
	return IngestResult{Outcome: IngestBounce, TicketID: ticketID},
		insertEvent(ctx, in.tx, ticketID, "bounce", "channel:email", "", "",
			map[string]any{"outbound_mail_id": outID, "failing_addresses": failed}, in.now)
}

// trackerMail files a mail from Dooray! (authenticated by the channel) under
// the ticket its subject marker names, as a Dooray! message, when that ticket
// was escalated to Dooray!; it never changes the ticket's status. ok is false
// for any other mail from Dooray!, which is then ordinary customer mail.
func (in *ingest) trackerMail(ctx context.Context) (res IngestResult, ok bool, err error) {
	if in.h.Marker == 0 {
		return res, false, nil
	}
	t, err := in.lockTicket(ctx, in.h.Marker)
	if err != nil || t == nil {
		return res, false, err
	}
	var linked bool
	if err := in.tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM dooray_links WHERE ticket_id = $1)", t.ID).Scan(&linked); err != nil || !linked {
		return res, false, err
	}
	// A customer whose own mail Dooray! hosts, writing in their ticket, is the customer.
	if customer, err := in.senderBelongs(ctx, t.ID); err != nil || customer {
		return res, false, err
	}
	var msgID int64
	if err := in.tx.QueryRow(ctx, `INSERT INTO ticket_messages (ticket_id, kind, author, body, reply_text, html, mail_message_id, inbound_mail_id, created_at)
		VALUES ($1, 'dooray_in', $2, $3, $4, $5, nullif($6, ''), $7, $8) RETURNING id`,
		t.ID, in.m.From.Address, in.body(), in.replyText(), in.m.HTML, in.m.ExternalID, in.id, in.now).Scan(&msgID); err != nil {
		return res, false, err
	}
	return IngestResult{Outcome: IngestThreaded, TicketID: t.ID}, true,
		insertEvent(ctx, in.tx, t.ID, "dooray_mail", "channel:email", t.Status, t.Status, map[string]any{"message_id": msgID}, in.now)
}
