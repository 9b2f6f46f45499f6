package ticket

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Transferred are the statuses of "all transferred" (seed ① menus): to
// issue management or to Dooray!, waiting or answered.
var Transferred = []Status{StatusIssueTransferring, StatusIssueAnswered,
	StatusDoorayTransferred, StatusDoorayInProgress, StatusDoorayAnswered}

// ListFilter selects tickets; every field given must hold. The spam box is
// left out unless asked for by status.
type ListFilter struct {
	Statuses    []Status // any of these
	Service     string
	Assignee    string
	Group       string
	Transferred bool   // any of Transferred
	Starred     bool   // important only
	Feedback    bool   // feedback requested by issue management
	Customer    string // an address (exact, any case) or part of a name
	Channel     Channel
	CreatedFrom *time.Time // inclusive
	CreatedTo   *time.Time // exclusive
	UpdatedFrom *time.Time
	UpdatedTo   *time.Time
	// Text is found in the subject or any message body (trigram index: three
	// characters or more are found fast, in any script).
	Text   string
	Cursor string // from the previous page's Page.Next
	Limit  int    // 0: 100
}

// Page is one page of tickets, newest first; Next continues after it ("" at the end).
type Page struct {
	Tickets []Ticket `json:"tickets"`
	Next    string   `json:"next_cursor,omitempty"`
}

// List returns one page of tickets, newest first, by keyset pagination on
// the ticket number: a page is as fast at the end as at the start, and a
// ticket created meanwhile never shifts the pages after it.
//
// Text is looked for first among the newest textWindow tickets (before the
// cursor), ticket by ticket: a common word fills the page there at once,
// where the trigram indexes would first collect every ticket it is in. Only
// when that window does not fill the page does the indexed search run.
func (s *Store) List(ctx context.Context, f ListFilter) (Page, error) {
	var ts []Ticket
	if strings.TrimSpace(f.Text) != "" {
		var err error
		if ts, err = s.listQuery(ctx, f, true); err != nil {
			return Page{}, err
		}
	}
	if len(ts) <= f.limit() {
		var err error
		if ts, err = s.listQuery(ctx, f, false); err != nil {
			return Page{}, err
		}
	}
	p := Page{Tickets: ts}
	if len(ts) > f.limit() {
		p.Tickets = ts[:f.limit()]
		p.Next = encodeCursor(p.Tickets[len(p.Tickets)-1].ID)
	}
	return p, nil
}

// textWindow is how many of the newest tickets a text search reads one by one
// before it asks the trigram indexes.
const textWindow = 3000

func (s *Store) listQuery(ctx context.Context, f ListFilter, window bool) ([]Ticket, error) {
	sql, args, err := f.query(window)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Ticket, error) { return scanTicket(r) })
}

func (f ListFilter) limit() int {
	if f.Limit <= 0 {
		return 100
	}
	return f.Limit
}

