package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/contiple/contiple-worker/ticket"
)

// list finds tickets (seed ① menus and ➋ search): every filter given must
// hold; pages of `limit`, continued with `cursor`.
func (v *V1) list(r *http.Request) (int, any, error) {
	q := r.URL.Query()
	f := ticket.ListFilter{Service: q.Get("service"), Assignee: q.Get("assignee"), Group: q.Get("group"),
		Customer: q.Get("customer"), Channel: ticket.Channel(q.Get("channel")), Text: q.Get("q"), Cursor: q.Get("cursor")}
	var err error
	for _, s := range q["status"] {
		sts, err := ticket.ParseStatuses(s)
		if err != nil {
			return 0, nil, badRequest{err.Error()}
		}
		f.Statuses = append(f.Statuses, sts...)
	}
	for name, dst := range map[string]*bool{"transferred": &f.Transferred, "starred": &f.Starred, "feedback": &f.Feedback} {
		if s := q.Get(name); s != "" {
			if *dst, err = strconv.ParseBool(s); err != nil {
				return 0, nil, badRequest{name + " must be true or false"}
			}
		}
	}
	for name, dst := range map[string]**time.Time{"created_from": &f.CreatedFrom, "created_to": &f.CreatedTo,
		"updated_from": &f.UpdatedFrom, "updated_to": &f.UpdatedTo} {
		if s := q.Get(name); s != "" {
			at, err := parseTime(s)
			if err != nil {
				return 0, nil, badRequest{name + ": " + err.Error()}
			}
			*dst = &at
		}
	}
	if f.Limit, err = limitOf(r); err != nil {
		return 0, nil, err
	}
	p, err := v.Store.List(r.Context(), f)
	p.Tickets = nonNil(p.Tickets)
	return http.StatusOK, p, err
}

// parseTime accepts RFC 3339 or a date (midnight UTC).
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return t, badRequest{"want RFC 3339 (2026-01-02T15:04:05Z) or a date (2026-01-02)"}
	}
	return t, nil
}
