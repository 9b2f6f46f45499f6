package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/contiple/contiple-worker/dooray"
	"github.com/contiple/contiple-worker/dooray/dooraytest"
	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/ticket"
)

// doorayEnv is one test's world: a database, the fake, a client over real HTTP
// and the handlers.
type doorayEnv struct {
	pool  *pgxpool.Pool
	store *ticket.Store
	fake  *dooraytest.Server
	api   *dooray.Client
	h     *Dooray
	queue *doorayRecorder
}

type doorayEnvOpts struct {
	clock   *doorayClock // the fake's clock; default real time
	fake    []dooraytest.Option
	timeout time.Duration // HTTP client timeout (default 5s)
	limiter dooray.Limiter
	settle  time.Duration // default 300ms
	noBot   bool          // leave BotMemberID empty: the handlers ask Me
}

// doorayRecorder is an Enqueuer that keeps the tasks instead of queueing them.
type doorayRecorder struct {
	mu    sync.Mutex
	tasks []*asynq.Task
}

func (r *doorayRecorder) EnqueueContext(_ context.Context, t *asynq.Task, _ ...asynq.Option) (*asynq.TaskInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tasks = append(r.tasks, t)
	return &asynq.TaskInfo{}, nil
}

func (r *doorayRecorder) take() []*asynq.Task {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.tasks
	r.tasks = nil
	return out
}

