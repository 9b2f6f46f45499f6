package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/contiple/contiple-worker/jobs"
	"github.com/contiple/contiple-worker/mailer"
	"github.com/contiple/contiple-worker/ticket"
)

// V1 is the integration API for the helpdesk application, in any language:
// JSON over HTTP under /api/v1, a bearer token, the operations of the CLI. Each
// operation is one store transaction that writes its outbox row; the worker
// does the rest. The OpenAPI document at /api/v1/openapi.json describes it.
type V1 struct {
	Store *ticket.Store
	// Tokens are the bearer tokens, with names and roles; none disables the
	// API (every call is 401).
	Tokens []Token
	Log    *slog.Logger
	// Replies renders, checks for forbidden words and queues resolve and hold mails.
	Replies *jobs.Outbound
}

// route is one operation: the table drives the mux, and a test checks the
// OpenAPI document against it.
type route struct {
	method, path string
	handle       func(v *V1, r *http.Request) (int, any, error)
}

var routes = []route{
	{"GET", "/api/v1/tickets", (*V1).list},
	{"POST", "/api/v1/tickets", (*V1).create},
	{"GET", "/api/v1/tickets/{id}", (*V1).show},
	{"POST", "/api/v1/tickets/{id}/assign", (*V1).assign},
	{"POST", "/api/v1/tickets/{id}/resolve", replyOp(mailer.KindResolve)},
	{"POST", "/api/v1/tickets/{id}/hold", replyOp(mailer.KindHold)},
	{"POST", "/api/v1/tickets/{id}/preview", (*V1).preview},
	{"POST", "/api/v1/tickets/{id}/comment", (*V1).comment},
	{"POST", "/api/v1/tickets/{id}/internal-resolve", (*V1).internalResolve},
	{"POST", "/api/v1/tickets/{id}/restore", (*V1).restore},
	{"POST", "/api/v1/tickets/{id}/complete", (*V1).complete},
	{"POST", "/api/v1/tickets/{id}/escalate", (*V1).escalate},
	{"POST", "/api/v1/tickets/{id}/dooray-comment", (*V1).doorayComment},
	{"POST", "/api/v1/tickets/{id}/messages/{message}/masks", (*V1).mask},
}

//go:embed openapi.json
var openAPI []byte

// Mount adds the API's routes to mux.
func (v *V1) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPI)
	})
	for _, rt := range allRoutes() {
		mux.Handle(rt.method+" "+rt.path, v.auth(rt.method+" "+rt.path, func(w http.ResponseWriter, r *http.Request) {
			status, body, err := rt.handle(v, r)
			if err != nil {
				v.writeError(w, r, err)
				return
			}
			writeJSON(w, status, body)
		}))
	}
}

// Error codes are stable: clients branch on them.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

type errorBody struct {
	Error apiError `json:"error"`
}

// badRequest is a malformed request: bad JSON, a bad path parameter.
type badRequest struct{ msg string }

func (e badRequest) Error() string { return e.msg }

func (v *V1) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		status = http.StatusInternalServerError
		body   = apiError{Code: "internal", Message: "internal error; see the worker's log"}
		in     *ticket.InputError
		te     *ticket.TransitionError
		br     badRequest
		fw     *jobs.ForbiddenWordsError
	)
	switch {
	case errors.As(err, &br):
		status, body = http.StatusBadRequest, apiError{Code: "bad_request", Message: br.msg}
	case errors.Is(err, ticket.ErrNotFound):
		status, body = http.StatusNotFound, apiError{Code: "not_found", Message: err.Error()}
	case errors.Is(err, ticket.ErrEscalationPending):
		status, body = http.StatusConflict, apiError{Code: "escalation_pending", Message: err.Error()}
	case errors.Is(err, ticket.ErrDoorayOff):
		status, body = http.StatusConflict, apiError{Code: "dooray_disabled", Message: err.Error()}
	case errors.As(err, &te):
		status, body = http.StatusConflict, apiError{Code: "transition_refused", Message: err.Error(),
			Details: map[string]string{"status": string(te.Status), "action": string(te.Action)}}
	case errors.As(err, &fw):
		status, body = http.StatusUnprocessableEntity, apiError{Code: "forbidden_words",
			Message: fmt.Sprintf("the %s mail contains forbidden words: %s; send again with force to confirm", fw.Kind, jobs.FormatHits(fw.Hits)),
			Details: map[string]any{"forbidden_words": fw.Hits}}
	case errors.As(err, &in):
		status, body = http.StatusBadRequest, apiError{Code: "invalid_input", Message: in.Msg}
	case errors.Is(err, ticket.ErrNoMaskKey):
		status, body = http.StatusServiceUnavailable, apiError{Code: "no_mask_key", Message: err.Error()}
	default:
		v.Log.Error("api", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, errorBody{Error: body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// decodeBody reads a JSON object into v; unknown fields are refused, so a
// misspelt field never silently does nothing.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return badRequest{"request body: " + err.Error()}
	}
	return nil
}

func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest{fmt.Sprintf("%s %q is not a number", name, r.PathValue(name))}
	}
	return id, nil
}

// messagePath reads /tickets/{id}/messages/{message}/….
func messagePath(r *http.Request) (id, msg int64, err error) {
	if id, err = pathID(r, "id"); err != nil {
		return 0, 0, err
	}
	msg, err = pathID(r, "message")
	return id, msg, err
}

type createRequest struct {
	Service       string `json:"service"`
	Subject       string `json:"subject"`
	CustomerEmail string `json:"customer_email"`
	CustomerName  string `json:"customer_name"`
	Body          string `json:"body"`
	Channel       string `json:"channel"`
	Priority      string `json:"priority"`
}

