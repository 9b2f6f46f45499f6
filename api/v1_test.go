package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/jobs"
	"github.com/contiple/contiple-worker/mailer"
	"github.com/contiple/contiple-worker/ticket"
)

// TestOpenAPIDocumentIsTrue checks the served document against the code: the
// same operations, and the same fields in the objects the API returns.
func TestOpenAPIDocumentIsTrue(t *testing.T) {
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	var inCode, inDoc []string
	for _, rt := range allRoutes() {
		inCode = append(inCode, strings.ToLower(rt.method)+" "+rt.path)
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			inDoc = append(inDoc, method+" "+path)
		}
	}
	slices.Sort(inCode)
	slices.Sort(inDoc)
	if !slices.Equal(inCode, inDoc) {
		t.Errorf("operations differ:\ncode %v\ndoc  %v", inCode, inDoc)
	}
	for name, typ := range map[string]reflect.Type{
		"Ticket": reflect.TypeFor[ticket.Ticket](), "Message": reflect.TypeFor[ticket.Message](),
		"Event": reflect.TypeFor[ticket.Event](), "Mask": reflect.TypeFor[ticket.Mask](),
		"Preview": reflect.TypeFor[jobs.MailPreview](), "Hit": reflect.TypeFor[mailer.Hit](),
		"TicketList": reflect.TypeFor[ticket.Page](), "Board": reflect.TypeFor[ticket.Board](),
		"MyBoard": reflect.TypeFor[ticket.MyBoard](), "BoardView": reflect.TypeFor[BoardView](),
		"InboundMail": reflect.TypeFor[ticket.InboundMail](), "OutboundProblem": reflect.TypeFor[ticket.OutboundProblem](),
		"FailedWork": reflect.TypeFor[ticket.FailedWork](), "Suppression": reflect.TypeFor[ticket.Suppression](),
	} {
		var fields, documented []string
		for f := range typ.Fields() {
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if tag != "" && tag != "-" {
				fields = append(fields, tag)
			}
		}
		for p := range doc.Components.Schemas[name].Properties {
			documented = append(documented, p)
		}
		slices.Sort(fields)
		slices.Sort(documented)
		if !slices.Equal(fields, documented) {
			t.Errorf("schema %s: code has %v, document has %v", name, fields, documented)
		}
	}
}

type apiClient struct {
	t     *testing.T
	base  string
	token string
}

func (c apiClient) do(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, r)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		c.t.Fatalf("%s %s: response is not a JSON object: %v", method, path, err)
	}
	return resp.StatusCode, out
}