func doorayDiscard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newDoorayEnv(t testing.TB, o doorayEnvOpts) *doorayEnv {
	t.Helper()
	pool := testenv.NewDatabase(t)
	if o.clock != nil {
		o.fake = append(o.fake, dooraytest.WithClock(o.clock.now))
	}
	fake := dooraytest.NewServer(o.fake...)
	t.Cleanup(fake.Close)
	if _, err := pool.Exec(context.Background(), `INSERT INTO services (key, name, address, settings)
		VALUES ('support', 'Support', 'support@example.test', $1)`,
		map[string]any{"dooray_project_id": fake.ProjectID(), "dooray_to_member_ids": []string{fake.OtherMemberID()},
			"dooray_to_emails": []string{"vendor@example.com"}}); err != nil {
		t.Fatal(err)
	}
	timeout := o.timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	hc := fake.Client()
	hc.Timeout = timeout
	api, err := dooray.New(dooray.Config{BaseURL: fake.URL, Token: fake.Token(), HTTPClient: hc, Limiter: o.limiter,
		MaxRetryWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	settle := o.settle
	if settle == 0 {
		settle = 300 * time.Millisecond
	}
	store := ticket.NewStore(pool, nil)
	q := &doorayRecorder{}
	cfg := DoorayConfig{Store: store, Client: api, Queue: q, Log: doorayDiscard(), SettleDelay: settle}
	if !o.noBot {
		cfg.BotMemberID = fake.BotMemberID()
	}
	return &doorayEnv{pool: pool, store: store, fake: fake, api: api, h: NewDooray(cfg), queue: q}
}

// escalated makes a ticket in progress and escalates it to project: it returns
// the ticket and the link. The task does not exist yet.
func (e *doorayEnv) escalated(t testing.TB, project string) (int64, int64) {
	t.Helper()
	ctx := context.Background()
	tk, err := e.store.Create(ctx, ticket.NewTicket{Service: "support", Subject: "印刷できません", CustomerEmail: "c@example.jp",
		Body: "printer down", Priority: ticket.PriorityUrgent})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Assign(ctx, tk.ID, ticket.Assignment{Operator: "sato"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Escalate(ctx, tk.ID, ticket.Escalation{ProjectID: project, Content: "3F printer: please check", Actor: "sato"}); err != nil {
		t.Fatal(err)
	}
	var link int64
	if err := e.pool.QueryRow(ctx, `SELECT id FROM dooray_links WHERE ticket_id = $1 ORDER BY id DESC LIMIT 1`, tk.ID).Scan(&link); err != nil {
		t.Fatal(err)
	}
	return tk.ID, link
}

// transferred escalates a ticket and creates its task; it returns ticket and post.
func (e *doorayEnv) transferred(t testing.TB) (int64, string) {
	t.Helper()
	id, link := e.escalated(t, e.fake.ProjectID())
	if err := e.h.Escalate(context.Background(), link); err != nil {
		t.Fatal(err)
	}
	return id, e.postOf(t, id)
}

func (e *doorayEnv) postOf(t testing.TB, ticketID int64) string {
	t.Helper()
	var post string
	if err := e.pool.QueryRow(context.Background(), `SELECT coalesce(post_id, '') FROM dooray_links WHERE ticket_id = $1 ORDER BY id DESC LIMIT 1`,
		ticketID).Scan(&post); err != nil {
		t.Fatal(err)
	}
	return post
}

func (e *doorayEnv) status(t testing.TB, id int64) ticket.Status {
	t.Helper()
	tk, err := e.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tk.Status
}

// eventKinds lists a ticket's event kinds, oldest first.
func (e *doorayEnv) eventKinds(t testing.TB, id int64) []string {
	t.Helper()
	evs, err := e.store.Events(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Kind)
	}
	return out
}

func doorayCount(kinds []string, kind string) int {
	n := 0
	for _, k := range kinds {
		if k == kind {
			n++
		}
	}
	return n
}

// withMarker lists the fake's posts carrying the ticket's marker.
func (e *doorayEnv) withMarker(project string, id int64) []dooraytest.PostInfo {
	var out []dooraytest.PostInfo
	for _, p := range e.fake.Posts(project) {
		if strings.Contains(p.Subject, ticket.Marker(id)) {
			out = append(out, p)
		}
	}
	return out
}

func TestDoorayEscalateCreatesOneTaskUnderFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fault   func(s *dooraytest.Server)
		unknown bool // the outcome of a create was unknown at least once
	}{
		{"no fault", func(*dooraytest.Server) {}, false},
		{"500 before applying, twice", func(s *dooraytest.Server) {
			s.Inject(dooraytest.Fault{Route: dooraytest.RouteCreatePost, Times: 2, Status: 500})
		}, true},
		{"500 after applying", func(s *dooraytest.Server) {
			s.Inject(dooraytest.Fault{Route: dooraytest.RouteCreatePost, Status: 500, AfterApply: true})
		}, true},
		{"502 after applying, twice", func(s *dooraytest.Server) {
			s.Inject(dooraytest.Fault{Route: dooraytest.RouteCreatePost, Times: 2, Status: 502, AfterApply: true})
		}, true},
		{"connection dropped after applying", func(s *dooraytest.Server) {
			s.Inject(dooraytest.Fault{Route: dooraytest.RouteCreatePost, AfterApply: true})
		}, true},
		{"timeout, applied late", func(s *dooraytest.Server) {
			s.Inject(dooraytest.Fault{Route: dooraytest.RouteCreatePost, Delay: 700 * time.Millisecond})
		}, true},
		{"plain-text 200 after applying", func(s *dooraytest.Server) {
			s.Inject(dooraytest.Fault{Route: dooraytest.RouteCreatePost, Status: 200, Body: "SERVER_GENERAL_ERROR", AfterApply: true})
		}, true},
		{"lookup fails first", func(s *dooraytest.Server) {
			s.Inject(dooraytest.Fault{Route: dooraytest.RouteListPosts, Times: 2, Status: 503})
		}, false},
		{"429 on create", func(s *dooraytest.Server) {
			s.Inject(dooraytest.Fault{Route: dooraytest.RouteCreatePost, Times: 2, Status: 429})
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newDoorayEnv(t, doorayEnvOpts{timeout: 250 * time.Millisecond, settle: time.Second})
			id, link := e.escalated(t, e.fake.ProjectID())
			tt.fault(e.fake)
			var err error
			for range 5 { // asynq would retry a retryable error
				if err = e.h.Escalate(ctx, link); err == nil || errors.Is(err, asynq.SkipRetry) {
					break
				}
			}
			if err != nil {
				t.Fatalf("escalate: %v", err)
			}
			// A redelivered task finds the work done.
			if err := e.h.Escalate(ctx, link); err != nil {
				t.Fatalf("escalate again: %v", err)
			}
			time.Sleep(time.Second) // let a delayed create land, should one still be in flight
			posts := e.withMarker(e.fake.ProjectID(), id)
			if len(posts) != 1 {
				t.Fatalf("%d tasks with %s: %+v", len(posts), ticket.Marker(id), posts)
			}
			p := posts[0]
			if p.Subject != ticket.Marker(id)+" 印刷できません" || p.Content != "3F printer: please check" || p.Priority != "highest" {
				t.Errorf("task = %+v", p)
			}
			if strings.Join(p.To, ",") != e.fake.OtherMemberID()+",vendor@example.com" {
				t.Errorf("task assignees = %v", p.To)
			}
			if got := e.postOf(t, id); got != p.ID {
				t.Errorf("link post = %q, want %q", got, p.ID)
			}
			if st := e.status(t, id); st != ticket.StatusDoorayTransferred {
				t.Errorf("status = %s", st)
			}
			kinds := e.eventKinds(t, id)
			if n := doorayCount(kinds, string(ticket.ActionDoorayCreated)); n != 1 {
				t.Errorf("%d dooray_created events", n)
			}
			if got := doorayCount(kinds, ticket.EventDoorayOutcomeUnknown) > 0; got != tt.unknown {
				t.Errorf("outcome unknown recorded: %v, want %v (%v)", got, tt.unknown, kinds)
			}
		})
	}
}

func TestDoorayEscalatePermanentErrorIsRecorded(t *testing.T) {
	t.Parallel()
	e := newDoorayEnv(t, doorayEnvOpts{})
	id, link := e.escalated(t, "4199999999999999999") // no such project
	err := e.h.Escalate(context.Background(), link)
	if !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("escalate to an unknown project: %v, want SkipRetry", err)
	}
	if st := e.status(t, id); st != ticket.StatusInProgress {
		t.Errorf("status = %s", st)
	}
	if n := doorayCount(e.eventKinds(t, id), ticket.EventDoorayFailed); n != 1 {
		t.Errorf("%d dooray_failed events", n)
	}
}

