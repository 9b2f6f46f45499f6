package jobs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/contiple/contiple-worker/dooray"
	"github.com/contiple/contiple-worker/dooray/dooraytest"
	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/ticket"
)

// orgsEnv is a helpdesk whose service transfers into two organisations: main
// (the default) and gov, each a fake on its own host with its own token and
// rate limit. The fakes' ids collide, as ids of two clouds may.
type orgsEnv struct {
	*doorayEnv
	gov *dooraytest.Server
}

func newOrgsEnv(t testing.TB, settings map[string]any) *orgsEnv {
	t.Helper()
	pool := testenv.NewDatabase(t)
	main := dooraytest.NewServer(dooraytest.WithToken("main-token"), dooraytest.WithRateLimit(20, 10))
	gov := dooraytest.NewServer(dooraytest.WithToken("gov-token"), dooraytest.WithRateLimit(10, 5),
		dooraytest.WithOrganizationID("2000000000000000002"), dooraytest.WithProjectCode("minwon"))
	t.Cleanup(main.Close)
	t.Cleanup(gov.Close)
	if main.ProjectID() != gov.ProjectID() {
		t.Fatalf("the fakes' ids do not collide: %s, %s", main.ProjectID(), gov.ProjectID())
	}
	s := map[string]any{"dooray_organization": "main", "dooray_project_id": main.ProjectID(),
		"dooray_to_member_ids": []string{main.OtherMemberID()},
		"dooray_organizations": []ticket.DoorayServiceOrg{{Key: "gov", Projects: []string{gov.ProjectID()},
			ToEmails: []string{"civil@gov.example"}}}}
	for k, v := range settings {
		s[k] = v
	}
	if _, err := pool.Exec(context.Background(), `INSERT INTO services (key, name, address, settings)
		VALUES ('support', 'Support', 'support@example.test', $1)`, s); err != nil {
		t.Fatal(err)
	}
	client := func(f *dooraytest.Server) *dooray.Client {
		// Each organisation paces under its own bucket.
		c, err := dooray.New(dooray.Config{BaseURL: f.URL, Token: f.Token(), HTTPClient: f.Client(),
			Limiter: dooray.NewMemoryLimiter(dooray.LimiterConfig{}), MaxRetryWait: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	store := ticket.NewStore(pool, nil)
	q := &doorayRecorder{}
	h := NewDooray(DoorayConfig{Store: store, Queue: q, Log: doorayDiscard(), SettleDelay: 200 * time.Millisecond,
		Organizations: []DoorayOrganization{
			{Key: "main", Client: client(main), BotMemberID: main.BotMemberID()},
			{Key: "gov", Client: client(gov)}, // its bot is asked of gov's API
		}})
	return &orgsEnv{doorayEnv: &doorayEnv{pool: pool, store: store, fake: main, h: h, queue: q}, gov: gov}
}

// escalateTo escalates a new ticket into org ("" for the service's default)
// and project ("" for the default there); it returns the ticket and the link.
func (e *orgsEnv) escalateTo(t testing.TB, org, project string) (int64, int64, error) {
	t.Helper()
	ctx := context.Background()
	tk, err := e.store.Create(ctx, ticket.NewTicket{Service: "support", Subject: "민원 접수", CustomerEmail: "c@example.kr", Body: "…"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Assign(ctx, tk.ID, ticket.Assignment{Operator: "park"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Escalate(ctx, tk.ID, ticket.Escalation{Organization: org, ProjectID: project, Content: "please check", Actor: "park"}); err != nil {
		return tk.ID, 0, err
	}
	var link int64
	err = e.pool.QueryRow(ctx, `SELECT id FROM dooray_links WHERE ticket_id = $1 ORDER BY id DESC LIMIT 1`, tk.ID).Scan(&link)
	return tk.ID, link, err
}

func TestDoorayTwoOrganizationsEscalateAndSyncIndependently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newOrgsEnv(t, nil)
	mainID, mainLink, err := e.escalateTo(t, "", "")
	if err != nil {
		t.Fatal(err)
	}
	govID, govLink, err := e.escalateTo(t, "gov", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []int64{mainLink, govLink} {
		if err := e.h.Escalate(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	mainPost, govPost := e.postOf(t, mainID), e.postOf(t, govID)
	if mainPost != govPost {
		t.Fatalf("the two organisations' first tasks should share an id here: %s, %s", mainPost, govPost)
	}
	var orgs []string
	rows, _ := e.pool.Query(ctx, `SELECT organization || '/' || project_id FROM dooray_links ORDER BY id`)
	for rows.Next() {
		var s string
		rows.Scan(&s)
		orgs = append(orgs, s)
	}
	if want := []string{"main/" + e.fake.ProjectID(), "gov/" + e.gov.ProjectID()}; len(orgs) != 2 || orgs[0] != want[0] || orgs[1] != want[1] {
		t.Errorf("links %v, want %v", orgs, want)
	}
	if p, _ := e.fake.Post(mainPost); p.Subject != ticket.Marker(mainID)+" 민원 접수" || len(p.To) != 1 || p.To[0] != e.fake.OtherMemberID() {
		t.Errorf("main's task %+v", p)
	}
	if p, _ := e.gov.Post(govPost); p.Subject != ticket.Marker(govID)+" 민원 접수" || len(p.To) != 1 || p.To[0] != "civil@gov.example" {
		t.Errorf("gov's task %+v", p)
	}
	if len(e.fake.Posts(e.fake.ProjectID())) != 1 || len(e.gov.Posts(e.gov.ProjectID())) != 1 {
		t.Errorf("tasks: main %d, gov %d", len(e.fake.Posts(e.fake.ProjectID())), len(e.gov.Posts(e.gov.ProjectID())))
	}
	if n := e.gov.Requests()[dooraytest.RouteMe]; n != 1 {
		t.Errorf("gov was asked who its bot is %d times", n)
	}

	// The same task id moves differently in each organisation; a comment in
	// gov's task reaches gov's ticket only.
	if err := e.fake.MovePost(e.fake.ProjectID(), mainPost, "working"); err != nil {
		t.Fatal(err)
	}
	if err := e.gov.MovePost(e.gov.ProjectID(), govPost, "closed"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.gov.AddComment(e.gov.ProjectID(), govPost, "처리 완료"); err != nil {
		t.Fatal(err)
	}
	mainBefore, govBefore := e.fake.Requests(), e.gov.Requests()
	e.cycle(t)
	if st := e.status(t, mainID); st != ticket.StatusDoorayInProgress {
		t.Errorf("main's ticket is %s", st)
	}
	if st := e.status(t, govID); st != ticket.StatusDoorayAnswered {
		t.Errorf("gov's ticket is %s", st)
	}
	if got := e.conversation(t, govID); len(got) != 2 || got[1] != "dooray_in:처리 완료" {
		t.Errorf("gov's conversation %q", got)
	}
	if got := e.conversation(t, mainID); len(got) != 1 {
		t.Errorf("main's conversation %q", got)
	}
	// One list of changes and one count (the departure check) per project.
	if d := e.fake.Requests()[dooraytest.RouteListPosts] - mainBefore[dooraytest.RouteListPosts]; d != 2 {
		t.Errorf("main polled with %d lists", d)
	}
	if d := e.gov.Requests()[dooraytest.RouteListPosts] - govBefore[dooraytest.RouteListPosts]; d != 2 {
		t.Errorf("gov polled with %d lists", d)
	}
	if e.fake.Throttled()+e.gov.Throttled() != 0 {
		t.Errorf("throttled: main %d, gov %d", e.fake.Throttled(), e.gov.Throttled())
	}
	// Each organisation's poll has its own cursor.
	for _, org := range []string{"main", "gov"} {
		if _, ok, err := e.store.DooraySyncCursor(ctx, org, e.fake.ProjectID()); err != nil || !ok {
			t.Errorf("cursor of %s: %v %v", org, ok, err)
		}
	}
}

func TestDoorayEscalationTargets(t *testing.T) {
	t.Parallel()
	e := newOrgsEnv(t, map[string]any{"dooray_projects": []string{"4188888888888888888"}})
	for _, tt := range []struct {
		name, org, project string
		ok                 bool
	}{
		{"the defaults", "", "", true},
		{"another allowed project of the default organisation", "main", "4188888888888888888", true},
		{"a project the service does not name", "main", "4177777777777777777", false},
		{"gov's default project", "gov", "", true},
		{"gov, a project not named", "gov", "4188888888888888888", false},
		{"an organisation the service does not name", "finance", "", false},
	} {
		_, _, err := e.escalateTo(t, tt.org, tt.project)
		var in *ticket.InputError
		if tt.ok && err != nil || !tt.ok && !errors.As(err, &in) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

// The per-service switch: a service with Dooray! off refuses escalation with
// ErrDoorayOff (the API's dooray_disabled); its open escalations keep syncing.
func TestDooraySwitchedOffServiceKeepsSyncing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newOrgsEnv(t, nil)
	open, link, err := e.escalateTo(t, "gov", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.h.Escalate(ctx, link); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE services SET settings = settings || '{"dooray_enabled": false}' WHERE key = 'support'`); err != nil {
		t.Fatal(err)
	}
	refused, _, err := e.escalateTo(t, "", "")
	if !errors.Is(err, ticket.ErrDoorayOff) {
		t.Fatalf("escalation from a service with Dooray! off: %v", err)
	}
	if st := e.status(t, refused); st != ticket.StatusInProgress {
		t.Errorf("refused ticket is %s", st)
	}
	if err := e.gov.MovePost(e.gov.ProjectID(), e.postOf(t, open), "working"); err != nil {
		t.Fatal(err)
	}
	e.cycle(t)
	if st := e.status(t, open); st != ticket.StatusDoorayInProgress {
		t.Errorf("the open escalation did not sync: %s", st)
	}
	// An operator's comment on it still goes out.
	if _, err := e.store.DoorayComment(ctx, open, ticket.Note{Text: "고객 대기 중", Actor: "park"}); err != nil {
		t.Fatal(err)
	}
	var msgID int64
	e.pool.QueryRow(ctx, `SELECT id FROM ticket_messages WHERE ticket_id = $1 AND kind = 'dooray_out'`, open).Scan(&msgID)
	if err := e.h.Comment(ctx, msgID); err != nil {
		t.Fatal(err)
	}
	if c := e.gov.Comments(e.postOf(t, open)); len(c) != 1 {
		t.Errorf("%d comments on gov's task", len(c))
	}
}

// The fan-out queues the polls of several organisations in turn, so that the
// workers taking them use every organisation's rate limit at once.
func TestDoorayPollsInterleaveOrganizations(t *testing.T) {
	p := func(org, project string) ticket.DoorayProject {
		return ticket.DoorayProject{Organization: org, ProjectID: project}
	}
	got := interleaveOrganizations([]ticket.DoorayProject{p("a", "1"), p("a", "2"), p("a", "3"), p("b", "1"), p("c", "1"), p("c", "2")})
	want := []ticket.DoorayProject{p("a", "1"), p("b", "1"), p("c", "1"), p("a", "2"), p("c", "2"), p("a", "3")}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}