func errorCode(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func newAPI(t *testing.T) (apiClient, *pgxpool.Pool) {
	t.Helper()
	pool := testenv.NewDatabase(t)
	store := ticket.NewStore(pool, nil)
	if err := store.SyncServices(context.Background(), []ticket.ServiceDef{{Key: "support", Name: "Support",
		Address: "support@example.test", Locale: "en", ForbiddenWords: []string{"guarantee"}}}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	(&V1{Store: store, Tokens: []Token{{Name: "helpdesk", Role: RoleOperator, Secret: "op-t0ken"},
		{Name: "lead", Role: RoleAdministrator, Secret: "admin-t0ken"}},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Replies: jobs.NewOutbound(store)}).Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return apiClient{t: t, base: srv.URL, token: "op-t0ken"}, pool
}

// admin is the same client with the administrator's token.
func (c apiClient) admin() apiClient { c.token = "admin-t0ken"; return c }

func TestAPITicketLifecycleAndErrors(t *testing.T) {
	t.Parallel()
	c, pool := newAPI(t)

	if status, out := (apiClient{t: t, base: c.base, token: "wrong"}).do("GET", "/api/v1/tickets", nil); status != 401 || errorCode(out) != "unauthorized" {
		t.Errorf("wrong token: %d %v", status, out)
	}
	status, out := c.do("POST", "/api/v1/tickets", map[string]any{"service": "support", "subject": "電話での問い合わせ",
		"customer_email": "tanaka@example.jp", "channel": "phone", "body": "折り返し希望"})
	if status != 201 || out["status"] != "unassigned" || out["channel"] != "phone" {
		t.Fatalf("create: %d %v", status, out)
	}
	id := int64(out["id"].(float64))
	path := "/api/v1/tickets/" + jsonNumber(id)

	for _, step := range []struct {
		op     string
		body   map[string]any
		status int
		want   string // status of the ticket, or error code
	}{
		{"/complete", map[string]any{}, 409, "transition_refused"},
		{"/assign", map[string]any{"operator": "sato"}, 200, "in_progress"},
		{"/comment", map[string]any{"note": "called back"}, 200, "in_progress"},
		{"/comment", map[string]any{"nope": 1}, 400, "bad_request"},
		{"/comment", map[string]any{"note": " "}, 400, "invalid_input"},
		{"/escalate", map[string]any{"project_id": "1", "content": "please check"}, 200, "in_progress"},
		{"/escalate", map[string]any{"project_id": "1", "content": "please check"}, 409, "escalation_pending"},
		{"/dooray-comment", map[string]any{"text": "more"}, 409, "transition_refused"},
		{"/internal-resolve", map[string]any{"spam": true}, 200, "spam"},
		{"/restore", map[string]any{}, 200, "in_progress"},
		{"/internal-resolve", map[string]any{"note": "solved by phone"}, 200, "resolved"},
		{"/complete", map[string]any{}, 200, "completed"},
	} {
		cl := c
		if step.op == "/restore" || step.op == "/complete" {
			cl = c.admin()
		}
		status, out := cl.do("POST", path+step.op, step.body)
		got := errorCode(out)
		if got == "" {
			got, _ = out["status"].(string)
		}
		if status != step.status || got != step.want {
			t.Errorf("%s %v: %d %v, want %d %s", step.op, step.body, status, out, step.status, step.want)
		}
	}
	status, out = c.do("GET", path, nil)
	if status != 200 {
		t.Fatalf("show: %d %v", status, out)
	}
	msgs := out["messages"].([]any)
	events := out["events"].([]any)
	if len(msgs) != 4 || len(events) != 8 {
		t.Errorf("%d messages, %d events", len(msgs), len(events))
	}
	var outbox int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM outbox WHERE kind = 'dooray:escalate'").Scan(&outbox); err != nil || outbox != 1 {
		t.Errorf("escalate owed %d tasks (%v)", outbox, err)
	}

	msgID := int64(msgs[0].(map[string]any)["id"].(float64))
	if status, out := c.do("POST", path+"/messages/"+jsonNumber(msgID)+"/masks", map[string]any{"from": 0, "to": 2}); status != 201 || out["recoverable"] != false {
		t.Errorf("mask: %d %v", status, out)
	}
	if status, out := c.do("GET", "/api/v1/tickets/999999", nil); status != 404 || errorCode(out) != "not_found" {
		t.Errorf("missing: %d %v", status, out)
	}
	if status, out := c.do("GET", "/api/v1/tickets/abc", nil); status != 400 || errorCode(out) != "bad_request" {
		t.Errorf("bad id: %d %v", status, out)
	}
	if status, out := c.do("GET", "/api/v1/tickets?status=completed", nil); status != 200 || len(out["tickets"].([]any)) != 1 {
		t.Errorf("list: %d %v", status, out)
	}
	if status, out := c.do("GET", "/api/v1/tickets?status=bogus", nil); status != 400 || errorCode(out) != "bad_request" {
		t.Errorf("bad filter: %d %v", status, out)
	}
}

func jsonNumber(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestAPIResolveRefusesForbiddenWordsUntilForced(t *testing.T) {
	t.Parallel()
	c, pool := newAPI(t)
	_, out := c.do("POST", "/api/v1/tickets", map[string]any{"service": "support", "subject": "refund",
		"customer_email": "lee@example.kr", "customer_name": "Lee"})
	path := "/api/v1/tickets/" + jsonNumber(int64(out["id"].(float64)))
	c.do("POST", path+"/assign", map[string]any{"operator": "kim"})

	status, out := c.do("POST", path+"/preview", map[string]any{"action": "resolve", "note": "We GUARANTEE a refund."})
	hits, _ := out["forbidden_words"].([]any)
	if status != 200 || len(hits) != 2 || !strings.Contains(out["text"].(string), "GUARANTEE a refund") || out["to"] == "" {
		t.Fatalf("preview: %d %v", status, out)
	}
	status, out = c.do("POST", path+"/resolve", map[string]any{"note": "We GUARANTEE a refund."})
	if status != 422 || errorCode(out) != "forbidden_words" {
		t.Fatalf("resolve with a forbidden word: %d %v", status, out)
	}
	var owed int
	pool.QueryRow(context.Background(), "SELECT count(*) FROM outbound_mails").Scan(&owed)
	if owed != 0 {
		t.Fatalf("a refused resolve owed %d mails", owed)
	}
	if status, out = c.do("POST", path+"/resolve", map[string]any{"note": "We GUARANTEE a refund.", "force": true}); status != 200 || out["status"] != "resolved" {
		t.Fatalf("forced resolve: %d %v", status, out)
	}
	if status, out = c.do("POST", path+"/hold", map[string]any{"note": "wait"}); status != 409 || errorCode(out) != "transition_refused" {
		t.Errorf("hold after resolve: %d %v", status, out)
	}
	pool.QueryRow(context.Background(), "SELECT count(*) FROM outbox WHERE kind = 'mail:send'").Scan(&owed)
	if owed != 1 {
		t.Errorf("%d mail:send owed, want 1", owed)
	}
}