// Several worker processes (here two clients) share the token's bucket through
// Redis: a storm of escalations all succeed and the fake never answers 429.
func TestDooray429StormStaysUnderTheLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opt, err := redis.ParseURL(testenv.NewRedisDB(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	limiter := dooray.NewRedisLimiter(rdb, "", dooray.LimiterConfig{})
	e := newDoorayEnv(t, doorayEnvOpts{fake: []dooraytest.Option{dooraytest.WithRateLimit(20, 20)}, limiter: limiter})
	second, err := dooray.New(dooray.Config{BaseURL: e.fake.URL, Token: e.fake.Token(), HTTPClient: e.fake.Client(), Limiter: limiter})
	if err != nil {
		t.Fatal(err)
	}
	h2 := NewDooray(DoorayConfig{Store: e.store, Client: second, Queue: e.queue, Log: doorayDiscard(), BotMemberID: e.fake.BotMemberID()})

	const n = 30
	ids, links := make([]int64, n), make([]int64, n)
	for i := range n {
		ids[i], links[i] = e.escalated(t, e.fake.ProjectID())
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		h := e.h
		if i%2 == 1 {
			h = h2
		}
		wg.Go(func() { errs[i] = h.Escalate(ctx, links[i]) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("escalation %d: %v", i, err)
		}
		if got := len(e.withMarker(e.fake.ProjectID(), ids[i])); got != 1 {
			t.Errorf("ticket %d: %d tasks", ids[i], got)
		}
	}
	if th := e.fake.Throttled(); th != 0 {
		t.Errorf("the fake answered 429 %d times", th)
	}
	t.Logf("%d escalations, %d requests in %v", n, sum(e.fake.Requests()), time.Since(start))
}

// Without a shared limiter the storm does hit 429s; every escalation still
// ends with exactly one task.
func TestDooray429StormWithoutLimiterStillSucceeds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newDoorayEnv(t, doorayEnvOpts{fake: []dooraytest.Option{dooraytest.WithRateLimit(5, 10)}})
	const n = 15
	ids, links := make([]int64, n), make([]int64, n)
	for i := range n {
		ids[i], links[i] = e.escalated(t, e.fake.ProjectID())
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			for range 10 { // asynq retries retryable errors
				if errs[i] = e.h.Escalate(ctx, links[i]); errs[i] == nil {
					return
				}
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("escalation %d: %v", i, errs[i])
		}
		if got := len(e.withMarker(e.fake.ProjectID(), ids[i])); got != 1 {
			t.Errorf("ticket %d: %d tasks", ids[i], got)
		}
	}
	t.Logf("throttled %d times", e.fake.Throttled())
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// messages returns "kind:body" of a ticket's Dooray! history.
func (e *doorayEnv) conversation(t testing.TB, id int64) []string {
	t.Helper()
	msgs, err := e.store.Messages(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		switch m.Kind {
		case ticket.MessageEscalation, ticket.MessageDoorayIn, ticket.MessageDoorayOut:
			out = append(out, string(m.Kind)+":"+m.Body)
		}
	}
	return out
}

// The done-when story, by poll alone: registered → working → closed, with
// comments both ways and ours never duplicated.
func TestDoorayLifecycleByPollAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newDoorayEnv(t, doorayEnvOpts{})
	id, post := e.transferred(t)
	project := e.fake.ProjectID()
	poll := func(want ticket.Status) {
		t.Helper()
		if _, err := e.h.SyncProject(ctx, project); err != nil {
			t.Fatal(err)
		}
		if st := e.status(t, id); st != want {
			t.Fatalf("status %s, want %s", st, want)
		}
	}
	poll(ticket.StatusDoorayTransferred)
	if err := e.fake.MovePost(project, post, "working"); err != nil {
		t.Fatal(err)
	}
	poll(ticket.StatusDoorayInProgress)
	if _, err := e.fake.AddComment(project, post, "Looking at it on site."); err != nil {
		t.Fatal(err)
	}
	poll(ticket.StatusDoorayInProgress)
	if _, err := e.store.DoorayComment(ctx, id, ticket.Note{Text: "Customer says it is urgent.", Actor: "sato"}); err != nil {
		t.Fatal(err)
	}
	var msgID int64
	e.pool.QueryRow(ctx, `SELECT id FROM ticket_messages WHERE ticket_id = $1 AND kind = 'dooray_out'`, id).Scan(&msgID)
	if err := e.h.Comment(ctx, msgID); err != nil {
		t.Fatal(err)
	}
	poll(ticket.StatusDoorayInProgress)
	if _, err := e.fake.AddEmailReply(project, post, "vendor@example.com", "Vendor", "Toner replaced."); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.MovePost(project, post, "closed"); err != nil {
		t.Fatal(err)
	}
	poll(ticket.StatusDoorayAnswered)
	poll(ticket.StatusDoorayAnswered) // a quiet poll changes nothing

	want := []string{"escalation:3F printer: please check", "dooray_in:Looking at it on site.",
		"dooray_out:Customer says it is urgent.", "dooray_in:Toner replaced."}
	if got := e.conversation(t, id); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("conversation:\n got %q\nwant %q", got, want)
	}
	if c := e.fake.Comments(post); len(c) != 3 {
		t.Errorf("the task has %d comments, want 3: %+v", len(c), c)
	}
	kinds := e.eventKinds(t, id)
	for kind, n := range map[string]int{"dooray_created": 1, "dooray_working": 1, "dooray_closed": 1,
		ticket.EventDoorayCommentIn: 2, ticket.EventDoorayCommentSent: 1, ticket.EventDoorayWorkflow: 0} {
		if got := doorayCount(kinds, kind); got != n {
			t.Errorf("%d %s events, want %d (%v)", got, kind, n, kinds)
		}
	}
}

