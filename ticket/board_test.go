package ticket_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/contiple/contiple-worker/ticket"
)

// The board's two sides count what the seed says, the spam box left out.
func TestBoardAllAndMy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t, nil)
	must := func(_ ticket.Ticket, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	assign := func(id int64, op string) { must(s.Assign(ctx, id, ticket.Assignment{Operator: op, Actor: op})) }
	mustCreate(t, s) // unassigned
	inProgress := mustCreate(t, s)
	assign(inProgress.ID, "aoki")
	held := mustCreate(t, s)
	assign(held.ID, "aoki")
	must(s.Hold(ctx, held.ID, ticket.Note{Text: "確認中です", Actor: "aoki"}))
	resolved := mustCreate(t, s)
	assign(resolved.ID, "aoki")
	must(s.InternalResolve(ctx, resolved.ID, ticket.Note{Actor: "aoki"}, false))
	spam := mustCreate(t, s)
	must(s.InternalResolve(ctx, spam.ID, ticket.Note{Actor: "aoki"}, true))
	old := mustCreate(t, s) // came in two days ago, resolved today by someone else
	assign(old.ID, "baba")
	must(s.InternalResolve(ctx, old.ID, ticket.Note{Actor: "baba"}, false))
	if _, err := pool.Exec(ctx, "UPDATE tickets SET created_at = now() - interval '2 days' WHERE id = $1", old.ID); err != nil {
		t.Fatal(err)
	}

	all, err := s.Board(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := ticket.Board{ReceivedToday: 4, ResolvedToday: 2, InProgress: 1, OnHold: 1, Unassigned: 1, ProcessingRate: 0.25}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("ALL (-want +got):\n%s", diff)
	}
	my, err := s.MyBoard(ctx, "aoki")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ticket.MyBoard{Operator: "aoki", ResolvedToday: 1, InProgress: 1, OnHold: 1}, my); diff != "" {
		t.Errorf("MY (-want +got):\n%s", diff)
	}
}
