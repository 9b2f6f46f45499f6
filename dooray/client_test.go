package dooray_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contiple/contiple-worker/dooray"
	"github.com/contiple/contiple-worker/dooray/dooraytest"
	"github.com/google/go-cmp/cmp"
)

func newFake(t *testing.T, cfg dooray.Config, opts ...dooraytest.Option) (*dooraytest.Server, *dooray.Client) {
	t.Helper()
	s := dooraytest.NewServer(opts...)
	t.Cleanup(s.Close)
	cfg.BaseURL, cfg.HTTPClient = s.URL, s.Client()
	if cfg.Token == "" {
		cfg.Token = s.Token()
	}
	c, err := dooray.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func TestMeProjectsWorkflows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, c := newFake(t, dooray.Config{})
	me, err := c.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if me.ID != dooray.ID(s.BotMemberID()) || len(me.ID) != 19 {
		t.Errorf("Me().ID = %q, want 19-digit %q", me.ID, s.BotMemberID())
	}
	other := s.AddProject("vendor")
	page, err := c.ListProjects(ctx, dooray.ProjectFilter{Member: "me"})
	if err != nil {
		t.Fatal(err)
	}
	if page.TotalCount != 2 || len(page.Items) != 2 || page.Items[1].ID != dooray.ID(other) {
		t.Errorf("ListProjects = %+v", page)
	}
	p, err := c.GetProject(ctx, dooray.ID(s.ProjectID()))
	if err != nil || p.Code != "helpdesk" {
		t.Errorf("GetProject = %+v, %v", p, err)
	}
	ws, err := c.Workflows(ctx, dooray.ID(s.ProjectID()))
	if err != nil {
		t.Fatal(err)
	}
	for _, class := range []dooray.WorkflowClass{dooray.Backlog, dooray.Registered, dooray.Working, dooray.Closed} {
		w, ok := dooray.FirstOfClass(ws, class)
		if !ok || w.ID != dooray.ID(s.WorkflowID(s.ProjectID(), string(class))) || len(w.Names) != 4 {
			t.Errorf("workflow of class %s = %+v", class, w)
		}
	}
	if _, err := c.GetProject(ctx, "4199999999999999999"); !dooray.IsNotFound(err) {
		t.Errorf("unknown project: %v, want 404", err)
	}
}

func TestBadTokenIs401(t *testing.T) {
	t.Parallel()
	_, c := newFake(t, dooray.Config{Token: "wrong-token"})
	_, err := c.Me(context.Background())
	if !dooray.IsUnauthorized(err) || dooray.IsRetryable(err) {
		t.Fatalf("err = %v, want a permanent 401", err)
	}
}

func TestCreateAndGetPost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, c := newFake(t, dooray.Config{})
	pid := dooray.ID(s.ProjectID())
	due := time.Date(2026, 10, 8, 18, 0, 0, 0, time.FixedZone("", 9*3600))
	id, err := c.CreatePost(ctx, pid, dooray.NewPost{
		Subject:  "[CT-1] Printer on floor 3 down",
		Body:     &dooray.Body{MimeType: dooray.Markdown, Content: "Escalated from helpdesk"},
		Users:    dooray.Users{To: []dooray.User{dooray.Member(dooray.ID(s.OtherMemberID())), dooray.Email("vendor@example.com", "Vendor")}},
		DueDate:  &due,
		Priority: dooray.PriorityHigh,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, project := range []dooray.ID{pid, ""} {
		p, err := c.GetPost(ctx, project, id)
		if err != nil {
			t.Fatal(err)
		}
		got := []string{string(p.ID), p.Subject, p.TaskNumber, string(p.WorkflowClass), string(p.Priority),
			p.Body.Content, string(p.Users.From.MemberID()), string(p.Users.To[0].MemberID()),
			p.Users.To[1].EmailUser.EmailAddress, string(p.Users.To[0].Workflow.ID)}
		want := []string{string(id), "[CT-1] Printer on floor 3 down", "helpdesk/1", "registered", "high",
			"Escalated from helpdesk", s.BotMemberID(), s.OtherMemberID(), "vendor@example.com",
			s.WorkflowID(s.ProjectID(), "registered")}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GetPost(%q) (-want +got):\n%s", project, diff)
		}
		if !p.DueDate.Equal(due) || p.Closed {
			t.Errorf("dueDate %v closed %v", p.DueDate, p.Closed)
		}
	}
	if _, err := c.CreatePost(ctx, pid, dooray.NewPost{Subject: "x",
		Users: dooray.Users{To: []dooray.User{dooray.Member("4199999999999999999")}}}); err == nil || dooray.IsRetryable(err) {
		t.Errorf("unknown assignee: %v, want a permanent error", err)
	}
}

