package jobs

import (
	"context"
	"fmt"
	"strings"

	"github.com/contiple/contiple-worker/mailer"
	"github.com/contiple/contiple-worker/ticket"
)

// Outbound is what operators' tools (the CLI, the HTTP API) use to answer a
// customer: preview the resolve or hold mail, then resolve or hold, refusing a
// mail with forbidden words unless forced.
type Outbound struct {
	Store    *ticket.Store
	Renderer *mailer.Renderer
}

// NewOutbound returns the facade over store.
func NewOutbound(store *ticket.Store) *Outbound {
	return &Outbound{Store: store, Renderer: mailer.NewRenderer()}
}

// MailPreview is the mail a resolve or hold would send, exactly as it would
// go out (the Message-ID is fixed only when it is queued).
type MailPreview struct {
	TicketID   int64        `json:"ticket_id"`
	Kind       mailer.Kind  `json:"kind"`
	Locale     string       `json:"locale"`
	From       string       `json:"from"`
	To         string       `json:"to"`
	Subject    string       `json:"subject"`
	InReplyTo  string       `json:"in_reply_to,omitempty"`
	References []string     `json:"references,omitempty"`
	Text       string       `json:"text"`
	HTML       string       `json:"html,omitempty"`
	Forbidden  []mailer.Hit `json:"forbidden_words"`
	// Refused says why the action itself would be refused now (e.g. the
	// ticket's status does not allow it); empty when it would be accepted.
	Refused string `json:"refused,omitempty"`
}

// ForbiddenWordsError refuses a mail that contains forbidden words.
type ForbiddenWordsError struct {
	TicketID int64
	Kind     mailer.Kind
	Hits     []mailer.Hit
}

func (e *ForbiddenWordsError) Error() string {
	return fmt.Sprintf("ticket %d: the %s mail contains forbidden words: %s (check the preview; --force sends it anyway)",
		e.TicketID, e.Kind, FormatHits(e.Hits))
}

// FormatHits lists hits as `"word" in part at N`.
func FormatHits(hits []mailer.Hit) string {
	parts := make([]string, len(hits))
	for i, h := range hits {
		parts[i] = fmt.Sprintf("%q in %s at %d", h.Word, h.Part, h.Pos)
	}
	return strings.Join(parts, ", ")
}

func actionOf(kind mailer.Kind) (ticket.Action, ticket.MessageKind, error) {
	switch kind {
	case mailer.KindResolve:
		return ticket.ActionResolve, ticket.MessageResolve, nil
	case mailer.KindHold:
		return ticket.ActionHold, ticket.MessageHold, nil
	}
	return "", "", &ticket.InputError{Msg: fmt.Sprintf("%q is not a mail kind (want resolve or hold)", kind)}
}

// Preview renders the mail that a resolve or hold of ticket id with note would
// send and lists the forbidden words in it. It writes nothing.
func (o *Outbound) Preview(ctx context.Context, id int64, kind mailer.Kind, note string) (MailPreview, error) {
	action, mkind, err := actionOf(kind)
	if err != nil {
		return MailPreview{}, err
	}
	mc, err := o.Store.ReplyContext(ctx, id, mkind)
	if err != nil {
		return MailPreview{}, err
	}
	p := MailPreview{TicketID: id, Kind: kind, Forbidden: []mailer.Hit{}}
	status := mc.Ticket.Status
	if next, err := ticket.Next(mc.Ticket.Status, action, mc.Ticket.Assignee != ""); err != nil {
		p.Refused = err.Error()
	} else {
		status = next
	}
	if mc.Ticket.CustomerEmail == "" {
		p.Refused = fmt.Sprintf("ticket %d has no customer address to mail", id)
		return p, &ticket.InputError{Msg: p.Refused + ": use internal-resolve"}
	}
	renderer := o.Renderer
	if renderer == nil {
		renderer = mailer.NewRenderer()
	}
	rendered, msg, err := composeMail(renderer, mc, mkind, note, mc.Ticket.CustomerEmail, "", status)
	if err != nil {
		return p, err
	}
	p.Locale, p.Subject, p.Text, p.HTML = rendered.Locale, rendered.Subject, rendered.Text, rendered.HTML
	p.From = formatPerson(msg.From)
	p.To = formatPerson(msg.To)
	p.InReplyTo, p.References = msg.InReplyTo, msg.References
	if hits := mailer.FindForbidden(rendered, mc.ForbiddenWords); len(hits) > 0 {
		p.Forbidden = hits
	}
	return p, nil
}

func formatPerson(p mailer.Person) string {
	if p.Name == "" {
		return p.Address
	}
	return fmt.Sprintf("%s <%s>", mailer.OneLine(p.Name), p.Address)
}

// Reply resolves or holds ticket id with note, which owes the customer the
// mail. A mail with forbidden words is refused with *ForbiddenWordsError unless
// force; a template that cannot render is refused always.
func (o *Outbound) Reply(ctx context.Context, id int64, kind mailer.Kind, note, actor string, force bool) (ticket.Ticket, error) {
	_, mkind, err := actionOf(kind)
	if err != nil {
		return ticket.Ticket{}, err
	}
	if strings.TrimSpace(note) == "" {
		return ticket.Ticket{}, &ticket.InputError{Msg: fmt.Sprintf("a note is required to %s a ticket: it is the body of the mail", kind)}
	}
	p, err := o.Preview(ctx, id, kind, note)
	if err != nil {
		return ticket.Ticket{}, err
	}
	if len(p.Forbidden) > 0 && !force {
		return ticket.Ticket{}, &ForbiddenWordsError{TicketID: id, Kind: kind, Hits: p.Forbidden}
	}
	n := ticket.Note{Text: note, Actor: actor}
	if mkind == ticket.MessageResolve {
		return o.Store.Resolve(ctx, id, n)
	}
	return o.Store.Hold(ctx, id, n)
}
