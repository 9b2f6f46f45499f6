package ticket

import "context"

// spamBox makes a ticket of mail the MTA flagged as spam straight in the spam
// box, with an event saying why; `ticket restore` brings it back to be worked
// on. It never joins the thread it names: a forged In-Reply-To or marker must
// not put spam into a customer's ticket, and a wrongly flagged reply is one
// restore away. The ticket records the thread it named, if any.
func (in *ingest) spamBox(ctx context.Context) (IngestResult, error) {
	if _, err := mailAddress(in.m.From.Address); err != nil {
		return IngestResult{Outcome: IngestIgnored, Reason: "spam (" + in.h.Spam + ") with no sender address"}, nil
	}
	res, err := in.create(ctx, nil)
	if err != nil {
		return res, err
	}
	data := map[string]any{"reason": "flagged as spam by the mail server: " + in.h.Spam, "inbound_mail_id": in.id}
	if names, err := in.threadTickets(ctx); err != nil {
		return res, err
	} else if len(names) > 0 {
		data["names_ticket_id"] = names[0]
	}
	if _, err := transactIn(ctx, in.tx, res.TicketID, ActionMarkSpam, "channel:email", in.now,
		func(*change) (map[string]any, error) { return data, nil }); err != nil {
		return res, err
	}
	return IngestResult{Outcome: IngestSpam, TicketID: res.TicketID, Reason: in.h.Spam}, nil
}