// A state that goes backwards is recorded; the state machine takes it where it
// can (closed → working again) and keeps it as an event where it cannot.
func TestDoorayBackwardsMoves(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newDoorayEnv(t, doorayEnvOpts{})
	id, post := e.transferred(t)
	project := e.fake.ProjectID()
	for _, step := range []struct {
		class string
		want  ticket.Status
	}{
		{"closed", ticket.StatusDoorayAnswered},
		{"working", ticket.StatusDoorayInProgress},
		{"registered", ticket.StatusDoorayInProgress},
		{"backlog", ticket.StatusDoorayInProgress},
		{"closed", ticket.StatusDoorayAnswered},
	} {
		if err := e.fake.MovePost(project, post, step.class); err != nil {
			t.Fatal(err)
		}
		if err := e.h.SyncPost(ctx, project, post); err != nil {
			t.Fatal(err)
		}
		if st := e.status(t, id); st != step.want {
			t.Fatalf("after %s: %s, want %s", step.class, st, step.want)
		}
	}
	kinds := e.eventKinds(t, id)
	if doorayCount(kinds, "dooray_closed") != 2 || doorayCount(kinds, "dooray_working") != 1 || doorayCount(kinds, ticket.EventDoorayWorkflow) != 2 {
		t.Errorf("events %v", kinds)
	}
}

