package jobs

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contiple/contiple-worker/dooray/dooraytest"
	"github.com/contiple/contiple-worker/ticket"
)

// doorayClock is the fake's clock, movable so that bulk tasks can be made in
// the past.
type doorayClock struct{ offset atomic.Int64 }

func (c *doorayClock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *doorayClock) set(d time.Duration) { c.offset.Store(int64(d)) }

// doorayBulk is n followed escalations over projects, made two hours ago and
// synced one hour ago: the steady state a poll cycle starts from.
type doorayBulk struct {
	projects []string
	tickets  []int64
	posts    []string
	project  []string // of each post
}

// bulkLinks writes the tickets, messages and links with a few SQL statements
// and adds the tasks to the fake directly.
func (e *doorayEnv) bulkLinks(t testing.TB, clock *doorayClock, projects, n int) doorayBulk {
	return e.bulkLinksIn(t, clock, e.fake, ticket.DoorayDefaultOrganization, projects, n)
}

// bulkLinksIn is bulkLinks in organisation org, whose fake is fake.
func (e *doorayEnv) bulkLinksIn(t testing.TB, clock *doorayClock, fake *dooraytest.Server, org string, projects, n int) doorayBulk {
	t.Helper()
	ctx := context.Background()
	b := doorayBulk{projects: []string{fake.ProjectID()}}
	for i := 1; i < projects; i++ {
		b.projects = append(b.projects, fake.AddProject(fmt.Sprintf("p%02d", i)))
	}
	rows, err := e.pool.Query(ctx, `INSERT INTO tickets (service_key, subject, status, channel, assignee)
		SELECT 'support', 'bulk ' || g, 'dooray_transferred', 'created', 'kim' FROM generate_series(1, $1) g RETURNING id`, n)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		b.tickets = append(b.tickets, id)
	}
	rows.Close()
	msgs := map[int64]int64{}
	rows, err = e.pool.Query(ctx, `INSERT INTO ticket_messages (ticket_id, kind, author, body)
		SELECT id, 'escalation', 'kim', 'bulk' FROM unnest($1::bigint[]) id RETURNING ticket_id, id`, b.tickets)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tid, mid int64
		rows.Scan(&tid, &mid)
		msgs[tid] = mid
	}
	rows.Close()
	clock.set(-2 * time.Hour)
	msgIDs := make([]int64, n)
	for i, id := range b.tickets {
		p := b.projects[i%len(b.projects)]
		post, err := fake.AddPost(p, dooraytest.Seed{Subject: ticket.Marker(id) + " bulk", To: []string{fake.OtherMemberID()}})
		if err != nil {
			t.Fatal(err)
		}
		b.posts = append(b.posts, post)
		b.project = append(b.project, p)
		msgIDs[i] = msgs[id]
	}
	clock.set(0)
	synced := time.Now().Add(-time.Hour)
	if _, err := e.pool.Exec(ctx, `INSERT INTO dooray_links (ticket_id, escalation_message_id, organization, project_id, post_id,
			workflow_class, created_at, updated_at)
		SELECT t, m, $6, p, po, 'registered', $5::timestamptz - interval '1 hour', $5
		FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) AS u(t, m, p, po)`,
		b.tickets, msgIDs, b.project, b.posts, synced, org); err != nil {
		t.Fatal(err)
	}
	for _, p := range b.projects {
		if err := e.store.SetDooraySyncCursor(ctx, org, p, synced); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// cycle runs one poll round as the scheduler would: the fan-out, then each
// project's poll. It returns the requests it cost by route.
func (e *doorayEnv) cycle(t testing.TB) map[string]int {
	t.Helper()
	ctx := context.Background()
	before := e.fake.Requests()
	task, _ := NewDooraySyncAllTask("", time.Minute) // every organisation
	if err := e.h.handleSync(ctx, task); err != nil {
		t.Fatal(err)
	}
	for _, task := range e.queue.take() {
		if err := e.h.handleSync(ctx, task); err != nil {
			t.Fatal(err)
		}
	}
	after := e.fake.Requests()
	for k, v := range before {
		after[k] -= v
		if after[k] == 0 {
			delete(after, k)
		}
	}
	return after
}

func TestDoorayPollCostFollowsChangesNotLinks(t *testing.T) {
	t.Parallel()
	clock := &doorayClock{}
	e := newDoorayEnv(t, doorayEnvOpts{clock: clock})
	start := time.Now()
	b := e.bulkLinks(t, clock, 20, 10000)
	t.Logf("10,000 links over 20 projects set up in %v", time.Since(start))

	// 50 changes: 25 tasks move to working, 25 get a comment.
	var moved, commented []int
	for k := range 50 {
		i := k * 199 % len(b.posts)
		if k%2 == 0 {
			if err := e.fake.MovePost(b.project[i], b.posts[i], "working"); err != nil {
				t.Fatal(err)
			}
			moved = append(moved, i)
		} else {
			if _, err := e.fake.AddComment(b.project[i], b.posts[i], fmt.Sprintf("comment %d", k)); err != nil {
				t.Fatal(err)
			}
			commented = append(commented, i)
		}
	}
	start = time.Now()
	got := e.cycle(t)
	took := time.Since(start)
	t.Logf("cycle: %v in %v", got, took)
	if got[dooraytest.RouteListPosts] != 40 || got[dooraytest.RouteListLogs] != 50 || got[dooraytest.RouteMember] != 1 || sum(got) != 91 {
		t.Errorf("requests %v, want 40 lists (per project the changes and the departure count), 50 log reads (one per change) "+
			"and the commenter's name once", got)
	}
	for _, i := range moved {
		if st := e.status(t, b.tickets[i]); st != ticket.StatusDoorayInProgress {
			t.Errorf("ticket %d: %s", b.tickets[i], st)
		}
	}
	for _, i := range commented {
		if c := e.conversation(t, b.tickets[i]); len(c) != 2 {
			t.Errorf("ticket %d: %q", b.tickets[i], c)
		}
	}
	// A quiet cycle costs two lists per project (the changes, the count): the
	// overlap's changes are skipped.
	if got := e.cycle(t); sum(got) != 40 {
		t.Errorf("quiet cycle: %v", got)
	}
}
