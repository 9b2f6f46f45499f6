package jobs

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/redis/go-redis/v9"

	"github.com/contiple/contiple-worker/channels/email"
	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/ticket"
)

// dovecotUser is a fresh Dovecot account and the intake account reading it.
type dovecotUser struct {
	*testenv.IMAPUser
	account email.Account
}

func newDovecotUser(t testing.TB) *dovecotUser {
	u := testenv.NewIMAPUser(t)
	return &dovecotUser{IMAPUser: u, account: email.Account{Host: u.Host, Port: u.Port, TLS: "none", Username: u.Username, Password: u.Password}}
}

// newPollIntake is an intake whose mailbox is the Dovecot user's folder.
func newPollIntake(t *testing.T, u *dovecotUser, after string) (*intake, *MailPoll, MailboxIntake) {
	t.Helper()
	in := newIntake(t)
	if err := in.store.SyncServices(context.Background(), []ticket.ServiceDef{{Key: "support", Name: "サポート", Address: "support@example.test",
		Locale: "ja", Mailbox: &ticket.MailboxDef{Host: u.account.Host, Port: u.account.Port, Username: u.account.Username, Folder: "INBOX"}}}); err != nil {
		t.Fatal(err)
	}
	mi := MailboxIntake{Name: "support", Account: u.account, After: after, Poll: time.Second}
	p := &MailPoll{Store: in.store, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Mailboxes: map[string]MailboxIntake{"support": mi}}
	return in, p, mi
}

