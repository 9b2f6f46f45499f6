package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/contiple/contiple-worker/channels/email"
	"github.com/contiple/contiple-worker/dooray"
	"github.com/contiple/contiple-worker/mailer"
	"github.com/contiple/contiple-worker/ticket"
)

// MailSender delivers one mail over SMTP; *mailer.Sender is the real one.
type MailSender interface {
	Send(ctx context.Context, m *mailer.Message) error
}

// RateLimiter paces the mails sent through one SMTP server across every
// worker process; dooray.RedisLimiter is the real one.
type RateLimiter interface {
	Wait(ctx context.Context, key string) error
}

// NewSMTPRateLimiter returns a limiter that lets through at most perMinute
// mails a minute, evenly spaced, across all processes sharing rdb; nil when
// perMinute is 0 (no limit). Key it with the server's host:port.
func NewSMTPRateLimiter(rdb redis.Scripter, perMinute int) RateLimiter {
	if perMinute <= 0 {
		return nil
	}
	rate := float64(perMinute) / 60
	return dooray.NewRedisLimiter(rdb, "contiple:smtp:ratelimit:", dooray.LimiterConfig{
		ReplenishRate: rate, BurstCapacity: int(math.Ceil(rate)), Fixed: true, Headroom: 1,
	})
}

// MailSend handles mail:send: one resolve or hold mail, sent at most once as
// far as SMTP allows.
//
// The outbound_mails row is the record. Under its lock (ticket.OutboundLock)
// the handler loads it, renders it, waits for the SMTP rate limit, claims it
// (pending|failed|suppressed|sending → sending, attempts+1, after the guards:
// bounced address, our own address; the per-recipient hourly cap defers the
// task to the next window with a DeferredError), runs the SMTP
// transaction, and records sent. A task that finds the row sent returns nil.
//
// The one window: the server has accepted the mail (250 after DATA) and the
// worker dies, or the database stays unreachable for a minute (a restart is
// ridden out: the record is tried again on new connections), before "sent"
// is recorded. The row
// stays sending, and the next attempt, finding sending with the lock free,
// sends again: at-least-once, logged as a warning, with the same Message-ID so
// that clients can fold the copy. The same holds when the connection drops
// after the whole message went out but before the server's reply to it
// (mailer.SendError.MaybeDelivered). Every other crash point leaves a state
// from which exactly one mail goes out.
type MailSend struct {
	Store            *ticket.Store
	Sender           MailSender
	Renderer         *mailer.Renderer // nil: a new one
	Limiter          RateLimiter      // nil: no rate limit
	LimitKey         string           // the limiter key, e.g. the SMTP server's host:port
	RecipientPerHour int              // cap of mails to one address per hour; 0: none
	Log              *slog.Logger

	// at is called at each named step (tests simulate a crash there by
	// returning an error, which ends the task as a crash would).
	at func(step string) error
}

// NewMailSend returns the mail:send handler. limiter may be nil.
func NewMailSend(store *ticket.Store, sender MailSender, limiter RateLimiter, limitKey string, recipientPerHour int, log *slog.Logger) *MailSend {
	return &MailSend{Store: store, Sender: sender, Renderer: mailer.NewRenderer(), Limiter: limiter, LimitKey: limitKey,
		RecipientPerHour: recipientPerHour, Log: log}
}

// Register adds the handler to mux.
func (h *MailSend) Register(mux *asynq.ServeMux) { mux.HandleFunc(TypeMailSend, h.ProcessTask) }

// ProcessTask is the asynq handler.
func (h *MailSend) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p MailSendPayload
	if err := decode(t.Payload(), &p); err != nil {
		return err
	}
	if p.OutboundMailID <= 0 {
		return fmt.Errorf("mail:send payload without outbound_mail_id: %w", asynq.SkipRetry)
	}
	return h.Send(ctx, p.OutboundMailID)
}

func (h *MailSend) step(name string) error {
	if h.at == nil {
		return nil
	}
	return h.at(name)
}