func TestDoorayCommentRefusedOnceAnswered(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newDoorayEnv(t, doorayEnvOpts{})
	id, post := e.transferred(t)
	if _, err := e.store.DoorayComment(ctx, id, ticket.Note{Text: "late note", Actor: "sato"}); err != nil {
		t.Fatal(err)
	}
	// The task closes before the comment job runs.
	if err := e.fake.MovePost(e.fake.ProjectID(), post, "closed"); err != nil {
		t.Fatal(err)
	}
	if err := e.h.SyncPost(ctx, e.fake.ProjectID(), post); err != nil {
		t.Fatal(err)
	}
	var msgID int64
	e.pool.QueryRow(ctx, `SELECT id FROM ticket_messages WHERE ticket_id = $1 AND kind = 'dooray_out'`, id).Scan(&msgID)
	err := e.h.Comment(ctx, msgID)
	if !errors.Is(err, asynq.SkipRetry) || !errors.Is(err, ErrDoorayCommentRefused) || !strings.Contains(err.Error(), "dooray_answered") {
		t.Fatalf("comment on an answered ticket: %v", err)
	}
	if len(e.fake.Comments(post)) != 0 {
		t.Error("the comment went out")
	}
	if n := doorayCount(e.eventKinds(t, id), ticket.EventDoorayFailed); n != 1 {
		t.Errorf("%d dooray_failed events", n)
	}
}

func TestDoorayCommentOnceUnderFaults(t *testing.T) {
	t.Parallel()
	for _, f := range []dooraytest.Fault{
		{Route: dooraytest.RouteCreateLog, Status: 500, AfterApply: true},
		{Route: dooraytest.RouteCreateLog, AfterApply: true},
		{Route: dooraytest.RouteCreateLog, Status: 500, Times: 2},
		{Route: dooraytest.RouteCreateLog, Delay: 600 * time.Millisecond},
	} {
		t.Run(fmt.Sprintf("%d/%v/%v", f.Status, f.AfterApply, f.Delay), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newDoorayEnv(t, doorayEnvOpts{timeout: 250 * time.Millisecond, settle: time.Second})
			id, post := e.transferred(t)
			if _, err := e.store.DoorayComment(ctx, id, ticket.Note{Text: "please hurry", Actor: "sato"}); err != nil {
				t.Fatal(err)
			}
			var msgID int64
			e.pool.QueryRow(ctx, `SELECT id FROM ticket_messages WHERE ticket_id = $1 AND kind = 'dooray_out'`, id).Scan(&msgID)
			e.fake.Inject(f)
			var err error
			for range 5 {
				if err = e.h.Comment(ctx, msgID); err == nil {
					break
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(800 * time.Millisecond)
			if c := e.fake.Comments(post); len(c) != 1 {
				t.Fatalf("%d comments on the task: %+v", len(c), c)
			}
			if _, err := e.h.SyncProject(ctx, e.fake.ProjectID()); err != nil {
				t.Fatal(err)
			}
			if got := e.conversation(t, id); len(got) != 2 {
				t.Errorf("conversation %q", got)
			}
		})
	}
}

func TestDoorayTaskMovedAndDeleted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newDoorayEnv(t, doorayEnvOpts{})
	id, post := e.transferred(t)
	other := e.fake.AddProject("vendor")
	if err := e.fake.MovePost(e.fake.ProjectID(), post, "working"); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.MovePostToProject(post, other); err != nil {
		t.Fatal(err)
	}
	// The hint names the new project; the link still the old one.
	if err := e.h.SyncPost(ctx, other, post); err != nil {
		t.Fatal(err)
	}
	var project string
	e.pool.QueryRow(ctx, `SELECT project_id FROM dooray_links WHERE post_id = $1`, post).Scan(&project)
	if project != other || e.status(t, id) != ticket.StatusDoorayInProgress {
		t.Fatalf("after move: project %s status %s", project, e.status(t, id))
	}
	// The poll now follows the task in its new project.
	if ps, _ := e.store.DoorayProjects(ctx); len(ps) != 1 || ps[0] != other {
		t.Errorf("projects followed: %v", ps)
	}
	if err := e.fake.MovePost(other, post, "closed"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.h.SyncProject(ctx, other); err != nil {
		t.Fatal(err)
	}
	if st := e.status(t, id); st != ticket.StatusDoorayAnswered {
		t.Fatalf("status %s", st)
	}
	if err := e.fake.DeletePost(other, post); err != nil {
		t.Fatal(err)
	}
	for range 2 { // twice: one event
		if err := e.h.SyncPost(ctx, other, post); err != nil {
			t.Fatal(err)
		}
	}
	kinds := e.eventKinds(t, id)
	if doorayCount(kinds, ticket.EventDoorayTaskMoved) != 1 || doorayCount(kinds, ticket.EventDoorayTaskDeleted) != 1 {
		t.Errorf("events %v", kinds)
	}
	if st := e.status(t, id); st != ticket.StatusDoorayAnswered {
		t.Errorf("status after delete %s", st)
	}
	if ps, _ := e.store.DoorayProjects(ctx); len(ps) != 0 {
		t.Errorf("still following %v", ps)
	}
	// The ticket stays workable: an operator resolves it.
	if _, err := e.store.Resolve(ctx, id, ticket.Note{Text: "fixed", Actor: "sato"}); err != nil {
		t.Errorf("resolve after delete: %v", err)
	}
}

func TestDooraySyncAllQueuesOnePollPerProject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newDoorayEnv(t, doorayEnvOpts{})
	other := e.fake.AddProject("second")
	e.transferred(t)
	e.transferred(t)
	_, link := e.escalated(t, other)
	if err := e.h.Escalate(ctx, link); err != nil {
		t.Fatal(err)
	}
	e.escalated(t, e.fake.AddProject("not-created-yet")) // no task yet: not polled
	task, _ := NewDooraySyncAllTask(time.Minute)
	if err := e.h.handleSync(ctx, task); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, t := range e.queue.take() {
		got = append(got, string(t.Payload()))
	}
	if len(got) != 2 {
		t.Fatalf("queued %q", got)
	}
}