// query is the SQL of the filter (one more row than the page, to tell
// whether another page follows); window: the text search among the newest
// textWindow tickets only.
func (f ListFilter) query(window bool) (string, []any, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }

	statuses := f.Statuses
	if f.Transferred {
		statuses = intersect(statuses, Transferred)
		if len(statuses) == 0 {
			statuses = []Status{"-"} // asked for transferred tickets of other statuses: none
		}
	}
	if len(statuses) > 0 {
		where = append(where, "status = ANY("+arg(statuses)+"::text[])")
	} else {
		where = append(where, "status <> 'spam'")
	}
	if f.Service != "" {
		where = append(where, "service_key = "+arg(f.Service))
	}
	if f.Assignee != "" {
		where = append(where, "assignee = "+arg(f.Assignee))
	}
	if f.Group != "" {
		where = append(where, "operator_group = "+arg(f.Group))
	}
	if f.Starred {
		where = append(where, "starred")
	}
	if f.Feedback {
		where = append(where, "feedback_requested_at IS NOT NULL")
	}
	if c := strings.TrimSpace(f.Customer); c != "" {
		if strings.Contains(c, "@") {
			where = append(where, "lower(customer_email) = lower("+arg(c)+")")
		} else {
			where = append(where, "customer_name ILIKE "+arg(likePattern(c)))
		}
	}
	if f.Channel != "" {
		ch, err := ParseChannel(string(f.Channel))
		if err != nil {
			return "", nil, inputf("%s", err)
		}
		where = append(where, "channel = "+arg(ch))
	}
	for _, r := range []struct {
		col, op string
		at      *time.Time
	}{{"created_at", ">=", f.CreatedFrom}, {"created_at", "<", f.CreatedTo}, {"updated_at", ">=", f.UpdatedFrom}, {"updated_at", "<", f.UpdatedTo}} {
		if r.at != nil {
			where = append(where, r.col+" "+r.op+" "+arg(*r.at))
		}
	}
	var before int64
	if f.Cursor != "" {
		var err error
		if before, err = decodeCursor(f.Cursor); err != nil {
			return "", nil, err
		}
		where = append(where, "id < "+arg(before))
	}
	if t := strings.TrimSpace(f.Text); t != "" {
		p := arg(likePattern(t))
		switch {
		case window && before > 0:
			where = append(where, "id >= "+arg(before-textWindow))
		case window:
			where = append(where, "id > (SELECT max(id) FROM tickets) - "+arg(textWindow))
		}
		if window {
			// OFFSET 0 keeps the subquery per ticket: without it PostgreSQL
			// may hash every message the word is in, which is the cost
			// the window is there to avoid.
			where = append(where, "(subject ILIKE "+p+" OR EXISTS (SELECT 1 FROM ticket_messages m WHERE m.ticket_id = tickets.id AND m.body ILIKE "+p+" OFFSET 0))")
		} else {
			// A UNION, so that each side uses its trigram index.
			where = append(where, "id IN (SELECT id FROM tickets WHERE subject ILIKE "+p+
				" UNION SELECT ticket_id FROM ticket_messages WHERE body ILIKE "+p+")")
		}
	}
	sql := "SELECT " + ticketColumns + " FROM tickets WHERE " + strings.Join(where, " AND ") +
		" ORDER BY id DESC LIMIT " + arg(f.limit()+1)
	return sql, args, nil
}

// likePattern finds text anywhere, its own % _ \ taken literally.
func likePattern(text string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(text) + "%"
}

func intersect(a, b []Status) []Status {
	if len(a) == 0 {
		return b
	}
	var out []Status
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
			}
		}
	}
	return out
}

// The cursor is opaque to clients: the last ticket number of the page.
func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("t:" + strconv.FormatInt(id, 10)))
}

func decodeCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		if n, ok := strings.CutPrefix(string(b), "t:"); ok {
			if id, err := strconv.ParseInt(n, 10, 64); err == nil && id > 0 {
				return id, nil
			}
		}
	}
	return 0, inputf("cursor %q is not one this API gave", c)
}

// PastInquiries are the other tickets of ticket id's customer (by address),
// newest first; none when the ticket has no address.
func (s *Store) PastInquiries(ctx context.Context, id int64, limit int) ([]Ticket, error) {
	t, err := s.Get(ctx, id)
	if err != nil || t.CustomerEmail == "" {
		return nil, err
	}
	p, err := s.List(ctx, ListFilter{Customer: t.CustomerEmail, Limit: limit + 1})
	var out []Ticket
	for _, x := range p.Tickets {
		if x.ID != id && len(out) < limit {
			out = append(out, x)
		}
	}
	return out, err
}

// ParseStatuses reads a comma-separated list of statuses.
func ParseStatuses(s string) ([]Status, error) {
	var out []Status
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		st, err := ParseStatus(part)
		if err != nil {
			return nil, fmt.Errorf("status: %w", err)
		}
		out = append(out, st)
	}
	return out, nil
}
