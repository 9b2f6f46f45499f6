package jobs

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/contiple/contiple-worker/ticket"
)

// TestRawRetentionKeepsWhatIsStillNeeded: old processed mail loses its raw
// mail; recent mail, and failed mail (which `mail retry` reads), keep theirs;
// the same mail delivered again is still recognised as a duplicate.
func TestRawRetentionKeepsWhatIsStillNeeded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	in := newIntake(t)
	old := in.deliver(mailFrom("a@example.jp", "old", "古い問い合わせ", "Message-ID: <old@example.jp>"))
	recent := in.deliver(mailFrom("b@example.jp", "recent", "新しい問い合わせ", "Message-ID: <recent@example.jp>"))
	in.h.Parse.MaxSize = 100 // too large to read: kept as failed, with its raw mail
	failed := in.deliver(mailFrom("c@example.jp", "too large", "大きすぎる問い合わせ", "Message-ID: <failed@example.jp>"))
	in.h.Parse.MaxSize = 0
	if old.Outcome != ticket.IngestCreated || recent.Outcome != ticket.IngestCreated || failed.Outcome != ticket.IngestFailed {
		t.Fatalf("deliveries: %+v %+v %+v", old, recent, failed)
	}
	if _, err := in.pool.Exec(ctx, `UPDATE inbound_mails SET received_at = now() - interval '40 days'
		WHERE message_id IN ('old@example.jp', 'failed@example.jp')`); err != nil {
		t.Fatal(err)
	}
	r := &RawRetention{Store: in.store, After: 30 * 24 * time.Hour, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	n, err := r.Expire(ctx)
	if err != nil || n != 1 {
		t.Fatalf("expire: %d, %v; want 1", n, err)
	}
	rows, err := in.pool.Query(ctx, "SELECT state, message_id, raw_state, length(raw), content_hash <> '' FROM inbound_mails ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for rows.Next() {
		var state, mid, rawState string
		var size int
		var hashed bool
		if err := rows.Scan(&state, &mid, &rawState, &size, &hashed); err != nil {
			t.Fatal(err)
		}
		if !hashed {
			t.Errorf("%s %s lost its content hash", state, mid)
		}
		if rawState == ticket.RawKept && size == 0 || rawState == ticket.RawExpired && size != 0 {
			t.Errorf("%s %s: raw %s with %d bytes", state, mid, rawState, size)
		}
		got[state+" "+mid] = rawState
	}
	want := map[string]string{"processed old@example.jp": "expired", "processed recent@example.jp": "kept", "failed failed@example.jp": "kept"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: raw %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	if again := in.deliver(mailFrom("a@example.jp", "old", "古い問い合わせ", "Message-ID: <old@example.jp>")); again.Outcome != ticket.IngestDuplicate || again.TicketID != old.TicketID {
		t.Errorf("the old mail delivered again: %+v, want a duplicate of ticket %d", again, old.TicketID)
	}
	if n, err := r.Expire(ctx); err != nil || n != 0 {
		t.Errorf("second run: %d, %v; want nothing left to do", n, err)
	}
}
