package jobs

import (
	"context"
	"testing"

	"github.com/contiple/contiple-worker/dooray/dooraytest"
	"github.com/contiple/contiple-worker/ticket"
)

// A task deleted in Dooray!'s web UI, and one moved to a project we do not
// poll, show in no list of changes. The periodic poll notices both anyway, at
// one request per project while nothing leaves.
func TestDoorayPollNoticesDeletedAndMovedTasks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newDoorayEnv(t, doorayEnvOpts{})
	project := e.fake.ProjectID()
	elsewhere := e.fake.AddProject("elsewhere") // followed by no link: never polled
	var ids []int64
	var posts []string
	for range 4 {
		id, post := e.transferred(t)
		ids, posts = append(ids, id), append(posts, post)
	}
	// A task of the bot's that is not ours (made by hand with its token).
	if _, err := e.fake.AddPost(project, dooraytest.Seed{Subject: "weekly report"}); err != nil {
		t.Fatal(err)
	}
	e.cycle(t) // the first poll learns the baseline
	if got := e.cycle(t); got[dooraytest.RouteListPosts] != 2 || sum(got) != 2 {
		t.Errorf("quiet cycle: %v, want the changed list and the count", got)
	}

	if err := e.fake.DeletePost(project, posts[0]); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.MovePostToProject(posts[1], elsewhere); err != nil {
		t.Fatal(err)
	}
	got := e.cycle(t)
	// The changed list, the count, one page of the bot's tasks, and a read by
	// id of each missing task (the moved one's comments are read too).
	if got[dooraytest.RouteListPosts] != 3 || got[dooraytest.RoutePostByID] != 2 {
		t.Errorf("departure cycle: %v", got)
	}
	var class, where string
	e.pool.QueryRow(ctx, `SELECT workflow_class FROM dooray_links WHERE post_id = $1`, posts[0]).Scan(&class)
	if class != ticket.DoorayDeleted || doorayCount(e.eventKinds(t, ids[0]), ticket.EventDoorayTaskDeleted) != 1 {
		t.Errorf("deleted task: class %q, events %v", class, e.eventKinds(t, ids[0]))
	}
	e.pool.QueryRow(ctx, `SELECT project_id FROM dooray_links WHERE post_id = $1`, posts[1]).Scan(&where)
	if where != elsewhere || doorayCount(e.eventKinds(t, ids[1]), ticket.EventDoorayTaskMoved) != 1 {
		t.Errorf("moved task: project %s, events %v", where, e.eventKinds(t, ids[1]))
	}
	for _, id := range ids[2:] {
		if k := e.eventKinds(t, id); doorayCount(k, ticket.EventDoorayTaskDeleted)+doorayCount(k, ticket.EventDoorayTaskMoved) != 0 {
			t.Errorf("ticket %d: %v", id, k)
		}
	}

	// The moved task is followed where it went: a move there reaches its ticket.
	if err := e.fake.MovePost(elsewhere, posts[1], "working"); err != nil {
		t.Fatal(err)
	}
	e.cycle(t)
	if st := e.status(t, ids[1]); st != ticket.StatusDoorayInProgress {
		t.Errorf("the moved task's ticket is %s", st)
	}
	// Back to quiet: one list and one count per project.
	if got := e.cycle(t); got[dooraytest.RouteListPosts] != 4 || sum(got) != 4 {
		t.Errorf("quiet cycle over two projects: %v", got)
	}
}

// Deleting gov's task leaves main's task of the same id alone: the count, the
// listing and the read by id all go to the organisation of the link.
func TestDoorayDeparturesStayInTheirOrganization(t *testing.T) {
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
	post := e.postOf(t, govID)
	if post != e.postOf(t, mainID) {
		t.Fatal("the two tasks should share an id here")
	}
	e.cycle(t)
	if err := e.gov.DeletePost(e.gov.ProjectID(), post); err != nil {
		t.Fatal(err)
	}
	e.cycle(t)
	if n := doorayCount(e.eventKinds(t, govID), ticket.EventDoorayTaskDeleted); n != 1 {
		t.Errorf("gov's ticket: %d dooray_task_deleted events", n)
	}
	if n := doorayCount(e.eventKinds(t, mainID), ticket.EventDoorayTaskDeleted); n != 0 {
		t.Errorf("main's ticket: %d dooray_task_deleted events", n)
	}
	if err := e.fake.MovePost(e.fake.ProjectID(), post, "working"); err != nil {
		t.Fatal(err)
	}
	e.cycle(t)
	if st := e.status(t, mainID); st != ticket.StatusDoorayInProgress {
		t.Errorf("main's ticket is %s", st)
	}
}
