package api

import (
	"context"
	"net/url"
	"testing"
)

func ticketPath(out map[string]any) string {
	return "/api/v1/tickets/" + jsonNumber(int64(out["id"].(float64)))
}

// Issue transfer, feedback from issue management on the MY board, fields,
// star, past inquiries and the board's ALL side without spam.
func TestAPITicketOperationsAndBoard(t *testing.T) {
	t.Parallel()
	c, pool := newAPI(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO services (key, name, address) VALUES ('billing', 'Billing', 'billing@example.test')`); err != nil {
		t.Fatal(err)
	}
	_, first := c.do("POST", "/api/v1/tickets", map[string]any{"service": "support", "subject": "前回の問い合わせ", "customer_email": "sato@example.jp"})
	_, out := c.do("POST", "/api/v1/tickets", map[string]any{"service": "support", "subject": "請求が二重です",
		"customer_email": "Sato@example.jp", "customer_name": "佐藤", "body": "二重に請求されました"})
	path := ticketPath(out)
	c.do("POST", path+"/assign", map[string]any{"operator": "kim"})

	status, out := c.do("PATCH", path, map[string]any{"priority": "urgent", "customer_fields": map[string]string{"customer_id": "C-42"}})
	if fields, _ := out["customer_fields"].(map[string]any); status != 200 || out["priority"] != "urgent" || fields["customer_id"] != "C-42" {
		t.Fatalf("update: %d %v", status, out)
	}
	if status, out := c.do("PATCH", path, map[string]any{"priority": "soon"}); status != 400 || errorCode(out) != "invalid_input" {
		t.Errorf("bad priority: %d %v", status, out)
	}
	if status, out := c.do("PUT", path+"/star", nil); status != 200 || out["starred"] != true {
		t.Errorf("star: %d %v", status, out)
	}
	if status, out := c.do("GET", path+"/past", nil); status != 200 || len(out["tickets"].([]any)) != 1 ||
		out["tickets"].([]any)[0].(map[string]any)["id"] != first["id"] {
		t.Errorf("past inquiries: %d %v", status, out)
	}

	status, out = c.do("POST", path+"/issue-transfer", map[string]any{"service": "billing", "body": "二重請求の確認をお願いします"})
	issue, _ := out["issue_ticket"].(map[string]any)
	if src, _ := out["ticket"].(map[string]any); status != 200 || src["status"] != "issue_transferring" || issue["service"] != "billing" {
		t.Fatalf("issue transfer: %d %v", status, out)
	}
	issuePath := ticketPath(issue)
	if status, out := c.do("POST", path+"/feedback-request", map[string]any{"note": "x"}); status != 400 || errorCode(out) != "invalid_input" {
		t.Errorf("feedback request on a ticket not transferred from anywhere: %d %v", status, out)
	}
	status, out = c.do("POST", issuePath+"/feedback-request", map[string]any{"note": "返金済みとお伝えください"})
	if status != 200 || out["feedback_requested_at"] == nil || out["id"] != issue["source_ticket_id"] {
		t.Fatalf("feedback request: %d %v", status, out)
	}
	my := func() map[string]any {
		t.Helper()
		status, out := c.do("GET", "/api/v1/board?operator=kim", nil)
		if status != 200 {
			t.Fatalf("board: %d %v", status, out)
		}
		m, _ := out["my"].(map[string]any)
		return m
	}
	if m := my(); m["feedback_requested"] != 1.0 || m["transferring"] != 1.0 {
		t.Errorf("MY board with a feedback request: %v", m)
	}
	if status, out := c.do("GET", "/api/v1/tickets?feedback=true", nil); status != 200 || len(out["tickets"].([]any)) != 1 {
		t.Errorf("feedback filter: %d %v", status, out)
	}
	// The assignee acts on the ticket: the request is answered.
	c.do("POST", path+"/comment", map[string]any{"note": "お客様にお電話しました"})
	if m := my(); m["feedback_requested"] != 0.0 {
		t.Errorf("MY board after the assignee acted: %v", m)
	}

	// Spam is left out of the board everywhere.
	_, out = c.do("GET", "/api/v1/board", nil)
	before := out["all"].(map[string]any)["received_today"].(float64)
	_, spam := c.do("POST", "/api/v1/tickets", map[string]any{"service": "support", "subject": "cheap pills"})
	c.do("POST", ticketPath(spam)+"/spam", map[string]any{})
	_, out = c.do("GET", "/api/v1/board", nil)
	if all := out["all"].(map[string]any); all["received_today"] != before || out["my"] != nil {
		t.Errorf("board after a spam ticket: %v (received today before: %v)", out, before)
	}
}

// Finding tickets: the filters combine, pages follow the cursor, bad input is 400.
func TestAPIFindTickets(t *testing.T) {
	t.Parallel()
	c, _ := newAPI(t)
	subjects := []string{"ログインできません", "비밀번호를 잊어버렸습니다", "Invoice missing", "ログイン画面が真っ白", "Refund please"}
	var ids []any
	for i, s := range subjects {
		_, out := c.do("POST", "/api/v1/tickets", map[string]any{"service": "support", "subject": s, "customer_email": "c" + jsonNumber(int64(i)) + "@example.jp",
			"channel": []string{"email", "phone", "email", "chat", "email"}[i], "body": "本文 " + s})
		ids = append(ids, out["id"])
	}
	c.do("POST", "/api/v1/tickets/"+jsonNumber(int64(ids[1].(float64)))+"/assign", map[string]any{"operator": "lee", "group": "kr"})
	c.do("PUT", "/api/v1/tickets/"+jsonNumber(int64(ids[3].(float64)))+"/star", nil)

	find := func(query string) []any {
		t.Helper()
		status, out := c.do("GET", "/api/v1/tickets?"+query, nil)
		if status != 200 {
			t.Fatalf("%s: %d %v", query, status, out)
		}
		var got []any
		for _, x := range out["tickets"].([]any) {
			got = append(got, x.(map[string]any)["id"])
		}
		return got
	}
	for _, tc := range []struct {
		query string
		want  []any
	}{
		{"q=" + url.QueryEscape("ログイン"), []any{ids[3], ids[0]}},
		{"q=" + url.QueryEscape("비밀번호"), []any{ids[1]}},
		{"q=" + url.QueryEscape("ログイン") + "&channel=email", []any{ids[0]}},
		{"status=in_progress&assignee=lee&group=kr", []any{ids[1]}},
		{"status=unassigned,in_progress&starred=true", []any{ids[3]}},
		{"customer=C2@example.jp", []any{ids[2]}},
		{"transferred=true", nil},
		{"created_from=2000-01-01&created_to=2000-01-02", nil},
		{"q=" + url.QueryEscape("100%"), nil},
	} {
		if got := find(tc.query); !equalAny(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
		}
	}
	// Pages of two: newest first, every ticket once.
	var seen []any
	for cursor, pages := "", 0; ; pages++ {
		_, out := c.do("GET", "/api/v1/tickets?limit=2&cursor="+url.QueryEscape(cursor), nil)
		for _, x := range out["tickets"].([]any) {
			seen = append(seen, x.(map[string]any)["id"])
		}
		next, _ := out["next_cursor"].(string)
		if next == "" || pages > 5 {
			break
		}
		cursor = next
	}
	if !equalAny(seen, []any{ids[4], ids[3], ids[2], ids[1], ids[0]}) {
		t.Errorf("pages: %v", seen)
	}
	for _, q := range []string{"cursor=bogus", "status=open", "starred=maybe", "created_from=yesterday", "limit=0"} {
		if status, out := c.do("GET", "/api/v1/tickets?"+q, nil); status != 400 {
			t.Errorf("%s: %d %v, want 400", q, status, out)
		}
	}
}

func equalAny(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Failed work through the API: the mail that failed is listed, its ticket's
// address corrected, and it is run again; suppressions are listed and lifted.
func TestAPIFailedWorkAndSuppressions(t *testing.T) {
	t.Parallel()
	c, pool := newAPI(t)
	ctx := context.Background()
	_, out := c.do("POST", "/api/v1/tickets", map[string]any{"service": "support", "subject": "hello", "customer_email": "lee@exmaple.kr", "body": "hi"})
	path := ticketPath(out)
	c.do("POST", path+"/assign", map[string]any{"operator": "kim"})
	if status, out := c.do("POST", path+"/resolve", map[string]any{"note": "done"}); status != 200 {
		t.Fatalf("resolve: %d %v", status, out)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO failing_addresses (address, reason, created_at) VALUES ('lee@exmaple.kr', '5.1.2', now() + interval '1 second');
		UPDATE outbound_mails SET state = 'failed', last_error = '550 5.1.2 bad domain';
		UPDATE outbox SET enqueued_at = now(), done_at = now(), failed_at = now(), last_error = 'mail 1 to lee@exmaple.kr: 550'`); err != nil {
		t.Fatal(err)
	}
	status, out := c.do("GET", "/api/v1/outbox/failed", nil)
	rows, _ := out["outbox"].([]any)
	if status != 200 || len(rows) != 1 {
		t.Fatalf("outbox failed: %d %v", status, out)
	}
	outboxID := int64(rows[0].(map[string]any)["outbox_id"].(float64))
	status, out = c.do("GET", "/api/v1/outbound-mails/failed", nil)
	mails, _ := out["outbound_mails"].([]any)
	if status != 200 || len(mails) != 1 || mails[0].(map[string]any)["state"] != "failed" {
		t.Fatalf("outbound failed: %d %v", status, out)
	}
	mailID := int64(mails[0].(map[string]any)["id"].(float64))
	status, out = c.do("GET", "/api/v1/suppressions", nil)
	if list, _ := out["suppressions"].([]any); status != 200 || len(list) != 1 {
		t.Fatalf("suppressions: %d %v", status, out)
	}
	if status, out := c.do("PATCH", path, map[string]any{"customer_email": "lee@example.kr"}); status != 200 || out["customer_email"] != "lee@example.kr" {
		t.Fatalf("correct the address: %d %v", status, out)
	}
	status, out = c.do("POST", "/api/v1/outbound-mails/"+jsonNumber(mailID)+"/retry", map[string]any{})
	if status != 202 || out["outbox_id"] == nil {
		t.Fatalf("outbound retry: %d %v", status, out)
	}
	if status, out := c.do("POST", "/api/v1/outbox/"+jsonNumber(outboxID)+"/retry", map[string]any{}); status != 400 || errorCode(out) != "invalid_input" {
		t.Errorf("retrying the row the mail's retry replaced: %d %v", status, out)
	}
	if status, out := c.do("GET", "/api/v1/outbox/failed", nil); status != 200 || len(out["outbox"].([]any)) != 0 {
		t.Errorf("outbox failed after the retry: %d %v", status, out)
	}
	var recipient string
	var owed int
	if err := pool.QueryRow(ctx, `SELECT (SELECT recipient FROM outbound_mails), (SELECT count(*) FROM outbox WHERE kind = 'mail:send' AND enqueued_at IS NULL)`).Scan(&recipient, &owed); err != nil || recipient != "lee@example.kr" || owed != 1 {
		t.Errorf("after the retry: recipient %q, %d mail:send owed (%v)", recipient, owed, err)
	}
	if status, out := c.do("DELETE", "/api/v1/suppressions/"+url.PathEscape("LEE@exmaple.kr"), nil); status != 200 || out["address"] != "lee@exmaple.kr" {
		t.Errorf("unsuppress: %d %v", status, out)
	}
	if status, out := c.do("DELETE", "/api/v1/suppressions/nobody@example.kr", nil); status != 404 || errorCode(out) != "not_found" {
		t.Errorf("unsuppress unknown: %d %v", status, out)
	}
	if status, out := c.do("GET", "/api/v1/inbound-mails/failed?ignored=true", nil); status != 200 || len(out["inbound_mails"].([]any)) != 0 {
		t.Errorf("inbound failed: %d %v", status, out)
	}
	if status, out := c.do("POST", "/api/v1/inbound-mails/99/retry", map[string]any{}); status != 404 {
		t.Errorf("inbound retry of nothing: %d %v", status, out)
	}
	msgs := "/messages/1/unmask"
	if status, out := c.do("POST", path+msgs, map[string]any{}); status != 403 || errorCode(out) != "forbidden" {
		t.Errorf("unmask by an operator: %d %v", status, out)
	}
	if status, out := c.admin().do("POST", path+msgs, map[string]any{}); status != 503 || errorCode(out) != "no_mask_key" {
		t.Errorf("unmask without a key: %d %v", status, out)
	}
}
