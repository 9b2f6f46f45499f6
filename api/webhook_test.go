package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/contiple/contiple-worker/api"
	"github.com/contiple/contiple-worker/dooray"
	"github.com/contiple/contiple-worker/dooray/dooraytest"
	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/jobs"
	"github.com/contiple/contiple-worker/ticket"
)

const webhookToken = "kq3-uZx_8fT2lP0w"

func webhookQuiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// hookWorld is the whole path of a hint: the fakes of two organisations
// (default, and gov on another host, whose ids collide with default's), the
// receiver on a real HTTP server, asynq on Redis with the Dooray! handlers,
// and PostgreSQL.
type hookWorld struct {
	pool     *pgxpool.Pool
	store    *ticket.Store
	fake     *dooraytest.Server
	gov      *dooraytest.Server
	handlers *jobs.Dooray
	insp     *asynq.Inspector
	url      string // the receiver's URL, token included (the default organisation's old route)
	govURL   string // gov's: /webhooks/dooray/gov/TOKEN
}

const govWebhookToken = "gov-w3bh00k-T0k3n"

func newHookWorld(t testing.TB, targetHooks bool) *hookWorld {
	t.Helper()
	pool := testenv.NewDatabase(t)
	fake := dooraytest.NewServer()
	t.Cleanup(fake.Close)
	gov := dooraytest.NewServer(dooraytest.WithToken("gov-api-token"), dooraytest.WithOrganizationID("2000000000000000002"))
	t.Cleanup(gov.Close)
	if _, err := pool.Exec(context.Background(), `INSERT INTO services (key, name, address, settings)
		VALUES ('support', 'Support', 'support@example.test', $1)`,
		map[string]any{"dooray_to_member_ids": []string{fake.OtherMemberID()},
			"dooray_organizations": []map[string]any{{"key": "gov", "projects": []string{gov.ProjectID()}}}}); err != nil {
		t.Fatal(err)
	}
	store := ticket.NewStore(pool, nil)
	client, err := dooray.New(dooray.Config{BaseURL: fake.URL, Token: fake.Token(), HTTPClient: fake.Client()})
	if err != nil {
		t.Fatal(err)
	}
	govClient, err := dooray.New(dooray.Config{BaseURL: gov.URL, Token: gov.Token(), HTTPClient: gov.Client()})
	if err != nil {
		t.Fatal(err)
	}
	opt, err := asynq.ParseRedisURI(testenv.NewRedisDB(t))
	if err != nil {
		t.Fatal(err)
	}
	queue := asynq.NewClient(opt)
	insp := asynq.NewInspector(opt)
	h := jobs.NewDooray(jobs.DoorayConfig{Store: store, Queue: queue, Log: webhookQuiet(), SettleDelay: 200 * time.Millisecond,
		Organizations: []jobs.DoorayOrganization{
			{Key: ticket.DoorayDefaultOrganization, Client: client, BotMemberID: fake.BotMemberID()},
			{Key: "gov", Client: govClient, BotMemberID: gov.BotMemberID()}}})
	srv := asynq.NewServer(opt, asynq.Config{Concurrency: 8, Queues: map[string]int{jobs.QueueDooray: 1},
		TaskCheckInterval: 5 * time.Millisecond, DelayedTaskCheckInterval: 50 * time.Millisecond,
		LogLevel: asynq.FatalLevel, RetryDelayFunc: func(int, error, *asynq.Task) time.Duration { return 50 * time.Millisecond }})
	mux := asynq.NewServeMux()
	h.Register(mux)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	hmux := http.NewServeMux()
	(&api.Webhook{Organizations: map[string]api.WebhookOrganization{
		ticket.DoorayDefaultOrganization: {Token: webhookToken, BotMemberID: fake.BotMemberID()},
		"gov":                            {Token: govWebhookToken, BotMemberID: gov.BotMemberID()}},
		Links: store, Syncs: jobs.DoorayHints{Queue: queue}, Log: webhookQuiet()}).Mount(hmux)
	ts := httptest.NewServer(hmux)
	t.Cleanup(func() { ts.Close(); srv.Shutdown(); queue.Close(); insp.Close() })
	w := &hookWorld{pool: pool, store: store, fake: fake, gov: gov, handlers: h, insp: insp,
		url: ts.URL + "/webhooks/dooray/" + webhookToken, govURL: ts.URL + "/webhooks/dooray/gov/" + govWebhookToken}
	if targetHooks {
		fake.HookTarget(w.url)
		gov.HookTarget(w.govURL)
	}
	return w
}