// The hint queue: a storm of hints about one task makes a handful of tasks.
func TestDoorayHintsAreCoalesced(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opt, err := asynq.ParseRedisURI(testenv.NewRedisDB(t))
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(opt)
	insp := asynq.NewInspector(opt)
	t.Cleanup(func() { client.Close(); insp.Close() })
	began := time.Now()
	for range 1000 {
		if err := EnqueueDooraySyncPost(ctx, client, "1", "4100000000000000001"); err != nil {
			t.Fatal(err)
		}
	}
	if err := EnqueueDooraySyncPost(ctx, client, "1", "4100000000000000002"); err != nil {
		t.Fatal(err)
	}
	q, err := insp.GetQueueInfo(QueueDooray)
	if err != nil {
		t.Fatal(err)
	}
	// Three tasks a second at most, in every second the loop touched, plus the other post's.
	seconds := int(time.Since(began)/time.Second) + 2
	if total := q.Pending + q.Scheduled; total < 2 || total > 3*seconds+1 {
		t.Errorf("%d pending + %d scheduled tasks for 1001 hints", q.Pending, q.Scheduled)
	}
}

func TestDoorayEscalateRefusedOnceTheTicketMovedOn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newDoorayEnv(t, doorayEnvOpts{})
	id, link := e.escalated(t, e.fake.ProjectID())
	if _, err := e.store.InternalResolve(ctx, id, ticket.Note{Text: "solved by phone"}, false); err != nil {
		t.Fatal(err)
	}
	if err := e.h.Escalate(ctx, link); !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("escalate a resolved ticket: %v", err)
	}
	if n := len(e.withMarker(e.fake.ProjectID(), id)); n != 0 {
		t.Errorf("%d tasks created", n)
	}
	if n := doorayCount(e.eventKinds(t, id), ticket.EventDoorayFailed); n != 1 {
		t.Errorf("%d dooray_failed events", n)
	}
}

