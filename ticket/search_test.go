package ticket

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/contiple/contiple-worker/internal/testenv"
)

// Every list query can be answered from an index: on 20,000 tickets with
// sequential scans priced out, no plan reads a whole table.
func TestListQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	pool := testenv.NewDatabase(t)
	fillTickets(t, pool, 20000)
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	var cases []searchCase
	for _, c := range searchCases() {
		cases = append(cases, searchCase{c.name, c.f, false})
		if c.f.Text != "" {
			cases = append(cases, searchCase{c.name + " (newest first)", c.f, true})
		}
	}
	for _, c := range cases {
		sql, args, err := c.f.query(c.window)
		if err != nil {
			t.Fatal(err)
		}
		var plan []byte
		if err := conn.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+sql, args...).Scan(&plan); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var nodes []string
		var walk func(n map[string]any)
		walk = func(n map[string]any) {
			nodes = append(nodes, n["Node Type"].(string)+" "+strings.TrimSpace(asString(n["Relation Name"])+" "+asString(n["Index Name"])))
			for _, c := range asSlice(n["Plans"]) {
				walk(c.(map[string]any))
			}
		}
		var doc []map[string]map[string]any
		if err := json.Unmarshal(plan, &doc); err != nil {
			t.Fatal(err)
		}
		walk(doc[0]["Plan"])
		usesIndex := false
		for _, n := range nodes {
			if strings.HasPrefix(n, "Seq Scan") {
				t.Errorf("%s reads a whole table: %v", c.name, nodes)
			}
			usesIndex = usesIndex || strings.Contains(n, "Index")
		}
		if !usesIndex {
			t.Errorf("%s uses no index: %v", c.name, nodes)
		}
	}
}

type searchCase struct {
	name   string
	f      ListFilter
	window bool
}

func asString(v any) string { s, _ := v.(string); return s }
func asSlice(v any) []any   { s, _ := v.([]any); return s }

// The generated data answers the search cases as SQL without indexes would:
// the index paths lose no ticket.
func TestListMatchesAPlainScan(t *testing.T) {
	t.Parallel()
	pool := testenv.NewDatabase(t)
	fillTickets(t, pool, 3000)
	s := NewStore(pool, nil)
	ctx := context.Background()
	for _, c := range []struct {
		f     ListFilter
		where string
	}{
		{ListFilter{Text: "パスワード", Limit: 5000}, `status <> 'spam' AND (subject LIKE '%パスワード%' OR id IN (SELECT ticket_id FROM ticket_messages WHERE body LIKE '%パスワード%'))`},
		{ListFilter{Text: "비밀번호", Statuses: []Status{StatusResolved}, Limit: 5000}, `status = 'resolved' AND (subject LIKE '%비밀번호%' OR id IN (SELECT ticket_id FROM ticket_messages WHERE body LIKE '%비밀번호%'))`},
		{ListFilter{Customer: "김민수", Transferred: true, Limit: 5000}, `customer_name = '김민수' AND status IN ('issue_transferring', 'issue_answered', 'dooray_transferred', 'dooray_in_progress', 'dooray_answered')`},
	} {
		p, err := s.List(ctx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		var want int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM tickets WHERE "+c.where).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if len(p.Tickets) != want || want == 0 {
			t.Errorf("%+v: %d tickets, a plain scan finds %d", c.f, len(p.Tickets), want)
		}
		// A small page of a common word comes from the newest tickets
		// alone; it is the same page, and the next one follows it.
		small := c.f
		small.Limit = 7
		p1, err := s.List(ctx, small)
		if err != nil {
			t.Fatal(err)
		}
		small.Cursor = p1.Next
		p2, err := s.List(ctx, small)
		if err != nil {
			t.Fatal(err)
		}
		var got, first []int64
		for _, x := range append(p1.Tickets, p2.Tickets...) {
			got = append(got, x.ID)
		}
		for _, x := range p.Tickets[:min(14, len(p.Tickets))] {
			first = append(first, x.ID)
		}
		if !slices.Equal(got, first) {
			t.Errorf("%+v: two pages of 7 are %v, want %v", c.f, got, first)
		}
	}
}
