package ticket

import (
	"context"
	"strings"
)

// ownMail says why a mail is our own coming back (a Bcc, a forwarding loop,
// a list echoing our answer), or "" when it is not.
//
// From alone does not decide: a web form sends From our support address with
// the visitor in Reply-To, and a Google Group that rewrites From for DMARC
// does the same; both are customers. Our own mail is recognised by what we
// put in it: a Message-ID we sent (ct-<ticket>-<random>@<a service's
// domain>, see NewMailMessageID) or, from our address, Auto-Submitted. Mail
// from our address that names no one else in Reply-To has no customer to
// answer and is recorded without a ticket.
func (in *ingest) ownMail(ctx context.Context) (string, error) {
	id := in.m.ExternalID
	var sent, ourID, fromOurs bool
	err := in.tx.QueryRow(ctx, `SELECT
			EXISTS (SELECT 1 FROM outbound_mails WHERE $1 <> '' AND mail_message_id = $1),
			EXISTS (SELECT 1 FROM services WHERE $1 ~* '^ct-[1-9][0-9]*-[A-Za-z0-9]+@'
				AND lower(split_part($1, '@', 2)) = lower(split_part(address, '@', 2))),
			EXISTS (SELECT 1 FROM services WHERE $2 <> '' AND lower(address) = lower($2))`,
		id, in.m.From.Address).Scan(&sent, &ourID, &fromOurs)
	if err != nil {
		return "", err
	}
	in.fromOurs = fromOurs
	switch {
	case sent || ourID:
		return "our own mail came back (Message-ID <" + id + ">)", nil
	case !fromOurs:
		return "", nil
	case in.m.Automatic:
		return "automatic mail from our own address " + strings.ToLower(in.m.From.Address) + " (" + in.m.Reason + ")", nil
	}
	if _, address := in.customer(); !strings.EqualFold(address, in.m.From.Address) {
		var ours bool
		if err := in.tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM services WHERE lower(address) = lower($1))", address).Scan(&ours); err != nil || !ours {
			return "", err // a form or a list writing for the customer in Reply-To
		}
	}
	return "mail from our own address " + strings.ToLower(in.m.From.Address) + " with no customer in Reply-To", nil
}
