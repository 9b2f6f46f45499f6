package ticket_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/ticket"
)

// doorayEscalated returns a ticket escalated to project P1 and its link.
func doorayEscalated(t *testing.T, s *ticket.Store, pool *pgxpool.Pool) (ticket.Ticket, int64) {
	t.Helper()
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `UPDATE services SET settings = '{"dooray_to_member_ids": ["m1", "m2"], "dooray_to_emails": "v@example.com"}'
		WHERE key = 'support'`); err != nil {
		t.Fatal(err)
	}
	tk := mustCreate(t, s)
	if _, err := s.Assign(ctx, tk.ID, ticket.Assignment{Operator: "sato"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Escalate(ctx, tk.ID, ticket.Escalation{ProjectID: "P1", Content: "please look", Actor: "sato"}); err != nil {
		t.Fatal(err)
	}
	var link int64
	if err := pool.QueryRow(ctx, `SELECT id FROM dooray_links WHERE ticket_id = $1`, tk.ID).Scan(&link); err != nil {
		t.Fatal(err)
	}
	return tk, link
}

func doorayKinds(t *testing.T, s *ticket.Store, id int64) map[string]int {
	t.Helper()
	evs, err := s.Events(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range evs {
		out[e.Kind]++
	}
	return out
}

func TestDoorayEscalationLoadsSettings(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t, nil)
	tk, link := doorayEscalated(t, s, pool)
	e, err := s.DoorayEscalation(context.Background(), link)
	if err != nil {
		t.Fatal(err)
	}
	if e.TicketID != tk.ID || e.ProjectID != "P1" || e.Content != "please look" || e.PostID != "" || e.Status != ticket.StatusInProgress ||
		len(e.ToMemberIDs) != 2 || len(e.ToEmails) != 1 || e.ToEmails[0] != "v@example.com" || e.UncertainAt != nil {
		t.Fatalf("escalation = %+v", e)
	}
	if _, err := s.DoorayEscalation(context.Background(), link+100); !errors.Is(err, ticket.ErrNotFound) {
		t.Errorf("unknown link: %v", err)
	}
}

func TestDoorayTaskCreatedIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t, nil)
	tk, link := doorayEscalated(t, s, pool)
	for range 2 {
		got, err := s.DoorayTaskCreated(ctx, link, ticket.DoorayTask{PostID: "4100000000000000001", Number: 7, TaskNumber: "hd/7"}, "dooray")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != ticket.StatusDoorayTransferred {
			t.Fatalf("status %s", got.Status)
		}
	}
	if _, err := s.DoorayTaskCreated(ctx, link, ticket.DoorayTask{PostID: "4100000000000000002"}, "dooray"); err == nil {
		t.Error("a second task for one link was accepted")
	}
	if k := doorayKinds(t, s, tk.ID); k["dooray_created"] != 1 {
		t.Errorf("events %v", k)
	}
	e, _ := s.DoorayEscalation(ctx, link)
	if e.PostID != "4100000000000000001" {
		t.Errorf("post %q", e.PostID)
	}
}

// A task created for a ticket that moved on meanwhile is recorded, status kept.
func TestDoorayTaskCreatedAfterTheTicketMovedOn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t, nil)
	tk, link := doorayEscalated(t, s, pool)
	if _, err := s.InternalResolve(ctx, tk.ID, ticket.Note{Text: "phone"}, false); err != nil {
		t.Fatal(err)
	}
	got, err := s.DoorayTaskCreated(ctx, link, ticket.DoorayTask{PostID: "4100000000000000001"}, "dooray")
	if err != nil || got.Status != ticket.StatusResolved {
		t.Fatalf("%s, %v", got.Status, err)
	}
	if k := doorayKinds(t, s, tk.ID); k["dooray_created"] != 1 {
		t.Errorf("events %v", k)
	}
}

func TestApplyDoorayTask(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t, nil)
	tk, link := doorayEscalated(t, s, pool)
	const post = "4100000000000000001"
	if _, err := s.DoorayTaskCreated(ctx, link, ticket.DoorayTask{PostID: post}, "dooray"); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	steps := []struct {
		name     string
		class    string
		at       time.Time
		comments []ticket.DoorayComment
		want     ticket.Status
		stale    bool
		changed  bool
		newMsgs  int
	}{
		{"still registered", "registered", t0, nil, ticket.StatusDoorayTransferred, false, false, 0},
		{"working", "working", t0.Add(time.Minute), []ticket.DoorayComment{{LogID: "L1", Author: "dooray:kim", Body: "on it"}},
			ticket.StatusDoorayInProgress, false, true, 1},
		{"the same again", "working", t0.Add(time.Minute), []ticket.DoorayComment{{LogID: "L1", Author: "dooray:kim", Body: "on it"}},
			ticket.StatusDoorayInProgress, false, false, 0},
		{"closed", "closed", t0.Add(3 * time.Minute), nil, ticket.StatusDoorayAnswered, false, true, 0},
		{"a stale read", "working", t0.Add(2 * time.Minute), []ticket.DoorayComment{{LogID: "L2", Body: "late"}},
			ticket.StatusDoorayAnswered, true, false, 1},
		{"back to registered", "registered", t0.Add(4 * time.Minute), nil, ticket.StatusDoorayAnswered, false, true, 0},
		{"working again", "working", t0.Add(5 * time.Minute), nil, ticket.StatusDoorayInProgress, false, true, 0},
	}
	for _, st := range steps {
		res, err := s.ApplyDoorayTask(ctx, ticket.DoorayTaskState{LinkID: link, PostID: post, Class: st.class, UpdatedAt: st.at,
			Comments: st.comments, Actor: "dooray"})
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if res.Status != st.want || res.Stale != st.stale || res.ClassChanged != st.changed || res.NewComments != st.newMsgs {
			t.Errorf("%s: %+v", st.name, res)
		}
	}
	k := doorayKinds(t, s, tk.ID)
	if k["dooray_working"] != 2 || k["dooray_closed"] != 1 || k[ticket.EventDoorayWorkflow] != 1 || k[ticket.EventDoorayCommentIn] != 2 {
		t.Errorf("events %v", k)
	}
	if _, err := s.ApplyDoorayTask(ctx, ticket.DoorayTaskState{LinkID: link, PostID: "other"}); err == nil {
		t.Error("a state of another task was applied")
	}
}

func TestDoorayCommentSentIsNotTakenBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t, nil)
	tk, link := doorayEscalated(t, s, pool)
	const post = "4100000000000000001"
	if _, err := s.DoorayTaskCreated(ctx, link, ticket.DoorayTask{PostID: post}, "dooray"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DoorayComment(ctx, tk.ID, ticket.Note{Text: "from us", Actor: "sato"}); err != nil {
		t.Fatal(err)
	}
	var msg int64
	pool.QueryRow(ctx, `SELECT id FROM ticket_messages WHERE kind = 'dooray_out'`).Scan(&msg)
	o, err := s.DoorayOutgoing(ctx, msg)
	if err != nil || o.PostID != post || o.ProjectID != "P1" || o.Body != "from us" || o.LogID != "" {
		t.Fatalf("outgoing %+v, %v", o, err)
	}
	// A sync raced the record and took our comment in as someone else's.
	if _, err := s.ApplyDoorayTask(ctx, ticket.DoorayTaskState{LinkID: link, PostID: post, UpdatedAt: time.Now(),
		Comments: []ticket.DoorayComment{{LogID: "L9", Body: "from us"}}}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.DoorayCommentSent(ctx, msg, "L9", "dooray"); err != nil {
			t.Fatal(err)
		}
	}
	msgs, _ := s.Messages(ctx, tk.ID)
	n := 0
	for _, m := range msgs {
		if m.DoorayLogID == "L9" {
			n++
			if m.Kind != ticket.MessageDoorayOut {
				t.Errorf("L9 is a %s message", m.Kind)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d messages for L9", n)
	}
	if k := doorayKinds(t, s, tk.ID); k[ticket.EventDoorayCommentSent] != 1 {
		t.Errorf("events %v", k)
	}
}

func TestDooraySyncCursorNeverGoesBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t, nil)
	if c, _, err := s.DooraySyncCursor(ctx, ticket.DoorayDefaultOrganization, "P1"); err != nil || !c.IsZero() {
		t.Fatalf("no links: %v, %v", c, err)
	}
	tk, link := doorayEscalated(t, s, pool)
	if _, err := s.DoorayTaskCreated(ctx, link, ticket.DoorayTask{PostID: "4100000000000000001"}, "dooray"); err != nil {
		t.Fatal(err)
	}
	if c, ok, err := s.DooraySyncCursor(ctx, ticket.DoorayDefaultOrganization, "P1"); err != nil || ok || c.IsZero() {
		t.Fatalf("first poll starts at the link: %v %v %v", c, ok, err)
	}
	t1 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	s.SetDooraySyncCursor(ctx, ticket.DoorayDefaultOrganization, "P1", t1)
	s.SetDooraySyncCursor(ctx, ticket.DoorayDefaultOrganization, "P1", t1.Add(-time.Hour))
	if c, ok, _ := s.DooraySyncCursor(ctx, ticket.DoorayDefaultOrganization, "P1"); !ok || !c.Equal(t1) {
		t.Errorf("cursor %v", c)
	}
	if ps, _ := s.DoorayProjects(ctx); len(ps) != 1 || ps[0] != (ticket.DoorayProject{Organization: ticket.DoorayDefaultOrganization, ProjectID: "P1"}) {
		t.Errorf("projects %v", ps)
	}
	if ok, _ := s.DoorayPostLinked(ctx, ticket.DoorayDefaultOrganization, "4100000000000000001"); !ok {
		t.Error("post not linked")
	}
	if _, err := s.Resolve(ctx, tk.ID, ticket.Note{Text: "done"}); err != nil {
		t.Fatal(err)
	}
	if ps, _ := s.DoorayProjects(ctx); len(ps) != 0 {
		t.Errorf("a resolved ticket's project is still polled: %v", ps)
	}
}

// A Dooray! lease holds while its run lives, however long (it is renewed),
// and runs out soon after the worker holding it dies, so that the work is
// not stuck for the task's whole timeout.
func TestDoorayLeaseRenewedWhileHeldAndRunsOutWhenAbandoned(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := ticket.NewStore(testenv.NewDatabase(t), nil)
	ticket.SetDoorayLeaseTiming(s, time.Second, 200*time.Millisecond)
	held, err := s.LeaseDoorayEscalation(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond) // well past the TTL: renewed
	if _, err := s.LeaseDoorayEscalation(ctx, 7); !errors.Is(err, ticket.ErrDoorayBusy) {
		t.Fatalf("a held lease was taken after its TTL: %v", err)
	}
	held.Abandon()
	testenv.WaitFor(t, 10*time.Second, "the abandoned lease to run out", func() bool {
		l, err := s.LeaseDoorayEscalation(ctx, 7)
		if err == nil {
			l.Release()
		}
		return err == nil
	})
	l, err := s.LeaseDoorayComment(ctx, 7) // another key is its own lease
	if err != nil {
		t.Fatal(err)
	}
	l.Release()
	l.Release() // twice is harmless
}
