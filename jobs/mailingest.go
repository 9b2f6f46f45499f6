package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/hibiken/asynq"

	"github.com/contiple/contiple-worker/channels/email"
	"github.com/contiple/contiple-worker/ticket"
)

// MailIngest handles mail:ingest: it parses a stored inbound mail and threads
// it into a ticket or makes one. The inbound row's state makes it idempotent.
type MailIngest struct {
	Store *ticket.Store
	Log   *slog.Logger
	Parse email.ParseOptions
	// Budget bounds the bytes of mail read and parsed at once in this
	// process (nil: unbounded).
	Budget *MemoryBudget
	// TrackerDomains are the sender domains of Dooray!'s own mail (default
	// dooray.com and its government and finance clouds).
	TrackerDomains []string
}

// DefaultTrackerDomains are the domains Dooray! mails from.
var DefaultTrackerDomains = []string{"dooray.com", "gov-dooray.com", "dooray.co.kr"}

// Register adds the handler to mux.
func (h *MailIngest) Register(mux *asynq.ServeMux) { mux.HandleFunc(TypeMailIngest, h.handle) }

func (h *MailIngest) handle(ctx context.Context, t *asynq.Task) error {
	var p MailIngestPayload
	if err := decode(t.Payload(), &p); err != nil {
		return err
	}
	if len(p.InboundMailIDs) > 0 {
		return h.IngestMany(ctx, p.InboundMailIDs)
	}
	_, err := h.Ingest(ctx, p.InboundMailID)
	if errors.Is(err, ticket.ErrNotFound) {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	return err
}

// Ingest processes inbound mail id now; mail retry and tests call it directly.
func (h *MailIngest) Ingest(ctx context.Context, id int64) (ticket.IngestResult, error) {
	im, err := h.Store.Inbound(ctx, id)
	if err != nil {
		return ticket.IngestResult{}, err
	}
	if im.State != ticket.InboundReceived {
		return ticket.IngestResult{Outcome: ticket.IngestDone, Reason: "already " + im.State}, nil
	}
	// The mail's size of the budget is held from reading its bytes until its
	// ticket is stored (attachments included), the whole time it is in memory.
	release, err := h.Budget.Acquire(ctx, im.RawSize)
	if err != nil {
		return ticket.IngestResult{}, err
	}
	defer release()
	raw, err := h.Store.InboundRaw(ctx, im)
	if err != nil {
		return ticket.IngestResult{}, fmt.Errorf("inbound mail %d: %w", id, err)
	}
	item := h.prepare(id, raw)
	res, err := h.Store.Ingest(ctx, id, item.Message, item.Hints, item.ParseErr)
	if err != nil {
		return res, fmt.Errorf("inbound mail %d: %w", id, err)
	}
	h.logIngested(ctx, im, item, res)
	return res, nil
}

// prepare parses a stored mail and reads the hints of the ticket it may belong to.
func (h *MailIngest) prepare(id int64, raw []byte) ticket.IngestItem {
	parsed, parseErr := email.Parse(raw, h.Parse)
	m := parsed.Message()
	hints := ticket.Hints{Tracker: h.fromTracker(parsed.From.Address)}
	if n, ok := email.ExtractTicketMarker(parsed.Subject); ok {
		hints.Marker = n
	}
	for _, tid := range m.ThreadIDs {
		if n, ok := email.TicketTokenFromMessageID(tid); ok {
			hints.Tokens = append(hints.Tokens, n)
		}
	}
	return ticket.IngestItem{ID: id, Message: &m, Hints: hints, ParseErr: parseErr}
}

func (h *MailIngest) logIngested(ctx context.Context, im ticket.InboundMail, item ticket.IngestItem, res ticket.IngestResult) {
	level := slog.LevelInfo
	if res.Outcome == ticket.IngestFailed {
		level = slog.LevelWarn
	}
	h.Log.Log(ctx, level, "mail ingested", "inbound_mail_id", im.ID, "mailbox", im.Mailbox, "uid", im.UID,
		"message_id", item.Message.ExternalID, "outcome", res.Outcome, "ticket_id", res.TicketID, "reason", res.Reason)
}

func (h *MailIngest) fromTracker(addr string) bool {
	_, domain, ok := strings.Cut(strings.ToLower(addr), "@")
	if !ok {
		return false
	}
	domains := h.TrackerDomains
	if domains == nil {
		domains = DefaultTrackerDomains
	}
	for _, d := range domains {
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return true
		}
	}
	return false
}
