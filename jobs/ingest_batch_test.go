package jobs

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/contiple/contiple-worker/ticket"
)

// The mails of one poll are one mail:ingest task, ingested in fetch order: a
// reply stored in the same batch as the mail it answers joins the ticket the
// batch made for it (even with a big mail, ingested on its own, between
// them), triggers assign in that order, and running the task again (a retry
// after a crash) makes nothing twice.
func TestBatchIntakeKeepsOrderThreadingAndTriggers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newIntake(t, ticket.Trigger{Name: "rotation", Channels: []string{"email"}, AssignSequence: []string{"ito", "kato", "sato"}})
	att := make([]byte, 2<<20)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range att {
		att[i] = byte(rng.Uint32())
	}
	raws := []string{
		mailFrom("a@example.jp", "注文について", "届きません", "Message-ID: <a1@example.jp>"),
		largeMail("big", att),
		mailFrom("a@example.jp", "Re: 注文について", "まだです", "Message-ID: <a2@example.jp>", "In-Reply-To: <a1@example.jp>"),
		mailFrom("c@example.jp", "請求書", "再発行を", "Message-ID: <c1@example.jp>"),
	}
	var batch []ticket.Fetched
	for i, raw := range raws {
		batch = append(batch, ticket.Fetched{UID: uint32(i + 1), Raw: []byte(raw), Size: int64(len(raw))})
	}
	ids, err := in.store.SaveFetched(ctx, in.mailbox.ID, 7, batch)
	if err != nil || len(ids) != len(raws) {
		t.Fatalf("save: %v %v", ids, err)
	}
	var payload []byte
	if err := in.pool.QueryRow(ctx, "SELECT payload FROM outbox WHERE kind = 'mail:ingest'").Scan(&payload); err != nil {
		t.Fatalf("the one mail:ingest owed: %v", err)
	}
	for range 2 { // the second run is a retry: all done already
		if err := in.h.handle(ctx, asynq.NewTask(TypeMailIngest, payload)); err != nil {
			t.Fatal(err)
		}
	}

	type row struct {
		ticket   int64
		assignee string
	}
	var got []row
	for _, id := range ids {
		var r row
		if err := in.pool.QueryRow(ctx, `SELECT i.ticket_id, t.assignee FROM inbound_mails i JOIN tickets t ON t.id = i.ticket_id
			WHERE i.id = $1 AND i.state = 'processed'`, id).Scan(&r.ticket, &r.assignee); err != nil {
			t.Fatalf("inbound mail %d: %v", id, err)
		}
		got = append(got, r)
	}
	if got[2].ticket != got[0].ticket {
		t.Errorf("the reply went to ticket %d, not %d of the mail it answers", got[2].ticket, got[0].ticket)
	}
	assignees := []string{got[0].assignee, got[1].assignee, got[3].assignee}
	if want := []string{"ito", "kato", "sato"}; !slices.Equal(assignees, want) {
		t.Errorf("assigned %v in fetch order, want %v", assignees, want)
	}
	var tickets, messages int
	if err := in.pool.QueryRow(ctx, "SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM ticket_messages)").Scan(&tickets, &messages); err != nil {
		t.Fatal(err)
	}
	if tickets != 3 || messages != 4 {
		t.Errorf("%d tickets and %d messages, want 3 and 4", tickets, messages)
	}
}

// An old single-mail payload (mail retry, tasks queued before batches) still works.
func TestIngestTaskOfOneMail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newIntake(t)
	raw := mailFrom("d@example.jp", "一通", "本文", "Message-ID: <d1@example.jp>")
	ids, err := in.store.SaveFetched(ctx, in.mailbox.ID, 7, []ticket.Fetched{{UID: 1, Raw: []byte(raw), Size: int64(len(raw))}})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.h.handle(ctx, asynq.NewTask(TypeMailIngest, fmt.Appendf(nil, `{"inbound_mail_id":%d}`, ids[0]))); err != nil {
		t.Fatal(err)
	}
	var state string
	if err := in.pool.QueryRow(ctx, "SELECT state FROM inbound_mails WHERE id = $1", ids[0]).Scan(&state); err != nil || state != "processed" {
		t.Errorf("state %q, %v", state, err)
	}
}

// When the database refuses a batch's transaction (here: a mail gone between
// reading the batch and ingesting it), the mails are ingested one by one, so
// one mail does not hold the others back.
func TestBatchIntakeFallsBackToOneByOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newIntake(t)
	var batch []ticket.Fetched
	for i := range 3 {
		raw := mailFrom(fmt.Sprintf("e%d@example.jp", i), "質問", "本文", fmt.Sprintf("Message-ID: <e%d@example.jp>", i))
		batch = append(batch, ticket.Fetched{UID: uint32(i + 1), Raw: []byte(raw), Size: int64(len(raw))})
	}
	ids, err := in.store.SaveFetched(ctx, in.mailbox.ID, 7, batch)
	if err != nil {
		t.Fatal(err)
	}
	chunk, err := in.store.InboundBatch(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	gone := ticket.InboundMail{ID: ids[2] + 1000, State: ticket.InboundReceived, RawSize: 10}
	chunk = append(chunk[:1], append([]ticket.InboundMail{gone}, chunk[1:]...)...)
	if err := in.h.ingestChunk(ctx, chunk, 1000); err != nil {
		t.Fatalf("ingestChunk: %v", err)
	}
	var processed int
	if err := in.pool.QueryRow(ctx, "SELECT count(*) FROM inbound_mails WHERE state = 'processed' AND ticket_id IS NOT NULL").Scan(&processed); err != nil || processed != 3 {
		t.Errorf("%d of 3 mails processed (%v)", processed, err)
	}
}
