package ticket

import (
	"context"
	"strings"
)

// clearsFeedback says whether an action on a ticket is its assignee acting on
// it, which answers a feedback request (the customer was informed, or the
// ticket moved on). What the worker does by itself does not.
func clearsFeedback(a Action) bool {
	switch a {
	case ActionDoorayCreated, ActionDoorayWorking, ActionDoorayClosed, ActionIssueAnswered, ActionCustomerReply:
		return false
	}
	return true
}

// RequestFeedback is issue management asking for the customer to be informed
// (seed: 移管 "feedback"): on issueID, a ticket made by an issue transfer, its
// service marks the ticket it came from. The request shows on the original
// assignee's board (MY: feedback requested) until they act on that ticket. It
// returns the ticket it came from.
func (s *Store) RequestFeedback(ctx context.Context, issueID int64, n Note) (Ticket, error) {
	if strings.TrimSpace(n.Text) == "" {
		return Ticket{}, inputf("a feedback request needs text: what the customer should be told")
	}
	var src Ticket
	_, err := s.transact(ctx, issueID, ActionComment, n.Actor, func(c *change) (map[string]any, error) {
		if c.ticket.SourceTicketID == nil {
			return nil, inputf("ticket %d was not transferred from another service: there is no one to ask for feedback", issueID)
		}
		srcID := *c.ticket.SourceTicketID
		msgID, err := c.message(ctx, MessageComment, n.Text)
		if err != nil {
			return nil, err
		}
		src, err = scanTicket(c.tx.QueryRow(ctx, `UPDATE tickets SET feedback_requested_at = $2, updated_at = $2
			WHERE id = $1 RETURNING `+ticketColumns, srcID, c.now))
		if err != nil {
			return nil, err
		}
		if _, err := c.tx.Exec(ctx, `INSERT INTO ticket_messages (ticket_id, kind, author, body, created_at)
			VALUES ($1, 'system', $2, $3, $4)`, srcID, n.Actor,
			"Customer guidance requested by "+c.ticket.Service+" ("+Marker(issueID)+"): "+n.Text, c.now); err != nil {
			return nil, err
		}
		if err := insertEvent(ctx, c.tx, srcID, "feedback_requested", n.Actor, "", "",
			map[string]any{"issue_ticket_id": issueID, "service": c.ticket.Service}, c.now); err != nil {
			return nil, err
		}
		return map[string]any{"feedback_requested": srcID, "message_id": msgID}, nil
	})
	return src, err
}