// cycle runs one intake cycle on a fresh connection.
func cycle(t *testing.T, p *MailPoll, mi MailboxIntake) int {
	t.Helper()
	src, err := p.connect(context.Background(), mi.Account)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	n, err := p.Cycle(context.Background(), mi, src)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// ingestPending ingests every stored mail not yet ingested, as the workers would.
func ingestPending(t *testing.T, in *intake) {
	t.Helper()
	rows, err := in.pool.Query(context.Background(), "SELECT id FROM inbound_mails WHERE state = 'received' ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		if _, err := in.h.Ingest(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMailPollFromDovecotAcksOnlyAfterTheTicket(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := newDovecotUser(t)
	for i := range 3 {
		u.Append("INBOX", mailFrom(fmt.Sprintf("c%d@example.jp", i), fmt.Sprintf("質問 %d", i), "本文", fmt.Sprintf("Message-ID: <poll%d@example.jp>", i)))
	}
	in, p, mi := newPollIntake(t, u, "seen")
	if n := cycle(t, p, mi); n != 3 {
		t.Fatalf("stored %d", n)
	}
	// One mail:ingest is owed for the three, naming them in the order fetched.
	var owed []MailIngestPayload
	rows, err := in.pool.Query(ctx, "SELECT payload FROM outbox WHERE kind = 'mail:ingest'")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var p MailIngestPayload
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		owed = append(owed, p)
	}
	var stored []int64
	if err := in.pool.QueryRow(ctx, "SELECT array_agg(id ORDER BY uid) FROM inbound_mails").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if len(owed) != 1 || !slices.Equal(owed[0].InboundMailIDs, stored) {
		t.Fatalf("mail:ingest owed %+v, want one for %v", owed, stored)
	}
	// Nothing is acknowledged before the tickets exist.
	for uid, flags := range u.Flags("INBOX") {
		if len(flags) != 0 {
			t.Errorf("uid %d flagged %v before its ticket", uid, flags)
		}
	}
	ingestPending(t, in)
	if n := cycle(t, p, mi); n != 0 {
		t.Errorf("second cycle stored %d again", n)
	}
	for uid, flags := range u.Flags("INBOX") {
		if len(flags) != 1 || flags[0] != imap.FlagSeen {
			t.Errorf("uid %d flags %v, want \\Seen", uid, flags)
		}
	}
	var tickets, acked int
	in.pool.QueryRow(ctx, "SELECT count(*) FROM tickets").Scan(&tickets)
	in.pool.QueryRow(ctx, "SELECT count(*) FROM inbound_mails WHERE acked_at IS NOT NULL").Scan(&acked)
	if tickets != 3 || acked != 3 {
		t.Errorf("%d tickets, %d acked", tickets, acked)
	}
}

func TestMailPollMoveAndOversizeAndNewUIDValidity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := newDovecotUser(t)
	if err := u.Client.Create("Support", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	small := mailFrom("s@example.jp", "small", "hi", "Message-ID: <small@example.jp>")
	u.Append("Support", small)
	u.Append("Support", mailFrom("b@example.jp", "big", string(make([]byte, 4000))))
	in, p, mi := newPollIntake(t, u, "move:Done")
	mi.Account.Folder = "Support"
	p.MaxBytes = 2000
	if n := cycle(t, p, mi); n != 2 {
		t.Fatalf("stored %d", n)
	}
	ingestPending(t, in)
	cycle(t, p, mi)
	left := u.Flags("Support")
	if len(left) != 1 {
		t.Fatalf("left in folder: %v (the oversize mail should stay, the other move)", left)
	}
	if moved := u.Flags("Done"); len(moved) != 1 {
		t.Errorf("moved: %v", moved)
	}
	failed, err := in.store.InboundByState(ctx, []string{ticket.InboundFailed}, 10)
	if err != nil || len(failed) != 1 || failed[0].Size < 4000 {
		t.Fatalf("failed: %+v %v", failed, err)
	}

	// The folder is recreated: a new UIDVALIDITY. The same mail arriving again is a duplicate.
	if err := u.Client.Delete("Support").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := u.Client.Create("Support", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	u.Append("Support", small)
	if n := cycle(t, p, mi); n != 1 {
		t.Fatalf("after new UIDVALIDITY stored %d", n)
	}
	ingestPending(t, in)
	cycle(t, p, mi)
	var tickets, dups int
	in.pool.QueryRow(ctx, "SELECT count(*) FROM tickets").Scan(&tickets)
	in.pool.QueryRow(ctx, "SELECT count(*) FROM inbound_mails WHERE state = 'duplicate' AND acked_at IS NOT NULL").Scan(&dups)
	if tickets != 1 || dups != 1 {
		t.Errorf("%d tickets, %d acked duplicates", tickets, dups)
	}
}

func TestMailPollIDLEMakesTicketsWithinSeconds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u := newDovecotUser(t)
	in, p, mi := newPollIntake(t, u, "seen")
	mi.IDLE, mi.Poll = true, time.Minute
	p.Mailboxes["support"] = mi
	opt, err := redis.ParseURL(testenv.NewRedisDB(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	done := make(chan struct{})
	go func() { p.RunIDLE(ctx, rdb); close(done) }()

	// A second watcher (another worker process) must not take the mailbox.
	p2 := *p
	go p2.RunIDLE(ctx, rdb)

	time.Sleep(300 * time.Millisecond) // let the watcher reach IDLE: the mail must be noticed by IDLE, not the first cycle
	u.Append("INBOX", mailFrom("idle@example.jp", "IDLE", "new mail"))
	testenv.WaitFor(t, 20*time.Second, "the mail to be stored", func() bool {
		var n int
		in.pool.QueryRow(ctx, "SELECT count(*) FROM inbound_mails").Scan(&n)
		return n == 1
	})
	ingestPending(t, in)
	testenv.WaitFor(t, 20*time.Second, "the mail to be acknowledged", func() bool {
		f := u.Flags("INBOX")
		return len(f) == 1 && len(f[1]) == 1
	})
	var stored int
	in.pool.QueryRow(ctx, "SELECT count(*) FROM inbound_mails").Scan(&stored)
	if stored != 1 {
		t.Errorf("two watchers stored %d rows", stored)
	}
	cancel()
	<-done
}
