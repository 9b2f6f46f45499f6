package jobs

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/contiple/contiple-worker/dooray"
	"github.com/contiple/contiple-worker/dooray/dooraytest"
	"github.com/contiple/contiple-worker/ticket"
)

// escalatedAs is escalated with the ticket's subject given.
func (e *doorayEnv) escalatedAs(t testing.TB, project, subject string) (int64, int64) {
	t.Helper()
	ctx := context.Background()
	tk, err := e.store.Create(ctx, ticket.NewTicket{Service: "support", Subject: subject, CustomerEmail: "c@example.jp", Body: "…"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Assign(ctx, tk.ID, ticket.Assignment{Operator: "sato"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Escalate(ctx, tk.ID, ticket.Escalation{ProjectID: project, Content: "please look", Actor: "sato"}); err != nil {
		t.Fatal(err)
	}
	var link int64
	if err := e.pool.QueryRow(ctx, `SELECT id FROM dooray_links WHERE ticket_id = $1 ORDER BY id DESC LIMIT 1`, tk.ID).Scan(&link); err != nil {
		t.Fatal(err)
	}
	return tk.ID, link
}

// A colleague answering a hold mail from another address makes a ticket whose
// subject carries the first ticket's marker. Its task ("[CT-B] Re: [CT-A] …")
// is never taken for ticket A's, nor is a task a human wrote with A's marker.
func TestDoorayMarkerFindsOnlyOurOwnTask(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newDoorayEnv(t, doorayEnvOpts{settle: 200 * time.Millisecond})
	project := e.fake.ProjectID()
	a, linkA := e.escalatedAs(t, project, "印刷できません")
	b, linkB := e.escalatedAs(t, project, "Re: "+ticket.Marker(a)+" 印刷できません")
	if err := e.h.Escalate(ctx, linkB); err != nil {
		t.Fatal(err)
	}
	postB := e.postOf(t, b)
	if _, err := e.fake.AddPost(project, dooraytest.Seed{Subject: ticket.Marker(a) + " noted by hand", From: e.fake.OtherMemberID()}); err != nil {
		t.Fatal(err)
	}
	// A's create fails before taking effect: the outcome is unknown, so the
	// job looks A's marker up before creating again.
	e.fake.Inject(dooraytest.Fault{Route: dooraytest.RouteCreatePost, Status: 500})
	var err error
	for range 3 {
		if err = e.h.Escalate(ctx, linkA); err == nil || errors.Is(err, asynq.SkipRetry) {
			break
		}
	}
	if err != nil {
		t.Fatalf("escalate A: %v", err)
	}
	postA := e.postOf(t, a)
	if postA == "" || postA == postB {
		t.Fatalf("ticket A's task %q, ticket B's %q", postA, postB)
	}
	p, _ := e.fake.Post(postA)
	if p.Subject != ticket.Marker(a)+" 印刷できません" || p.From != e.fake.BotMemberID() {
		t.Errorf("ticket A's task: %+v", p)
	}
	if n := doorayCount(e.eventKinds(t, a), ticket.EventDoorayFailed); n != 0 {
		t.Errorf("%d dooray_failed events on A", n)
	}
}

func TestDoorayOwnTask(t *testing.T) {
	bot := dooray.ID("41")
	by := func(id dooray.ID) *dooray.User { u := dooray.Member(id); return &u }
	for _, tt := range []struct {
		subject string
		from    *dooray.User
		want    bool
	}{
		{"[CT-7] printer", by(bot), true},
		{"[CT-7]", by(bot), true},
		{"[CT-9] Re: [CT-7] printer", by(bot), false},
		{"Re: [CT-7] printer", by(bot), false},
		{"[CT-70] printer", by(bot), false},
		{"[CT-7]printer", by(bot), false},
		{"[CT-7] printer", by("42"), false},
		{"[CT-7] printer", nil, false},
	} {
		p := dooray.Post{Subject: tt.subject}
		p.Users.From = tt.from
		if got := ownTask(p, 7, bot); got != tt.want {
			t.Errorf("ownTask(%q, from %v) = %v, want %v", tt.subject, tt.from, got, tt.want)
		}
	}
}

// A task another escalation links already cannot become this one's: the
// unique constraint's refusal ends the job for good, with an event, instead of
// a retry every few minutes for days.
func TestDoorayTaskLinkedElsewhereFailsForGood(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newDoorayEnv(t, doorayEnvOpts{})
	b, postB := e.transferred(t)
	a, linkA := e.escalated(t, e.fake.ProjectID())
	esc, err := e.store.DoorayEscalation(ctx, linkA)
	if err != nil {
		t.Fatal(err)
	}
	err = e.h.recordTask(ctx, esc, dooray.Post{ID: dooray.ID(postB)})
	if !errors.Is(err, asynq.SkipRetry) || !strings.Contains(err.Error(), "linked to another escalation") {
		t.Fatalf("recording B's task for A: %v, want a permanent failure", err)
	}
	if n := doorayCount(e.eventKinds(t, a), ticket.EventDoorayFailed); n != 1 {
		t.Errorf("%d dooray_failed events on A", n)
	}
	if got := e.postOf(t, a); got != "" {
		t.Errorf("A's link has task %q", got)
	}
	if got := e.postOf(t, b); got != postB {
		t.Errorf("B's link has task %q, want %q", got, postB)
	}
}

// When Redis loses an active task, asynq's worker keeps running it while the
// relay queues it again: two runs of one escalation (one comment) overlap.
// With the create slow, both would find nothing and both create; the per-link
// lease makes the second wait for a later try, which finds the work done.
func TestDoorayOverlappingRunsMakeOneTaskAndOneComment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newDoorayEnv(t, doorayEnvOpts{})
	overlap := func(route string, run func() error) []error {
		e.fake.Inject(dooraytest.Fault{Route: route, Delay: 600 * time.Millisecond})
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() { errs[i] = run() })
			time.Sleep(100 * time.Millisecond) // the first is inside its create
		}
		wg.Wait()
		return append(errs, run()) // the retry, once both are over
	}

	id, link := e.escalated(t, e.fake.ProjectID())
	errs := overlap(dooraytest.RouteCreatePost, func() error { return e.h.Escalate(ctx, link) })
	if !oneBusy(errs) {
		t.Errorf("escalate runs: %v", errs)
	}
	if posts := e.withMarker(e.fake.ProjectID(), id); len(posts) != 1 {
		t.Fatalf("%d tasks for %s: %+v", len(posts), ticket.Marker(id), posts)
	}
	post := e.postOf(t, id)

	if _, err := e.store.DoorayComment(ctx, id, ticket.Note{Text: "please hurry", Actor: "sato"}); err != nil {
		t.Fatal(err)
	}
	var msgID int64
	if err := e.pool.QueryRow(ctx, `SELECT id FROM ticket_messages WHERE ticket_id = $1 AND kind = 'dooray_out'`, id).Scan(&msgID); err != nil {
		t.Fatal(err)
	}
	errs = overlap(dooraytest.RouteCreateLog, func() error { return e.h.Comment(ctx, msgID) })
	if !oneBusy(errs) {
		t.Errorf("comment runs: %v", errs)
	}
	if c := e.fake.Comments(post); len(c) != 1 {
		t.Errorf("%d comments on the task: %+v", len(c), c)
	}
}

// oneBusy: of the two overlapping runs one did the work and the other found
// it leased; the run after both found it done.
func oneBusy(errs []error) bool {
	busy := func(err error) bool { return errors.Is(err, ticket.ErrDoorayBusy) }
	return (errs[0] == nil && busy(errs[1]) || busy(errs[0]) && errs[1] == nil) && errs[2] == nil
}
