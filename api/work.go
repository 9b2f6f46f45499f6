package api

import (
	"net/http"
	"strconv"

	"github.com/contiple/contiple-worker/ticket"
)

// workRoutes are the work a person looks at and runs again: inbound mail
// that could not be read, customer mail not sent, outbox rows whose task
// failed for good, and suppressed addresses.
var workRoutes = []route{
	{"GET", "/api/v1/inbound-mails/failed", (*V1).inboundFailed},
	{"POST", "/api/v1/inbound-mails/{id}/retry", (*V1).inboundRetry},
	{"GET", "/api/v1/outbound-mails/failed", (*V1).outboundFailed},
	{"POST", "/api/v1/outbound-mails/{id}/retry", (*V1).outboundRetry},
	{"GET", "/api/v1/outbox/failed", (*V1).outboxFailed},
	{"POST", "/api/v1/outbox/{id}/retry", (*V1).outboxRetry},
	{"GET", "/api/v1/suppressions", (*V1).suppressions},
	{"DELETE", "/api/v1/suppressions/{address}", (*V1).unsuppress},
}

func limitOf(r *http.Request) (int, error) {
	l := r.URL.Query().Get("limit")
	if l == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 || n > 1000 {
		return 0, badRequest{"limit must be a number from 1 to 1000"}
	}
	return n, nil
}

// list answers a GET of a list under key.
func list[T any](r *http.Request, key string, fn func(limit int) ([]T, error)) (int, any, error) {
	limit, err := limitOf(r)
	if err != nil {
		return 0, nil, err
	}
	items, err := fn(limit)
	return http.StatusOK, map[string]any{key: nonNil(items)}, err
}

func (v *V1) inboundFailed(r *http.Request) (int, any, error) {
	states := []string{ticket.InboundFailed}
	if r.URL.Query().Get("ignored") == "true" {
		states = append(states, ticket.InboundIgnored)
	}
	return list(r, "inbound_mails", func(limit int) ([]ticket.InboundMail, error) {
		return v.Store.InboundByState(r.Context(), states, limit)
	})
}

func (v *V1) inboundRetry(r *http.Request) (int, any, error) {
	id, err := bodilessID(r)
	if err != nil {
		return 0, nil, err
	}
	if err := v.Store.RetryInbound(r.Context(), id); err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, map[string]any{"inbound_mail_id": id, "queued": true}, nil
}

// bodilessID is the path's {id} of a request that takes no body (an empty
// object at most).
func bodilessID(r *http.Request) (int64, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, err
	}
	var q emptyRequest
	return id, decodeBody(r, &q)
}

func (v *V1) outboundFailed(r *http.Request) (int, any, error) {
	return list(r, "outbound_mails", func(limit int) ([]ticket.OutboundProblem, error) {
		return v.Store.OutboundProblems(r.Context(), limit)
	})
}

func (v *V1) outboundRetry(r *http.Request) (int, any, error) {
	return rerun(r, func(id int64) (int64, error) { return v.Store.RetryOutbound(r.Context(), id, actorOf(r.Context())) })
}

func (v *V1) outboxFailed(r *http.Request) (int, any, error) {
	return list(r, "outbox", func(limit int) ([]ticket.FailedWork, error) {
		return v.Store.FailedOutbox(r.Context(), limit)
	})
}

func (v *V1) outboxRetry(r *http.Request) (int, any, error) {
	return rerun(r, func(id int64) (int64, error) { return v.Store.RetryOutbox(r.Context(), id, actorOf(r.Context())) })
}

// rerun runs work {id} again; the answer names the new outbox row.
func rerun(r *http.Request, fn func(id int64) (int64, error)) (int, any, error) {
	id, err := bodilessID(r)
	if err != nil {
		return 0, nil, err
	}
	newID, err := fn(id)
	return http.StatusAccepted, map[string]int64{"outbox_id": newID}, err
}

func (v *V1) suppressions(r *http.Request) (int, any, error) {
	return list(r, "suppressions", func(limit int) ([]ticket.Suppression, error) {
		return v.Store.Suppressed(r.Context(), limit)
	})
}

func (v *V1) unsuppress(r *http.Request) (int, any, error) {
	s, err := v.Store.Unsuppress(r.Context(), r.PathValue("address"), actorOf(r.Context()))
	return http.StatusOK, s, err
}
