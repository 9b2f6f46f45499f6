package api

import (
	"context"
	"testing"
)

// An operator's token cannot complete, restore from spam or delete spam; the
// administrator's can. Every event names the token, whatever the body says.
func TestAPIRolesAndActors(t *testing.T) {
	t.Parallel()
	c, pool := newAPI(t)
	_, out := c.do("POST", "/api/v1/tickets", map[string]any{"service": "support", "subject": "roles", "customer_email": "kim@example.kr"})
	id := int64(out["id"].(float64))
	path := "/api/v1/tickets/" + jsonNumber(id)

	if status, out := c.do("POST", path+"/comment", map[string]any{"note": "x", "actor": "someone else"}); status != 400 || errorCode(out) != "bad_request" {
		t.Errorf("a body naming the actor: %d %v, want 400 bad_request", status, out)
	}
	for _, step := range []struct {
		client apiClient
		method string
		op     string
		body   map[string]any
		status int
		want   string
	}{
		{c, "POST", "/assign", map[string]any{"operator": "kim"}, 200, "in_progress"},
		{c, "POST", "/internal-resolve", map[string]any{"note": "done by phone"}, 200, "resolved"},
		{c, "POST", "/complete", map[string]any{}, 403, "forbidden"},
		{c.admin(), "POST", "/complete", map[string]any{}, 200, "completed"},
	} {
		status, out := step.client.do(step.method, path+step.op, step.body)
		got := errorCode(out)
		if got == "" {
			got, _ = out["status"].(string)
		}
		if status != step.status || got != step.want {
			t.Errorf("%s %s: %d %v, want %d %s", step.method, step.op, status, out, step.status, step.want)
		}
	}

	_, out = c.do("POST", "/api/v1/tickets", map[string]any{"service": "support", "subject": "buy now"})
	spam := "/api/v1/tickets/" + jsonNumber(int64(out["id"].(float64)))
	if status, out := c.do("POST", spam+"/spam", map[string]any{}); status != 200 || out["status"] != "spam" {
		t.Fatalf("spam by an operator: %d %v", status, out)
	}
	for _, op := range []struct{ method, path string }{{"POST", spam + "/restore"}, {"DELETE", spam}} {
		if status, out := c.do(op.method, op.path, nil); status != 403 || errorCode(out) != "forbidden" {
			t.Errorf("operator %s %s: %d %v, want 403 forbidden", op.method, op.path, status, out)
		}
	}
	if status, out := c.admin().do("DELETE", spam, nil); status != 200 || out["deleted"] != true {
		t.Errorf("administrator deletes spam: %d %v", status, out)
	}

	rows, err := pool.Query(context.Background(), "SELECT kind, actor FROM ticket_events WHERE ticket_id = $1 ORDER BY id", id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := map[string]string{"created": "helpdesk", "assign": "helpdesk", "internal_resolve": "helpdesk", "complete": "lead"}
	n := 0
	for rows.Next() {
		var kind, actor string
		if err := rows.Scan(&kind, &actor); err != nil {
			t.Fatal(err)
		}
		n++
		if actor != want[kind] {
			t.Errorf("event %s by %q, want %q", kind, actor, want[kind])
		}
	}
	if n != len(want) {
		t.Errorf("%d events, want %d", n, len(want))
	}
}

// Every operation kept for administrators is a route: a misspelt key would
// leave the real one open to operators.
func TestAdministratorOnlyNamesRoutes(t *testing.T) {
	known := map[string]bool{}
	for _, rt := range allRoutes() {
		known[rt.method+" "+rt.path] = true
	}
	for op := range administratorOnly {
		if !known[op] {
			t.Errorf("administratorOnly names %q, which is no route", op)
		}
	}
	if len(administratorOnly) != 4 {
		t.Errorf("%d administrator operations, want 4: complete, restore, delete spam, unmask", len(administratorOnly))
	}
}