// transferred makes an escalated ticket and its task; it returns both.
func (w *hookWorld) transferred(t testing.TB) (int64, string) {
	return w.transferredTo(t, "", w.fake.ProjectID())
}

// transferredTo is transferred into organisation org ("" the default).
func (w *hookWorld) transferredTo(t testing.TB, org, project string) (int64, string) {
	t.Helper()
	ctx := context.Background()
	tk, err := w.store.Create(ctx, ticket.NewTicket{Service: "support", Subject: "VPN drops", CustomerEmail: "c@example.jp", Body: "help"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.store.Assign(ctx, tk.ID, ticket.Assignment{Operator: "lee"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.store.Escalate(ctx, tk.ID, ticket.Escalation{Organization: org, ProjectID: project, Content: "VPN gateway", Actor: "lee"}); err != nil {
		t.Fatal(err)
	}
	var link int64
	w.pool.QueryRow(ctx, `SELECT id FROM dooray_links WHERE ticket_id = $1`, tk.ID).Scan(&link)
	if err := w.handlers.Escalate(ctx, link); err != nil {
		t.Fatal(err)
	}
	var post string
	w.pool.QueryRow(ctx, `SELECT post_id FROM dooray_links WHERE id = $1`, link).Scan(&post)
	return tk.ID, post
}

// settled waits until the queue is empty and cond holds.
func (w *hookWorld) settled(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		q, err := w.insp.GetQueueInfo(jobs.QueueDooray)
		idle := err == nil && q.Pending+q.Active+q.Scheduled+q.Retry == 0 || err != nil && strings.Contains(err.Error(), "not found")
		if idle && cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached in 10s (queue %+v, %v)", what, q, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (w *hookWorld) status(t testing.TB, id int64) ticket.Status {
	t.Helper()
	tk, err := w.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tk.Status
}

func (w *hookWorld) kinds(t testing.TB, id int64) map[string]int {
	t.Helper()
	evs, err := w.store.Events(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range evs {
		out[e.Kind]++
	}
	return out
}

func (w *hookWorld) conversation(t testing.TB, id int64) string {
	t.Helper()
	msgs, err := w.store.Messages(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		if m.Kind == ticket.MessageDoorayIn || m.Kind == ticket.MessageDoorayOut || m.Kind == ticket.MessageEscalation {
			out = append(out, string(m.Kind)+":"+m.Body)
		}
	}
	return strings.Join(out, "|")
}

func webhookPost(t testing.TB, url, body string) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// webhookSyncCounter records the hints the receiver queues.
type webhookSyncCounter struct{ n, noOrg atomic.Int32 }

func (c *webhookSyncCounter) EnqueuePostSync(_ context.Context, org, _, _ string) error {
	if org == "" {
		c.noOrg.Add(1)
	}
	c.n.Add(1)
	return nil
}

type webhookLinks map[string]bool // "org/post"

func (l webhookLinks) DoorayPostLinked(_ context.Context, org, postID string) (bool, error) {
	return l[org+"/"+postID], nil
}

func TestWebhookRequests(t *testing.T) {
	t.Parallel()
	syncs := &webhookSyncCounter{}
	mux := http.NewServeMux()
	const govToken = "gov-Zp9_2mQx7Lw4"
	(&api.Webhook{Organizations: map[string]api.WebhookOrganization{
		ticket.DoorayDefaultOrganization: {Token: webhookToken, BotMemberID: "4100000000000000099"},
		"gov":                            {Token: govToken},
		"nohook":                         {}, // no token configured
	}, Links: webhookLinks{"default/4100000000000000007": true, "gov/4100000000000000017": true}, Syncs: syncs}).Mount(mux)
	off := &api.Webhook{Links: webhookLinks{}, Syncs: syncs} // no organisation configured
	mux.Handle("POST /off/{token}", off)
	ts := httptest.NewServer(mux)
	defer ts.Close()

	const linked = `{"hookEventType":"postWorkflowChanged","webhookType":"postWorkflowChanged","version":2,
		"post":{"id":"4100000000000000007","number":7},"project":{"id":"1"},"workflow":{"id":"3","class":"working"}}`
	tests := []struct {
		name, path, body string
		status           int
		queued           int32
	}{
		{"bad token", "/webhooks/dooray/" + webhookToken + "x", linked, 401, 0},
		{"token prefix", "/webhooks/dooray/" + webhookToken[:5], linked, 401, 0},
		{"no token configured", "/off/anything", linked, 401, 0},
		{"malformed", "/webhooks/dooray/" + webhookToken, `not json`, 400, 0},
		{"no event type", "/webhooks/dooray/" + webhookToken, `{"post":{"id":"4100000000000000007"}}`, 400, 0},
		{"unknown task", "/webhooks/dooray/" + webhookToken, strings.ReplaceAll(linked, "4100000000000000007", "4100000000000000008"), 200, 0},
		{"linked task", "/webhooks/dooray/" + webhookToken, linked, 202, 1},
		{"documented hookVersion, numeric id", "/webhooks/dooray/" + webhookToken,
			`{"hookEventType":"postCommentCreated","hookVersion":2,"post":{"id":4100000000000000007},"project":{"id":"1"}}`, 202, 1},
		{"our own change", "/webhooks/dooray/" + webhookToken, strings.Replace(linked, `"version":2,`,
			`"version":2,"requestOrigin":{"type":"open-api"},"source":{"type":"member","member":{"id":"4100000000000000099"}},`, 1), 200, 0},
		// Each organisation has its URL and its own token.
		{"default organisation by name", "/webhooks/dooray/default/" + webhookToken, linked, 202, 1},
		{"another organisation's token", "/webhooks/dooray/gov/" + webhookToken, linked, 401, 0},
		{"default URL, gov token", "/webhooks/dooray/" + govToken, linked, 401, 0},
		{"unknown organisation", "/webhooks/dooray/nosuch/" + webhookToken, linked, 401, 0},
		{"organisation without a token", "/webhooks/dooray/nohook/anything", linked, 401, 0},
		{"gov: the default organisation's task id is not gov's", "/webhooks/dooray/gov/" + govToken, linked, 200, 0},
		{"gov: its own task", "/webhooks/dooray/gov/" + govToken, strings.ReplaceAll(linked, "4100000000000000007", "4100000000000000017"), 202, 1},
	}
	for _, tt := range tests {
		before := syncs.n.Load()
		if got := webhookPost(t, ts.URL+tt.path, tt.body); got != tt.status {
			t.Errorf("%s: HTTP %d, want %d", tt.name, got, tt.status)
		}
		if got := syncs.n.Load() - before; got != tt.queued {
			t.Errorf("%s: %d syncs queued, want %d", tt.name, got, tt.queued)
		}
	}
	if n := syncs.noOrg.Load(); n != 0 {
		t.Errorf("%d syncs queued without their organisation", n)
	}
	resp, err := http.Get(ts.URL + "/webhooks/dooray/" + webhookToken)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: HTTP %d", resp.StatusCode)
	}
}

// The done-when story by webhook alone: no poll runs; every change reaches
// the ticket through the fake's hooks, the receiver and the queue.
func TestDoorayLifecycleByWebhookAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newHookWorld(t, true)
	id, postID := w.transferred(t)
	project := w.fake.ProjectID()
	if err := w.fake.MovePost(project, postID, "working"); err != nil {
		t.Fatal(err)
	}
	w.settled(t, "working", func() bool { return w.status(t, id) == ticket.StatusDoorayInProgress })
	if _, err := w.fake.AddComment(project, postID, "On it."); err != nil {
		t.Fatal(err)
	}
	w.settled(t, "comment in", func() bool { return strings.Contains(w.conversation(t, id), "dooray_in:On it.") })
	if _, err := w.store.DoorayComment(ctx, id, ticket.Note{Text: "Customer waits.", Actor: "lee"}); err != nil {
		t.Fatal(err)
	}
	var msgID int64
	w.pool.QueryRow(ctx, `SELECT id FROM ticket_messages WHERE ticket_id = $1 AND kind = 'dooray_out'`, id).Scan(&msgID)
	if err := w.handlers.Comment(ctx, msgID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.fake.AddEmailReply(project, postID, "vendor@example.com", "Vendor", "Firmware updated."); err != nil {
		t.Fatal(err)
	}
	if err := w.fake.MovePost(project, postID, "closed"); err != nil {
		t.Fatal(err)
	}
	w.settled(t, "closed", func() bool { return w.status(t, id) == ticket.StatusDoorayAnswered })
	want := "escalation:VPN gateway|dooray_in:On it.|dooray_out:Customer waits.|dooray_in:Firmware updated."
	if got := w.conversation(t, id); got != want {
		t.Errorf("conversation\n got %s\nwant %s", got, want)
	}
	k := w.kinds(t, id)
	if k["dooray_created"] != 1 || k["dooray_working"] != 1 || k["dooray_closed"] != 1 ||
		k[ticket.EventDoorayCommentIn] != 2 || k[ticket.EventDoorayCommentSent] != 1 || k[ticket.EventDoorayWorkflow] != 0 {
		t.Errorf("events %v", k)
	}
	var cursors int
	w.pool.QueryRow(ctx, `SELECT count(*) FROM dooray_sync_cursors`).Scan(&cursors)
	if cursors != 0 {
		t.Errorf("a poll ran (%d cursors)", cursors)
	}
}

// Hooks delivered twice and out of order: the end state is the task's, and
// each real transition makes one event.
func TestWebhookDuplicateAndOutOfOrderDelivery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newHookWorld(t, false) // hooks are emitted by hand
	id, postID := w.transferred(t)
	project := w.fake.ProjectID()
	hook := func(class string) string {
		return `{"hookEventType":"postWorkflowChanged","webhookType":"postWorkflowChanged","version":2,
			"post":{"id":"` + postID + `"},"project":{"id":"` + project + `"},"workflow":{"class":"` + class + `"}}`
	}
	storm := func(bodies ...string) {
		var wg sync.WaitGroup
		for range 5 {
			for _, b := range bodies {
				wg.Go(func() {
					if err := dooraytest.EmitHook(ctx, w.url, []byte(b)); err != nil {
						t.Error(err)
					}
				})
			}
		}
		wg.Wait()
	}
	if err := w.fake.MovePost(project, postID, "working"); err != nil {
		t.Fatal(err)
	}
	storm(hook("working"))
	w.settled(t, "working", func() bool { return w.status(t, id) == ticket.StatusDoorayInProgress })
	if err := w.fake.MovePost(project, postID, "closed"); err != nil {
		t.Fatal(err)
	}
	storm(hook("closed"), hook("working"), hook("registered")) // stale ones after the new one
	w.settled(t, "closed", func() bool { return w.status(t, id) == ticket.StatusDoorayAnswered })
	storm(hook("working")) // a late redelivery
	w.settled(t, "still closed", func() bool { return true })
	if st := w.status(t, id); st != ticket.StatusDoorayAnswered {
		t.Fatalf("status %s after a stale hook", st)
	}
	k := w.kinds(t, id)
	if k["dooray_working"] != 1 || k["dooray_closed"] != 1 || k[ticket.EventDoorayWorkflow] != 0 {
		t.Errorf("events %v", k)
	}
}

// Two organisations, one task id: each organisation's hooks reach its own URL
// with its own token, and the sync they queue reads the task through that
// organisation's client, so a move in gov moves gov's ticket only.
func TestWebhookTwoOrganizations(t *testing.T) {
	t.Parallel()
	w := newHookWorld(t, true)
	mainID, mainPost := w.transferred(t)
	govID, govPost := w.transferredTo(t, "gov", w.gov.ProjectID())
	if mainPost != govPost {
		t.Fatalf("the organisations' first tasks should share an id here: %s, %s", mainPost, govPost)
	}
	if err := w.gov.MovePost(w.gov.ProjectID(), govPost, "working"); err != nil {
		t.Fatal(err)
	}
	w.settled(t, "gov working", func() bool { return w.status(t, govID) == ticket.StatusDoorayInProgress })
	if st := w.status(t, mainID); st != ticket.StatusDoorayTransferred {
		t.Errorf("main's ticket moved with gov's task: %s", st)
	}
	if _, err := w.fake.AddComment(w.fake.ProjectID(), mainPost, "main only"); err != nil {
		t.Fatal(err)
	}
	w.settled(t, "main comment", func() bool { return strings.Contains(w.conversation(t, mainID), "dooray_in:main only") })
	if c := w.conversation(t, govID); strings.Contains(c, "main only") {
		t.Errorf("gov's ticket got main's comment: %s", c)
	}
	for _, d := range w.gov.Deliveries() {
		if d.URL != w.govURL {
			t.Errorf("gov hook to %s", d.URL)
		}
	}
	if n := w.gov.Requests()[dooraytest.RoutePost]; n == 0 {
		t.Error("gov's task was not read through gov's client")
	}
}