func (v *V1) create(r *http.Request) (int, any, error) {
	var req createRequest
	if err := decodeBody(r, &req); err != nil {
		return 0, nil, err
	}
	if req.Channel == "" {
		req.Channel = string(ticket.ChannelCreated)
	}
	t, err := v.Store.Create(r.Context(), ticket.NewTicket{Service: req.Service, Subject: req.Subject, CustomerEmail: req.CustomerEmail,
		CustomerName: req.CustomerName, Body: req.Body, Channel: ticket.Channel(req.Channel), Priority: ticket.Priority(req.Priority),
		Actor: actorOf(r.Context())})
	return http.StatusCreated, t, err
}

func (v *V1) show(r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	t, err := v.Store.Get(r.Context(), id)
	if err != nil {
		return 0, nil, err
	}
	msgs, err := v.Store.Messages(r.Context(), id)
	if err != nil {
		return 0, nil, err
	}
	events, err := v.Store.Events(r.Context(), id)
	return http.StatusOK, map[string]any{"ticket": t, "messages": msgs, "events": events}, err
}

// op runs a ticket operation that takes a JSON body of type T.
func op[T any](r *http.Request, fn func(ctx context.Context, id int64, req T) (ticket.Ticket, error)) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	var req T
	if err := decodeBody(r, &req); err != nil {
		return 0, nil, err
	}
	t, err := fn(r.Context(), id, req)
	return http.StatusOK, t, err
}

type noteRequest struct {
	Note string `json:"note"`
}

type emptyRequest struct{}

func (v *V1) assign(r *http.Request) (int, any, error) {
	type req struct {
		Operator string `json:"operator"`
		Group    string `json:"group"`
	}
	return op(r, func(ctx context.Context, id int64, q req) (ticket.Ticket, error) {
		return v.Store.Assign(ctx, id, ticket.Assignment{Operator: q.Operator, Group: q.Group, Actor: actorOf(ctx), Via: "transfer"})
	})
}

// replyOp is resolve or hold: the mail is rendered and checked for forbidden
// words before the operation commits.
func replyOp(kind mailer.Kind) func(*V1, *http.Request) (int, any, error) {
	return func(v *V1, r *http.Request) (int, any, error) {
		type req struct {
			Note  string `json:"note"`
			Force bool   `json:"force"`
		}
		return op(r, func(ctx context.Context, id int64, q req) (ticket.Ticket, error) {
			return v.Replies.Reply(ctx, id, kind, q.Note, actorOf(ctx), q.Force)
		})
	}
}

func (v *V1) preview(r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	var q struct {
		Action string `json:"action"`
		Note   string `json:"note"`
	}
	if err := decodeBody(r, &q); err != nil {
		return 0, nil, err
	}
	if q.Action != "resolve" && q.Action != "hold" {
		return 0, nil, badRequest{`action must be "resolve" or "hold"`}
	}
	p, err := v.Replies.Preview(r.Context(), id, mailer.Kind(q.Action), q.Note)
	return http.StatusOK, p, err
}

func (v *V1) comment(r *http.Request) (int, any, error) {
	return op(r, func(ctx context.Context, id int64, q noteRequest) (ticket.Ticket, error) {
		return v.Store.Comment(ctx, id, ticket.Note{Text: q.Note, Actor: actorOf(ctx)})
	})
}

func (v *V1) internalResolve(r *http.Request) (int, any, error) {
	type req struct {
		Note string `json:"note"`
		Spam bool   `json:"spam"`
	}
	return op(r, func(ctx context.Context, id int64, q req) (ticket.Ticket, error) {
		return v.Store.InternalResolve(ctx, id, ticket.Note{Text: q.Note, Actor: actorOf(ctx)}, q.Spam)
	})
}

func (v *V1) restore(r *http.Request) (int, any, error) {
	return op(r, func(ctx context.Context, id int64, q emptyRequest) (ticket.Ticket, error) {
		return v.Store.Restore(ctx, id, actorOf(ctx))
	})
}

func (v *V1) complete(r *http.Request) (int, any, error) {
	return op(r, func(ctx context.Context, id int64, q emptyRequest) (ticket.Ticket, error) {
		return v.Store.Complete(ctx, id, actorOf(ctx))
	})
}

func (v *V1) escalate(r *http.Request) (int, any, error) {
	type req struct {
		Organization string `json:"organization"`
		ProjectID    string `json:"project_id"`
		Content      string `json:"content"`
	}
	return op(r, func(ctx context.Context, id int64, q req) (ticket.Ticket, error) {
		return v.Store.Escalate(ctx, id, ticket.Escalation{Organization: q.Organization, ProjectID: q.ProjectID, Content: q.Content,
			Actor: actorOf(ctx)})
	})
}

func (v *V1) doorayComment(r *http.Request) (int, any, error) {
	type req struct {
		Text string `json:"text"`
	}
	return op(r, func(ctx context.Context, id int64, q req) (ticket.Ticket, error) {
		return v.Store.DoorayComment(ctx, id, ticket.Note{Text: q.Text, Actor: actorOf(ctx)})
	})
}

func (v *V1) mask(r *http.Request) (int, any, error) {
	id, msg, err := messagePath(r)
	if err != nil {
		return 0, nil, err
	}
	var q struct {
		From int `json:"from"`
		To   int `json:"to"`
	}
	if err := decodeBody(r, &q); err != nil {
		return 0, nil, err
	}
	m, err := v.Store.MaskSpan(r.Context(), id, msg, q.From, q.To, actorOf(r.Context()))
	return http.StatusCreated, m, err
}