func TestPagingOver250Posts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, c := newFake(t, dooray.Config{})
	pid := s.ProjectID()
	for i := range 250 {
		if _, err := s.AddPost(pid, dooraytest.Seed{Subject: fmt.Sprintf("[CT-%d] post", i)}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[dooray.ID]bool{}
	for p, err := range c.AllPosts(ctx, dooray.ID(pid), dooray.PostFilter{Order: dooray.OrderCreated}) {
		if err != nil {
			t.Fatal(err)
		}
		seen[p.ID] = true
	}
	if len(seen) != 250 {
		t.Errorf("AllPosts saw %d distinct posts, want 250", len(seen))
	}
	if n := s.Requests()[dooraytest.RouteListPosts]; n != 3 {
		t.Errorf("list requests = %d, want 3 pages of 100", n)
	}
	// Sizes over the documented maximum are clamped, not sent (the fake rejects them).
	page, err := c.ListPosts(ctx, dooray.ID(pid), dooray.PostFilter{Page: 2, Size: 500})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 50 || page.TotalCount != 250 || page.HasNext() {
		t.Errorf("page 2 of 100: %d items, total %d, hasNext %v", len(page.Items), page.TotalCount, page.HasNext())
	}
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, c := newFake(t, dooray.Config{})
	pid := s.ProjectID()
	add := func(seed dooraytest.Seed) string {
		id, err := s.AddPost(pid, seed)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	a := add(dooraytest.Seed{Subject: "[CT-1] printer"})
	b := add(dooraytest.Seed{Subject: "[CT-2] network", Class: "working"})
	cc := add(dooraytest.Seed{Subject: "[CT-3] mail", From: s.OtherMemberID()})
	d := add(dooraytest.Seed{Subject: "[CT-4] done", Class: "closed", To: []string{s.OtherMemberID()}})

	time.Sleep(5 * time.Millisecond)
	before := time.Now()
	time.Sleep(5 * time.Millisecond)
	if err := s.MovePost(pid, a, "working"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	after := time.Now()

	tests := []struct {
		name string
		f    dooray.PostFilter
		want []string
	}{
		{"classes", dooray.PostFilter{WorkflowClasses: []dooray.WorkflowClass{dooray.Registered, dooray.Working}, Order: dooray.OrderCreated}, []string{a, b, cc}},
		{"from bot", dooray.PostFilter{FromMemberIDs: []dooray.ID{dooray.ID(s.BotMemberID())}, Order: dooray.OrderCreated}, []string{a, b, d}},
		{"to member", dooray.PostFilter{ToMemberIDs: []dooray.ID{dooray.ID(s.OtherMemberID())}}, []string{d}},
		{"subject marker", dooray.PostFilter{Subjects: "CT-3"}, []string{cc}},
		{"updatedAt range", dooray.PostFilter{UpdatedAt: dooray.DateRange(before, after)}, []string{a}},
		{"recently updated first", dooray.PostFilter{Order: dooray.OrderUpdatedDesc, Size: 2}, []string{a, d}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := c.ListPosts(ctx, dooray.ID(pid), tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range page.Items {
				got = append(got, string(p.ID))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetWorkflowAndDone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, c := newFake(t, dooray.Config{})
	pid := dooray.ID(s.ProjectID())
	id, err := c.CreatePost(ctx, pid, dooray.NewPost{Subject: "[CT-9] x",
		Users: dooray.Users{To: []dooray.User{dooray.Member(dooray.ID(s.OtherMemberID()))}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetWorkflow(ctx, pid, id, dooray.ID(s.WorkflowID(s.ProjectID(), "working"))); err != nil {
		t.Fatal(err)
	}
	p, err := c.GetPost(ctx, pid, id)
	if err != nil || p.WorkflowClass != dooray.Working || p.Users.To[0].Workflow.ID != p.Workflow.ID {
		t.Errorf("after set-workflow: %+v, %v", p, err)
	}
	if err := c.SetDone(ctx, pid, id); err != nil {
		t.Fatal(err)
	}
	if info, _ := s.Post(string(id)); info.Class != "closed" {
		t.Errorf("after set-done: class %q", info.Class)
	}
	if err := c.SetWorkflow(ctx, pid, id, "4199999999999999999"); err == nil || dooray.IsRetryable(err) {
		t.Errorf("foreign workflow: %v, want a permanent error", err)
	}
}

func TestLogs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, c := newFake(t, dooray.Config{})
	pid := dooray.ID(s.ProjectID())
	post, err := s.AddPost(s.ProjectID(), dooraytest.Seed{Subject: "[CT-5] logs"})
	if err != nil {
		t.Fatal(err)
	}
	mine, err := c.CreateLog(ctx, pid, dooray.ID(post), dooray.NewLog{Body: dooray.Body{Content: "Customer replied"}})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := s.AddComment(s.ProjectID(), post, "Fixed, please check")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddEmailReply(s.ProjectID(), post, "vendor@example.com", "Vendor", "Shipped"); err != nil {
		t.Fatal(err)
	}
	type row struct{ ID, Author, Subtype, Content string }
	var got []row
	for l, err := range c.AllLogs(ctx, pid, dooray.ID(post), dooray.LogFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		author := string(l.Creator.MemberID())
		if l.Creator.EmailUser != nil {
			author = l.Creator.EmailUser.EmailAddress
		}
		got = append(got, row{string(l.ID), author, l.Subtype, l.Body.Content})
	}
	want := []row{
		{string(mine), s.BotMemberID(), "general", "Customer replied"},
		{theirs, s.OtherMemberID(), "general", "Fixed, please check"},
		{got[len(got)-1].ID, "vendor@example.com", "from_email", "Shipped"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("logs (-want +got):\n%s", diff)
	}
	newest, err := c.ListLogs(ctx, pid, dooray.ID(post), dooray.LogFilter{Order: "-createdAt", Size: 1})
	if err != nil || newest.TotalCount != 3 || !newest.HasNext() || newest.Items[0].Subtype != dooray.SubtypeFromEmail {
		t.Errorf("newest first: %+v, %v", newest, err)
	}
}

func TestUploadFollows307WithAuthorization(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, c := newFake(t, dooray.Config{})
	pid := dooray.ID(s.ProjectID())
	post, _ := s.AddPost(s.ProjectID(), dooraytest.Seed{Subject: "[CT-6] file"})
	fileID, err := c.UploadFile(ctx, pid, dooray.ID(post), "screen shot.png", "image/png", strings.NewReader("PNG…"))
	if err != nil {
		t.Fatal(err)
	}
	name, data, ok := s.File(string(fileID))
	if !ok || name != "screen shot.png" || string(data) != "PNG…" {
		t.Errorf("stored file %q %q %v", name, data, ok)
	}
	reqs := s.Requests()
	if reqs[dooraytest.RouteUpload] != 1 || reqs[dooraytest.RouteUploadTarget] != 1 {
		t.Errorf("requests = %v", reqs)
	}
	if _, err := c.CreateLog(ctx, pid, dooray.ID(post), dooray.NewLog{
		Body: dooray.Body{Content: "see attachment"}, AttachFileIDs: []dooray.ID{fileID}}); err != nil {
		t.Fatal(err)
	}
	if cs := s.Comments(post); len(cs) != 1 || !slices.Equal(cs[0].Files, []string{string(fileID)}) {
		t.Errorf("comments = %+v", cs)
	}
	p, err := c.GetPost(ctx, pid, dooray.ID(post))
	if err != nil || len(p.Files) != 1 || p.Files[0].Size != int64(len("PNG…")) {
		t.Errorf("post files = %+v, %v", p.Files, err)
	}
}

func TestRetriesAndAmbiguousCreates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("GET retried after 500s", func(t *testing.T) {
		t.Parallel()
		s, c := newFake(t, dooray.Config{})
		s.FailNext(2, 500)
		if _, err := c.Me(ctx); err != nil {
			t.Fatal(err)
		}
		if n := s.Requests()[dooraytest.RouteMe]; n != 3 {
			t.Errorf("requests = %d, want 3", n)
		}
	})

	t.Run("create not retried after 500", func(t *testing.T) {
		t.Parallel()
		s, c := newFake(t, dooray.Config{})
		s.FailNext(1, 500)
		_, err := c.CreatePost(ctx, dooray.ID(s.ProjectID()), dooray.NewPost{Subject: "[CT-7] x"})
		if !dooray.IsAmbiguous(err) || !dooray.IsRetryable(err) {
			t.Errorf("err = %v, want retryable and ambiguous", err)
		}
		if n := s.Requests()[dooraytest.RouteCreatePost]; n != 1 {
			t.Errorf("create requests = %d, want 1", n)
		}
	})

	t.Run("applied but connection dropped: reconcile by marker", func(t *testing.T) {
		t.Parallel()
		s, c := newFake(t, dooray.Config{})
		pid := dooray.ID(s.ProjectID())
		s.FailNextAfterApply(1, 0)
		_, err := c.CreatePost(ctx, pid, dooray.NewPost{Subject: "[CT-8] lost answer"})
		if !dooray.IsAmbiguous(err) {
			t.Fatalf("err = %v, want ambiguous", err)
		}
		page, err := c.ListPosts(ctx, pid, dooray.PostFilter{Subjects: "[CT-8]",
			FromMemberIDs: []dooray.ID{dooray.ID(s.BotMemberID())}, CreatedAt: "prev-2d", Order: dooray.OrderCreatedDesc})
		if err != nil || len(page.Items) != 1 {
			t.Fatalf("reconcile found %+v, %v", page.Items, err)
		}
		if n := s.Requests()[dooraytest.RouteCreatePost]; n != 1 {
			t.Errorf("create requests = %d, want 1", n)
		}
	})

	t.Run("timeout while the server still applies", func(t *testing.T) {
		t.Parallel()
		s, c := newFake(t, dooray.Config{})
		s.Inject(dooraytest.Fault{Route: dooraytest.RouteCreatePost, Delay: 300 * time.Millisecond})
		tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err := c.CreatePost(tctx, dooray.ID(s.ProjectID()), dooray.NewPost{Subject: "[CT-10] slow"})
		if !dooray.IsAmbiguous(err) {
			t.Fatalf("err = %v, want ambiguous", err)
		}
		deadline := time.Now().Add(2 * time.Second)
		for len(s.Posts(s.ProjectID())) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := len(s.Posts(s.ProjectID())); n != 1 {
			t.Errorf("posts after the slow create = %d, want 1", n)
		}
	})

	t.Run("429 is retried even for creates: nothing was applied", func(t *testing.T) {
		t.Parallel()
		s, c := newFake(t, dooray.Config{}, dooraytest.WithRateLimit(1, 1))
		pid := dooray.ID(s.ProjectID())
		if _, err := c.CreatePost(ctx, pid, dooray.NewPost{Subject: "[CT-11] a"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreatePost(ctx, pid, dooray.NewPost{Subject: "[CT-11] b"}); err != nil {
			t.Fatal(err)
		}
		if s.Throttled() == 0 || len(s.Posts(s.ProjectID())) != 2 {
			t.Errorf("throttled %d, posts %d", s.Throttled(), len(s.Posts(s.ProjectID())))
		}
	})
}

func TestRegisterHook(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, c := newFake(t, dooray.Config{})
	url := "https://bridge.example.com/webhooks/dooray/secret-path"
	id, err := c.RegisterHook(ctx, dooray.ID(s.ProjectID()), dooray.HookRegistration{
		URL: url, Type: dooray.HookTypeTask,
		SendEvents: []string{dooray.EventPostWorkflowChanged, dooray.EventPostCommentCreated},
	})
	if err != nil || id == "" {
		t.Fatalf("RegisterHook = %q, %v", id, err)
	}
	if got := s.Hooks(s.ProjectID()); !slices.Equal(got, []string{url}) {
		t.Errorf("hooks = %v", got)
	}
	_, err = c.RegisterHook(ctx, dooray.ID(s.ProjectID()), dooray.HookRegistration{URL: url, SendEvents: []string{"bogus"}})
	if err == nil || dooray.IsRetryable(err) {
		t.Errorf("bogus event: %v, want a permanent error", err)
	}
}

func TestRedirectToForeignHostKeepsToken(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var leaked []string
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		leaked = append(leaked, r.Header.Get("Authorization"))
		mu.Unlock()
	}))
	defer foreign.Close()
	_, port, _ := net.SplitHostPort(foreign.Listener.Addr().String())
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost:"+port+"/uploads/x", http.StatusTemporaryRedirect)
	}))
	defer api.Close()
	c, err := dooray.New(dooray.Config{BaseURL: api.URL, Token: "t0ken", HTTPClient: api.Client()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UploadFile(context.Background(), "1", "2", "a.txt", "text/plain", strings.NewReader("a"))
	if err == nil || dooray.IsRetryable(err) {
		t.Errorf("err = %v, want a permanent refusal", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(leaked) != 0 {
		t.Errorf("foreign host received %d requests (Authorization %q)", len(leaked), leaked)
	}
}

func TestPostsChangedInTheWebUI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, c := newFake(t, dooray.Config{})
	pid := dooray.ID(s.ProjectID())
	gone, _ := s.AddPost(s.ProjectID(), dooraytest.Seed{Subject: "[CT-30] deleted"})
	moved, _ := s.AddPost(s.ProjectID(), dooraytest.Seed{Subject: "[CT-31] moved", Class: "working"})
	vendor := s.AddProject("vendor")

	if err := s.DeletePost(s.ProjectID(), gone); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetPost(ctx, pid, dooray.ID(gone)); !dooray.IsNotFound(err) {
		t.Errorf("deleted post: %v, want 404", err)
	}
	if err := s.MovePostToProject(moved, vendor); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetPost(ctx, pid, dooray.ID(moved)); !dooray.IsNotFound(err) {
		t.Errorf("moved post under its old project: %v, want 404", err)
	}
	p, err := c.GetPost(ctx, "", dooray.ID(moved))
	if err != nil || p.Project.ID != dooray.ID(vendor) || p.WorkflowClass != dooray.Working || p.TaskNumber != "vendor/1" {
		t.Errorf("moved post by id: %+v, %v", p, err)
	}
}