// Send sends outbound mail id (the whole of one mail:send task).
func (h *MailSend) Send(ctx context.Context, id int64) error {
	log := h.Log
	if log == nil {
		log = slog.Default()
	}
	log = log.With("outbound_mail_id", id)
	if taskID, ok := asynq.GetTaskID(ctx); ok {
		log = log.With("task_id", taskID)
	}
	renderer := h.Renderer
	if renderer == nil {
		renderer = mailer.NewRenderer()
	}
	lk, err := h.Store.LockOutbound(ctx, id)
	if err != nil {
		return fmt.Errorf("mail %d: %w", id, err) // busy elsewhere or no database: try later
	}
	defer lk.Release()
	if err := h.step("locked"); err != nil {
		return err
	}
	m, err := lk.Load(ctx)
	if errors.Is(err, ticket.ErrNotFound) {
		return fmt.Errorf("mail %d: %w: %w", id, err, asynq.SkipRetry)
	}
	if err != nil {
		return fmt.Errorf("mail %d: load: %w", id, err)
	}
	log = log.With("ticket_id", m.TicketID, "message_id", m.MailMessageID)
	if m.State == ticket.OutboundSent {
		log.Info("mail already sent; nothing to do")
		return nil
	}
	rendered, msg, err := composeMail(renderer, m.MailContext, m.Kind, m.Note, m.Recipient, m.MailMessageID, m.Ticket.Status)
	if err != nil {
		return h.fail(ctx, lk, log, m, fmt.Errorf("render: %w", err), true)
	}
	if mailer.IsAutomatedAddress(m.Recipient) {
		reason := fmt.Sprintf("%s is an automated address (no replies to mail systems or no-reply senders)", m.Recipient)
		if err := lk.Suppress(ctx, reason); err != nil {
			return fmt.Errorf("mail %d: suppress: %w", id, err)
		}
		log.Warn("mail suppressed", "reason", reason)
		return fmt.Errorf("mail %d suppressed: %s: %w", id, reason, asynq.SkipRetry)
	}
	if err := h.step("rendered"); err != nil {
		return err
	}
	if h.Limiter != nil {
		if err := h.Limiter.Wait(ctx, h.LimitKey); err != nil {
			return fmt.Errorf("mail %d: smtp rate limit: %w", id, err)
		}
	}
	claim, err := lk.Claim(ctx, ticket.Guards{RecipientPerHour: h.RecipientPerHour})
	if err != nil {
		return fmt.Errorf("mail %d: claim: %w", id, err)
	}
	switch claim.Outcome {
	case ticket.ClaimAlreadySent:
		log.Info("mail already sent; nothing to do")
		return nil
	case ticket.ClaimSuppressed:
		log.Warn("mail suppressed", "reason", claim.Reason)
		return fmt.Errorf("mail %d suppressed: %s: %w", id, claim.Reason, asynq.SkipRetry)
	case ticket.ClaimDeferred:
		log.Info("mail deferred to the recipient's next hour", "until", claim.Until, "reason", claim.Reason)
		return &DeferredError{OutboundMailID: id, Until: claim.Until, Reason: claim.Reason}
	}
	if claim.Previous == ticket.OutboundSending {
		log.Warn("an earlier attempt claimed this mail and ended without recording the outcome; "+
			"sending again (at-least-once: the customer may get a second copy with the same Message-ID)",
			"attempt", claim.Attempts, "last_error", m.LastError)
	}
	if err := h.step("claimed"); err != nil {
		return err
	}
	if err := h.Sender.Send(ctx, msg); err != nil {
		return h.fail(ctx, lk, log, m, err, mailer.IsPermanent(err))
	}
	// From here until MarkSent commits is the documented window.
	if err := h.step("accepted"); err != nil {
		return err
	}
	// MarkSent tries again through a PostgreSQL restart; a minute covers a
	// restart or a failover, after which the retry sends the mail again.
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := lk.MarkSent(rec, ticket.SentMail{Subject: rendered.Subject, InReplyTo: msg.InReplyTo,
		References: msg.References, Locale: rendered.Locale}); err != nil {
		log.Error("the SMTP server accepted the mail but recording it failed; the retry will send it again", "err", err)
		return fmt.Errorf("mail %d: accepted but not recorded: %w", id, err)
	}
	if err := h.step("recorded"); err != nil {
		return err
	}
	log.Info("mail sent", "recipient", m.Recipient, "kind", m.Kind, "locale", rendered.Locale, "attempt", claim.Attempts)
	return nil
}

