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
	// TrackerDomains are the domains of Dooray!'s own mail (default
	// dooray.com and its government and finance clouds). Mail From them is
	// Dooray!'s only with a valid DKIM signature of that domain.
	TrackerDomains []string
	// LookupTXT serves the DKIM keys (nil: the system's DNS).
	LookupTXT email.TXTLookup
	// Locales are the services' locales (by service key): they break ties
	// when a charset must be guessed.
	Locales map[string]string
	// Spam holds each service's own spam verdict header (by service key);
	// X-Spam-Flag and X-Spam-Status count for every service.
	Spam map[string]email.SpamRule
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
	item, err := h.prepare(im, raw)
	if err != nil {
		return ticket.IngestResult{}, fmt.Errorf("inbound mail %d: %w", id, err) // DNS down: try again
	}
	res, err := h.Store.Ingest(ctx, id, item.Message, item.Hints, item.ParseErr)
	if err != nil {
		return res, fmt.Errorf("inbound mail %d: %w", id, err)
	}
	h.logIngested(ctx, im, item, res)
	return res, nil
}

// prepare parses a stored mail and reads the hints of the ticket it may
// belong to. Its error is temporary (a DKIM key lookup failed): the mail is
// left to be ingested again.
func (h *MailIngest) prepare(im ticket.InboundMail, raw []byte) (ticket.IngestItem, error) {
	opts := h.Parse
	opts.Locale = h.Locales[im.Service]
	parsed, parseErr := email.Parse(raw, opts)
	m := parsed.Message()
	m.Fingerprint = email.Fingerprint(raw)
	tracker, err := h.fromTracker(raw, parsed.From.Address)
	if err != nil {
		return ticket.IngestItem{}, err
	}
	hints := ticket.Hints{Tracker: tracker, Spam: email.SpamVerdict(raw, h.Spam[im.Service])}
	_, hints.OwnToken = email.TicketTokenFromMessageID(m.ExternalID)
	if n, ok := email.ExtractTicketMarker(parsed.Subject); ok {
		hints.Marker = n
	}
	for _, tid := range m.ThreadIDs {
		if n, ok := email.TicketTokenFromMessageID(tid); ok {
			hints.Tokens = append(hints.Tokens, n)
		}
	}
	return ticket.IngestItem{ID: im.ID, Message: &m, Hints: hints, ParseErr: parseErr}, nil
}

func (h *MailIngest) logIngested(ctx context.Context, im ticket.InboundMail, item ticket.IngestItem, res ticket.IngestResult) {
	level := slog.LevelInfo
	if res.Outcome == ticket.IngestFailed {
		level = slog.LevelWarn
	}
	h.Log.Log(ctx, level, "mail ingested", "inbound_mail_id", im.ID, "mailbox", im.Mailbox, "uid", im.UID,
		"message_id", item.Message.ExternalID, "outcome", res.Outcome, "ticket_id", res.TicketID, "reason", res.Reason)
}

// fromTracker reports mail sent by Dooray!: From one of its domains and
// DKIM-signed by that domain. A From header alone is anyone's to write, and
// a customer whose own mail domain is hosted by Dooray! writes in as a
// customer: without the signature the mail is ordinary customer mail.
func (h *MailIngest) fromTracker(raw []byte, from string) (bool, error) {
	_, domain, ok := strings.Cut(strings.ToLower(from), "@")
	if !ok {
		return false, nil
	}
	domains := h.TrackerDomains
	if domains == nil {
		domains = DefaultTrackerDomains
	}
	var candidates []string
	for _, d := range domains {
		if domain == d || strings.HasSuffix(domain, "."+d) {
			candidates = append(candidates, d)
		}
	}
	if len(candidates) == 0 {
		return false, nil
	}
	signer, err := email.DKIMAuthenticated(raw, candidates, h.LookupTXT)
	return signer != "", err
}
