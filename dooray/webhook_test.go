package dooray_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/contiple/contiple-worker/dooray"
	"github.com/contiple/contiple-worker/dooray/dooraytest"
	"github.com/google/go-cmp/cmp"
)

func TestDecodeHook(t *testing.T) {
	t.Parallel()
	workflowChanged := `{ "hookEventType":"postWorkflowChanged","webhookType":"postWorkflowChanged","version":2,
	  "workflow":{"id":"4","names":[{"locale":"en_US","name":"Done"}],"class":"closed"},
	  "post":{"id":"4100000000000000001","subject":"[HD-12345] ...","number":42},
	  "project":{"id":"3119639999175643633","code":"helpdesk"},"tenant":{"id":"1"},
	  "source":{"type":"member","member":{"id":"3118892665733691672","name":"Kim","userCode":"kim","emailAddress":"kim@corp.example"}},
	  "requestOrigin":{"type":"open-api"},"titleLink":"https://corp.dooray.com/project/tasks/4100000000000000001",
	  "somethingNew":[1,2,3] }`
	h, err := dooray.DecodeHook([]byte(workflowChanged))
	if err != nil {
		t.Fatal(err)
	}
	got := []string{h.EventType, string(h.Post.ID), string(h.Workflow.Class), string(h.Source.MemberID()), string(h.Project.ID)}
	want := []string{dooray.EventPostWorkflowChanged, "4100000000000000001", "closed", "3118892665733691672", "3119639999175643633"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if h.Version != 2 || !h.FromAPI() || h.Post.Number != 42 {
		t.Errorf("version %d, fromAPI %v, number %d", h.Version, h.FromAPI(), h.Post.Number)
	}

	tests := []struct {
		name, body  string
		event       string
		version     int
		commentFrom dooray.ID
	}{
		{"documented hookVersion", `{"hookEventType":"postCommentCreated","hookVersion":2,"post":{"id":1},
			"comment":{"id":"9","subtype":"general","createdAt":"2022-01-02T12:00:26.453+09:00","body":{"mimeType":"text/x-markdown","content":"hi"},
			"creator":{"type":"member","member":{"organizationMemberId":3118892665733691672,"name":"Kim"}}}}`,
			dooray.EventPostCommentCreated, 2, "3118892665733691672"},
		{"webhookType only, version as string", `{"webhookType":"postCreated","version":"2","post":{"id":"5","number":"oops"}}`,
			dooray.EventPostCreated, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := dooray.DecodeHook([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if h.EventType != tt.event || h.Version != tt.version || h.FromAPI() {
				t.Errorf("event %q version %d fromAPI %v", h.EventType, h.Version, h.FromAPI())
			}
			if tt.commentFrom != "" && (h.Comment == nil || h.Comment.Creator.MemberID() != tt.commentFrom) {
				t.Errorf("comment = %+v", h.Comment)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `{"post":{"id":"1"}}`, `{"hookEventType":`} {
		if _, err := dooray.DecodeHook([]byte(bad)); !errors.Is(err, dooray.ErrMalformedHook) {
			t.Errorf("%q: err = %v, want ErrMalformedHook", bad, err)
		}
	}
}

// TestFakeHooksDecode runs the fake's emitted payloads through DecodeHook: a
// human's move and comment, and the bot's own change via the API (loop guard).
func TestFakeHooksDecode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var mu sync.Mutex
	var hooks []dooray.Hook
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h, err := dooray.DecodeHook(body)
		if err != nil {
			t.Errorf("DecodeHook: %v", err)
		}
		mu.Lock()
		hooks = append(hooks, h)
		mu.Unlock()
	}))
	defer recv.Close()

	for _, opts := range [][]dooraytest.Option{nil, {dooraytest.WithDocumentedHookVersion()}} {
		mu.Lock()
		hooks = nil
		mu.Unlock()
		s, c := newFake(t, dooray.Config{}, opts...)
		s.HookTarget(recv.URL)
		pid := dooray.ID(s.ProjectID())
		post, err := c.CreatePost(ctx, pid, dooray.NewPost{Subject: "[CT-20] hooks", Body: &dooray.Body{MimeType: dooray.Markdown, Content: "b"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.MovePost(s.ProjectID(), string(post), "working"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddComment(s.ProjectID(), string(post), "on it"); err != nil {
			t.Fatal(err)
		}
		s.Close() // waits for the create's hook, sent after its answer

		type row struct {
			Event, Source string
			FromAPI       bool
			Version       int
			Detail        string
		}
		var got []row
		mu.Lock()
		for _, h := range hooks {
			r := row{h.EventType, string(h.Source.MemberID()), h.FromAPI(), h.Version, ""}
			switch {
			case h.Workflow != nil:
				r.Detail = string(h.Workflow.Class)
			case h.Comment != nil:
				r.Detail = h.Comment.Body.Content
			case h.Post.Body != nil:
				r.Detail = h.Post.Body.Content
			}
			if h.Post.ID != post {
				t.Errorf("%s for post %q, want %q", h.EventType, h.Post.ID, post)
			}
			got = append(got, r)
		}
		mu.Unlock()
		want := []row{
			{dooray.EventPostCreated, s.BotMemberID(), true, 2, "b"},
			{dooray.EventPostWorkflowChanged, s.OtherMemberID(), false, 2, "working"},
			{dooray.EventPostCommentCreated, s.OtherMemberID(), false, 2, "on it"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("hooks %v (-want +got):\n%s", opts != nil, diff)
		}
	}
}

func TestEmitHook(t *testing.T) {
	t.Parallel()
	got := make(chan dooray.Hook, 1)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("content type %q", r.Header.Get("Content-Type"))
		}
		body, _ := io.ReadAll(r.Body)
		h, err := dooray.DecodeHook(body)
		if err != nil {
			t.Error(err)
		}
		got <- h
	}))
	defer recv.Close()
	err := dooraytest.EmitHook(context.Background(), recv.URL, map[string]any{
		"hookEventType": "postCommentCreated", "webhookType": "postCommentCreated", "version": 2,
		"post": map[string]any{"id": "4100000000000000001"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if h := <-got; h.EventType != dooray.EventPostCommentCreated {
		t.Errorf("event %q", h.EventType)
	}
}
