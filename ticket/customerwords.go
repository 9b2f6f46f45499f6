package ticket

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// customerWords is what the customer said last, for an escalation whose
// operator wrote no content of their own: the reply text of the newest
// customer message with new words — not the quoted history under it, which
// holds our own answers. Mail that only quotes is passed over.
func (c *change) customerWords(ctx context.Context) (string, error) {
	var words string
	err := c.tx.QueryRow(ctx, `SELECT coalesce(reply_text, body) FROM ticket_messages
		WHERE ticket_id = $1 AND kind = 'customer' AND btrim(coalesce(reply_text, body)) <> ''
		ORDER BY id DESC LIMIT 1`, c.ticket.ID).Scan(&words)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", inputf("ticket %d: an escalation needs content, and the customer has written nothing to pass on", c.ticket.ID)
	}
	return words, err
}
