package api

import (
	"context"
	"testing"
)

// The escalate endpoint: the organisation is chosen in the body, and a service
// with Dooray! switched off answers a stable code, dooray_disabled.
func TestAPIEscalateOrganizationAndSwitch(t *testing.T) {
	t.Parallel()
	c, pool := newAPI(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `UPDATE services SET settings = settings || $1 WHERE key = 'support'`,
		map[string]any{"dooray_organization": "main", "dooray_project_id": "11",
			"dooray_organizations": []map[string]any{{"key": "gov", "projects": []string{"21"}}}}); err != nil {
		t.Fatal(err)
	}
	ticketIn := func() string {
		status, out := c.do("POST", "/api/v1/tickets", map[string]any{"service": "support", "subject": "s",
			"customer_email": "a@example.jp", "channel": "phone"})
		if status != 201 {
			t.Fatalf("create: %d %v", status, out)
		}
		path := "/api/v1/tickets/" + jsonNumber(int64(out["id"].(float64)))
		if status, out := c.do("POST", path+"/assign", map[string]any{"operator": "kim"}); status != 200 {
			t.Fatalf("assign: %d %v", status, out)
		}
		return path
	}
	link := func(path string) (org, project string) {
		pool.QueryRow(ctx, `SELECT organization, project_id FROM dooray_links WHERE ticket_id = $1`, path[len("/api/v1/tickets/"):]).Scan(&org, &project)
		return org, project
	}
	gov := ticketIn()
	if status, out := c.do("POST", gov+"/escalate", map[string]any{"organization": "gov", "content": "민원"}); status != 200 {
		t.Fatalf("escalate to gov: %d %v", status, out)
	}
	if org, project := link(gov); org != "gov" || project != "21" {
		t.Errorf("link %s/%s, want gov/21", org, project)
	}
	def := ticketIn()
	if status, out := c.do("POST", def+"/escalate", map[string]any{"content": "default"}); status != 200 {
		t.Fatalf("escalate with the defaults: %d %v", status, out)
	}
	if org, project := link(def); org != "main" || project != "11" {
		t.Errorf("link %s/%s, want main/11", org, project)
	}
	if status, out := c.do("POST", ticketIn()+"/escalate", map[string]any{"organization": "finance", "content": "x"}); status != 400 || errorCode(out) != "invalid_input" {
		t.Errorf("unknown organisation: %d %v", status, out)
	}
	if _, err := pool.Exec(ctx, `UPDATE services SET settings = settings || '{"dooray_enabled": false}' WHERE key = 'support'`); err != nil {
		t.Fatal(err)
	}
	status, out := c.do("POST", ticketIn()+"/escalate", map[string]any{"content": "x"})
	if status != 409 || errorCode(out) != "dooray_disabled" {
		t.Errorf("service with Dooray! off: %d %v", status, out)
	}
}