// Without bot_member_id the handlers ask who they are, once, and still know
// their own comments when they come back.
func TestDoorayAsksWhoItIsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newDoorayEnv(t, doorayEnvOpts{noBot: true})
	id, post := e.transferred(t)
	for _, text := range []string{"first", "second"} {
		if _, err := e.store.DoorayComment(ctx, id, ticket.Note{Text: text, Actor: "sato"}); err != nil {
			t.Fatal(err)
		}
	}
	rows, _ := e.pool.Query(ctx, `SELECT id FROM ticket_messages WHERE ticket_id = $1 AND kind = 'dooray_out' ORDER BY id`, id)
	var ids []int64
	for rows.Next() {
		var m int64
		rows.Scan(&m)
		ids = append(ids, m)
	}
	rows.Close()
	for _, m := range ids {
		if err := e.h.Comment(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.fake.AddComment(e.fake.ProjectID(), post, "theirs"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := e.h.SyncProject(ctx, e.fake.ProjectID()); err != nil {
			t.Fatal(err)
		}
	}
	want := "escalation:3F printer: please check|dooray_out:first|dooray_out:second|dooray_in:theirs"
	if got := strings.Join(e.conversation(t, id), "|"); got != want {
		t.Errorf("conversation\n got %s\nwant %s", got, want)
	}
	if n := e.fake.Requests()[dooraytest.RouteMe]; n != 1 {
		t.Errorf("asked Me %d times", n)
	}
}

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("sync: %w", &dooray.APIError{HTTPStatus: 429, Retryable: true, RetryAfter: 40 * time.Second})
	if d := RetryDelay(0, err, nil); d != 40*time.Second {
		t.Errorf("429 asking 40s: %v", d)
	}
	if d := RetryDelay(3, fmt.Errorf("handler: %w", asynq.ErrLeaseExpired), nil); d != time.Second {
		t.Errorf("worker died: %v, want at once", d)
	}
	if d := RetryDelay(1, errors.New("boom"), asynq.NewTask("x", nil)); d < 15*time.Second {
		t.Errorf("default: %v", d)
	}
}

// A Dooray! user comments, then our operator's comment is posted before the
// next sync: the sync must read past ours and bring the user's in.
func TestDoorayCommentWrittenBeforeOursIsNotLost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newDoorayEnv(t, doorayEnvOpts{})
	id, post := e.transferred(t)
	if err := e.h.SyncPost(ctx, e.fake.ProjectID(), post); err != nil {
		t.Fatal(err)
	}
	if _, err := e.fake.AddComment(e.fake.ProjectID(), post, "user comment before ours"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.DoorayComment(ctx, id, ticket.Note{Text: "operator comment", Actor: "sato"}); err != nil {
		t.Fatal(err)
	}
	var mid int64
	if err := e.pool.QueryRow(ctx, `SELECT id FROM ticket_messages WHERE ticket_id = $1 AND kind = 'dooray_out'`, id).Scan(&mid); err != nil {
		t.Fatal(err)
	}
	if err := e.h.Comment(ctx, mid); err != nil {
		t.Fatal(err)
	}
	if err := e.h.SyncPost(ctx, e.fake.ProjectID(), post); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(e.conversation(t, id), " | ")
	if !strings.Contains(got, "dooray_in:user comment before ours") || strings.Count(got, "operator comment") != 1 {
		t.Errorf("conversation: %s", got)
	}
}

// An escalation to a project that does not exist fails for good; the ticket
// can then be escalated again, and running the old job again (from the
// dashboard) creates nothing: the new escalation replaced it.
func TestDoorayFailedEscalationFreesTheTicket(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newDoorayEnv(t, doorayEnvOpts{})
	id, wrong := e.escalated(t, "9999999999999999999")
	if err := e.h.Escalate(ctx, wrong); !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("escalation to a missing project: %v, want SkipRetry", err)
	}
	if _, err := e.store.Escalate(ctx, id, ticket.Escalation{ProjectID: e.fake.ProjectID(), Content: "right project", Actor: "sato"}); err != nil {
		t.Fatalf("second escalation after the failure: %v", err)
	}
	var right int64
	e.pool.QueryRow(ctx, `SELECT max(id) FROM dooray_links WHERE ticket_id = $1`, id).Scan(&right)
	if err := e.h.Escalate(ctx, right); err != nil {
		t.Fatal(err)
	}
	if err := e.h.Escalate(ctx, wrong); !errors.Is(err, asynq.SkipRetry) {
		t.Errorf("the replaced escalation run again: %v, want refused", err)
	}
	if n := len(e.withMarker(e.fake.ProjectID(), id)); n != 1 {
		t.Errorf("%d tasks carry the marker, want 1", n)
	}
	if st := e.status(t, id); st != ticket.StatusDoorayTransferred {
		t.Errorf("status %s", st)
	}
}
