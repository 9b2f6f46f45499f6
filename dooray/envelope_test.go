package dooray_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/contiple/contiple-worker/dooray"
	"github.com/google/go-cmp/cmp"
)

// canned serves fixed bodies, to decode the documentation's example bodies
// exactly as written (the fake renders its own).
func canned(t *testing.T, status int, body string, header map[string]string) *dooray.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	c, err := dooray.New(dooray.Config{BaseURL: srv.URL, Token: "canned-token", HTTPClient: srv.Client(), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEnvelopeDecodesDocumentedExamples(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("workflows with totalCount number", func(t *testing.T) {
		c := canned(t, 200, `{"header":{"isSuccessful":true,"resultCode":0,"resultMessage":""},"result":[
			{"id":"1","name":"Backlog","order":0,"names":[{"locale":"en_US","name":"Backlog"}],"class":"backlog"},
			{"id":"2","name":"To Do","order":100,"names":[],"class":"registered"},
			{"id":"3","name":"Doing","order":200,"names":[],"class":"working"},
			{"id":"4","name":"Done","order":400,"names":[],"class":"closed"}],"totalCount":4}`, nil)
		ws, err := c.Workflows(ctx, "3119639999175643633")
		if err != nil {
			t.Fatal(err)
		}
		var got []dooray.WorkflowClass
		for _, w := range ws {
			got = append(got, w.Class)
		}
		want := []dooray.WorkflowClass{dooray.Backlog, dooray.Registered, dooray.Working, dooray.Closed}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("classes (-want +got):\n%s", diff)
		}
		if w, _ := dooray.FirstOfClass(ws, dooray.Closed); w.ID != "4" {
			t.Errorf("FirstOfClass(closed) = %q", w.ID)
		}
	})

	t.Run("post list", func(t *testing.T) {
		c := canned(t, 200, `{"header":{"isSuccessful":true,"resultCode":0,"resultMessage":""},"totalCount":1,"result":[{"id":"4100000000000000001","subject":"[HD-12345] Printer",
			"project":{"id":"3119639999175643633","code":"helpdesk"},"taskNumber":"helpdesk/42","number":42,"closed":false,
			"workflowClass":"working","workflow":{"id":"3","name":"Doing"},"priority":"high",
			"users":{"from":{"type":"member","member":{"organizationmemberid":"3118892665733691672"}},"to":[{"type":"member","member":{"organizationMemberId":"3118892665733691672"},"workflow":{"id":"3","name":"Doing"}}],"cc":[]},
			"tags":[{"id":"4000000000000000001"}],"createdAt":"2026-10-01T09:00:00+09:00","updatedAt":"2026-10-01T10:00:00.123+09:00","someNewField":{"x":1}}]}`, nil)
		p, err := c.ListPosts(ctx, "3119639999175643633", dooray.PostFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if p.TotalCount != 1 || len(p.Items) != 1 || p.HasNext() {
			t.Fatalf("page = %+v", p)
		}
		post := p.Items[0]
		if post.ID != "4100000000000000001" || post.Number != 42 || post.WorkflowClass != dooray.Working ||
			post.Users.To[0].MemberID() != "3118892665733691672" || post.Users.To[0].Workflow.ID != "3" {
			t.Errorf("post = %+v", post)
		}
		// The doc's lower-case "organizationmemberid" typo still decodes.
		if post.Users.From.MemberID() != "3118892665733691672" {
			t.Errorf("from = %+v", post.Users.From.Member)
		}
		if post.UpdatedAt.Nanosecond() != 123e6 {
			t.Errorf("updatedAt = %v", post.UpdatedAt)
		}
	})

	t.Run("logs with totalCount string and numeric creator id", func(t *testing.T) {
		c := canned(t, 200, `{"header":{"isSuccessful":true,"resultCode":0,"resultMessage":""},"totalCount":"2","result":[
			{"id":"4100000000000000077","post":{"id":"4100000000000000001"},"type":"comment","subtype":"general","createdAt":"2026-10-01T09:00:00+09:00",
			 "creator":{"type":"member","member":{"organizationMemberId":1}},"body":{"mimeType":"text/x-markdown","content":"hi"}},
			{"id":4100000000000000078,"post":{"id":"4100000000000000001"},"type":"comment","subtype":"from_email","createdAt":"2026-10-01T09:00:00.5+09:00",
			 "creator":{"type":"emailUser","emailUser":{"emailAddress":"vendor@example.com","name":"Vendor"}},"body":{"mimeType":"text/html","content":"<p>ok</p>"}}]}`, nil)
		p, err := c.ListLogs(ctx, "1", "4100000000000000001", dooray.LogFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if p.TotalCount != 2 {
			t.Errorf("totalCount = %d", p.TotalCount)
		}
		if got := p.Items[0].Creator.MemberID(); got != "1" {
			t.Errorf("creator = %q", got)
		}
		if got := p.Items[1].ID; got != "4100000000000000078" {
			t.Errorf("numeric 19-digit id = %q", got)
		}
		if got := p.Items[1].Creator.EmailUser.EmailAddress; got != "vendor@example.com" {
			t.Errorf("email creator = %q", got)
		}
	})

	t.Run("create returns id", func(t *testing.T) {
		c := canned(t, 200, `{"header":{"isSuccessful":true,"resultCode":0,"resultMessage":""},"result":{"id":"4100000000000000001"}}`, nil)
		id, err := c.CreatePost(ctx, "3119639999175643633", dooray.NewPost{Subject: "[HD-12345] Printer on floor 3 down"})
		if err != nil || id != "4100000000000000001" {
			t.Fatalf("CreatePost = %q, %v", id, err)
		}
	})
}
