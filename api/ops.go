package api

import (
	"context"
	"net/http"

	"github.com/contiple/contiple-worker/ticket"
)

// ticketRoutes are the ticket operations beyond the first release's: the
// spam box, issue transfer, fields, star, unmask, feedback, past inquiries.
var ticketRoutes = []route{
	{"PATCH", "/api/v1/tickets/{id}", (*V1).update},
	{"DELETE", "/api/v1/tickets/{id}", (*V1).deleteSpam},
	{"POST", "/api/v1/tickets/{id}/spam", (*V1).spam},
	{"POST", "/api/v1/tickets/{id}/issue-transfer", (*V1).issueTransfer},
	{"PUT", "/api/v1/tickets/{id}/star", star(true)},
	{"DELETE", "/api/v1/tickets/{id}/star", star(false)},
	{"POST", "/api/v1/tickets/{id}/feedback-request", (*V1).feedbackRequest},
	{"GET", "/api/v1/tickets/{id}/past", (*V1).past},
	{"POST", "/api/v1/tickets/{id}/messages/{message}/unmask", (*V1).unmask},
}

type updateRequest struct {
	Priority       *ticket.Priority  `json:"priority"`
	CustomerName   *string           `json:"customer_name"`
	CustomerEmail  *string           `json:"customer_email"`
	CustomerFields map[string]string `json:"customer_fields"`
}

// update changes priority and customer fields; a corrected address also
// readdresses the ticket's mails not sent yet.
func (v *V1) update(r *http.Request) (int, any, error) {
	return op(r, func(ctx context.Context, id int64, q updateRequest) (ticket.Ticket, error) {
		return v.Store.Update(ctx, id, ticket.TicketUpdate{Priority: q.Priority, CustomerName: q.CustomerName,
			CustomerEmail: q.CustomerEmail, CustomerFields: q.CustomerFields, Actor: actorOf(ctx)})
	})
}

func star(on bool) func(*V1, *http.Request) (int, any, error) {
	return func(v *V1, r *http.Request) (int, any, error) {
		return op(r, func(ctx context.Context, id int64, _ emptyRequest) (ticket.Ticket, error) {
			return v.Store.Update(ctx, id, ticket.TicketUpdate{Starred: &on, Actor: actorOf(ctx)})
		})
	}
}

func (v *V1) spam(r *http.Request) (int, any, error) {
	return op(r, func(ctx context.Context, id int64, q noteRequest) (ticket.Ticket, error) {
		return v.Store.InternalResolve(ctx, id, ticket.Note{Text: q.Note, Actor: actorOf(ctx)}, true)
	})
}

// deleteSpam deletes a ticket in the spam box for good (administrator).
func (v *V1) deleteSpam(r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	if err := v.Store.DeleteSpam(r.Context(), id, actorOf(r.Context())); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"id": id, "deleted": true}, nil
}

func (v *V1) issueTransfer(r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	var q struct {
		Service string `json:"service"`
		Channel string `json:"channel"`
		Subject string `json:"subject"`
		Body    string `json:"body"`
	}
	if err := decodeBody(r, &q); err != nil {
		return 0, nil, err
	}
	src, created, err := v.Store.TransferIssue(r.Context(), id, ticket.IssueTransfer{Service: q.Service,
		Channel: ticket.Channel(q.Channel), Subject: q.Subject, Body: q.Body, Actor: actorOf(r.Context())})
	return http.StatusOK, map[string]any{"ticket": src, "issue_ticket": created}, err
}

// feedbackRequest: the service a ticket was transferred to asks the original
// assignee to inform the customer. It answers with the original ticket.
func (v *V1) feedbackRequest(r *http.Request) (int, any, error) {
	return op(r, func(ctx context.Context, id int64, q noteRequest) (ticket.Ticket, error) {
		return v.Store.RequestFeedback(ctx, id, ticket.Note{Text: q.Note, Actor: actorOf(ctx)})
	})
}

// past lists the other tickets of the ticket's customer (by address), newest first.
func (v *V1) past(r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	ts, err := v.Store.PastInquiries(r.Context(), id, 100)
	return http.StatusOK, map[string]any{"tickets": nonNil(ts)}, err
}

func (v *V1) unmask(r *http.Request) (int, any, error) {
	id, msg, err := messagePath(r)
	if err != nil {
		return 0, nil, err
	}
	var q struct {
		MaskID int64 `json:"mask_id"`
	}
	if err := decodeBody(r, &q); err != nil {
		return 0, nil, err
	}
	n, err := v.Store.Unmask(r.Context(), id, msg, q.MaskID, actorOf(r.Context()))
	return http.StatusOK, map[string]int{"restored": n}, err
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