// fail records a failed attempt. Permanent failures (and temporary ones on
// the task's last retry) end in state failed with a ticket event and SkipRetry.
func (h *MailSend) fail(ctx context.Context, lk *ticket.OutboundLock, log *slog.Logger, m ticket.OutboundMail, err error, permanent bool) error {
	retried, okR := asynq.GetRetryCount(ctx)
	maxRetry, okM := asynq.GetMaxRetry(ctx)
	lastTry := okR && okM && retried >= maxRetry
	var se *mailer.SendError
	maybe := errors.As(err, &se) && se.MaybeDelivered
	reason := err.Error()
	if lastTry && !permanent {
		reason = fmt.Sprintf("gave up after %d attempts: %s", retried+1, reason)
	}
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if rerr := lk.MarkFailed(rec, ticket.Failure{Reason: reason, Permanent: permanent || lastTry, MaybeDelivered: maybe && !permanent && !lastTry}); rerr != nil {
		log.Error("recording a failed attempt", "err", rerr)
	}
	if permanent || lastTry {
		log.Error("mail failed permanently; retry it from the dashboard once fixed", "recipient", m.Recipient, "err", err)
		return fmt.Errorf("mail %d to %s: %w: %w", m.ID, m.Recipient, err, asynq.SkipRetry)
	}
	log.Warn("mail failed; will retry", "recipient", m.Recipient, "maybe_delivered", maybe, "err", err)
	return fmt.Errorf("mail %d to %s: %w", m.ID, m.Recipient, err)
}

// composeMail renders a mail of kind about mc and builds the message. status
// is the ticket's status as the mail should show it.
func composeMail(r *mailer.Renderer, mc ticket.MailContext, kind ticket.MessageKind, note, recipient, messageID string, status ticket.Status) (mailer.Rendered, *mailer.Message, error) {
	custom := map[string]mailer.Template{}
	for _, t := range mc.Templates {
		if t.Kind == string(kind) {
			custom[t.Locale] = mailer.Template{Subject: t.Subject, Text: t.Text, HTML: t.HTML}
		}
	}
	mk := mailer.Kind(kind)
	// In the language of the customer's own words (not the history they
	// quote) when it tells, else the service's.
	tmpl, locale, err := mailer.Select(mk, mailer.DetectLocale(email.ReplyText(mc.CustomerText), mc.Service.Locale), custom)
	if err != nil {
		return mailer.Rendered{}, nil, err
	}
	links := make([]mailer.Link, 0, len(mc.Service.Links))
	for _, l := range mc.Service.Links {
		links = append(links, mailer.Link{Label: l.Label, URL: l.URL})
	}
	t := mc.Ticket
	data := mailer.Data{
		Ticket: mailer.TicketData{Number: t.ID, Marker: ticket.Marker(t.ID), Subject: t.Subject, Status: string(status),
			Priority: string(t.Priority)},
		Customer: mailer.Person{Name: t.CustomerName, Address: recipient},
		Note:     note,
		Service:  mailer.Person{Name: mc.Service.Name, Address: mc.Service.Address},
		Links:    links,
	}
	rendered, err := r.Render(mk, locale, tmpl, data)
	if err != nil {
		var te *mailer.TemplateError
		if errors.As(err, &te) {
			te.Service = mc.Service.Key
		}
		return rendered, nil, err
	}
	msg := &mailer.Message{
		From:       mailer.Person{Name: mc.Service.Name, Address: mc.Service.Address},
		To:         mailer.Person{Name: t.CustomerName, Address: recipient},
		MessageID:  messageID,
		InReplyTo:  mc.InReplyTo,
		References: mc.References,
		Subject:    rendered.Subject,
		Text:       rendered.Text,
		HTML:       rendered.HTML,
	}
	if messageID == "" { // a preview: the ID is fixed when the mail is queued
		messageID = "preview@" + domainOf(mc.Service.Address)
	}
	check := *msg
	check.MessageID = messageID
	if _, err := check.Build(); err != nil {
		return rendered, nil, err
	}
	return rendered, msg, nil
}

func domainOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == '@' {
			return addr[i+1:]
		}
	}
	return "contiple.invalid"
}
