package ticket_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/ticket"
)

func newStore(t *testing.T, sealer *ticket.Sealer) (*ticket.Store, *pgxpool.Pool) {
	t.Helper()
	pool := testenv.NewDatabase(t)
	_, err := pool.Exec(context.Background(), `INSERT INTO services (key, name, address, locale) VALUES
		('support', 'サポート窓口', 'support@example.test', 'ja'),
		('issues', 'Issue desk', 'issues@example.test', 'en')`)
	if err != nil {
		t.Fatal(err)
	}
	return ticket.NewStore(pool, sealer), pool
}

func mustCreate(t *testing.T, s *ticket.Store) ticket.Ticket {
	t.Helper()
	tk, err := s.Create(context.Background(), ticket.NewTicket{Service: "support", Subject: "ログインできません",
		Channel: ticket.ChannelEmail, CustomerName: "山田 太郎", CustomerEmail: "taro@example.jp",
		Body: "パスワードを忘れました。電話 090-1234-5678", Actor: "channel:email"})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func count(t *testing.T, pool *pgxpool.Pool, table string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestResolveOwesOneMail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t, nil)
	tk := mustCreate(t, s)
	if tk.Status != ticket.StatusUnassigned || tk.Priority != ticket.PriorityNormal {
		t.Fatalf("new ticket = %s/%s, want unassigned/normal", tk.Status, tk.Priority)
	}
	if _, err := s.Assign(ctx, tk.ID, ticket.Assignment{Operator: "sato", Actor: "sato", Via: "keep"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Resolve(ctx, tk.ID, ticket.Note{Text: "再設定のリンクをお送りしました。", Actor: "sato"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != ticket.StatusResolved || got.ResolvedAt == nil {
		t.Fatalf("after resolve: %s, resolved_at %v", got.Status, got.ResolvedAt)
	}
	var kind, payload, recipient, msgID string
	if err := pool.QueryRow(ctx, `SELECT o.kind, o.payload::text, m.recipient, m.mail_message_id
		FROM outbox o JOIN outbound_mails m ON m.id = (o.payload->>'outbound_mail_id')::bigint`).Scan(&kind, &payload, &recipient, &msgID); err != nil {
		t.Fatal(err)
	}
	if kind != ticket.OutboxMailSend || recipient != "taro@example.jp" || !strings.HasPrefix(msgID, "ct-") || !strings.HasSuffix(msgID, "@example.test") {
		t.Fatalf("outbox %s %s to %s as %s", kind, payload, recipient, msgID)
	}
	events, err := s.Events(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Kind+":"+string(e.To))
	}
	if diff := cmp.Diff([]string{"created:unassigned", "assign:in_progress", "resolve:resolved"}, kinds); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	msgs, err := s.Messages(ctx, tk.ID)
	if err != nil || len(msgs) != 2 || msgs[1].Kind != ticket.MessageResolve {
		t.Fatalf("messages = %+v, %v", msgs, err)
	}
	// A customer reply would reopen it; completion is the administrator's.
	done, err := s.Complete(ctx, tk.ID, "admin")
	if err != nil || done.Status != ticket.StatusCompleted || done.CompletedAt == nil || done.ResolvedAt == nil {
		t.Fatalf("complete: %+v, %v", done, err)
	}
}

// every store operation, by the action it performs
var ops = map[ticket.Action]func(context.Context, *ticket.Store, int64) error{
	ticket.ActionAssign: func(ctx context.Context, s *ticket.Store, id int64) error {
		_, err := s.Assign(ctx, id, ticket.Assignment{Operator: "kim", Actor: "kim"})
		return err
	},
	ticket.ActionResolve: func(ctx context.Context, s *ticket.Store, id int64) error {
		_, err := s.Resolve(ctx, id, ticket.Note{Text: "done", Actor: "kim"})
		return err
	},
	ticket.ActionHold: func(ctx context.Context, s *ticket.Store, id int64) error {
		_, err := s.Hold(ctx, id, ticket.Note{Text: "wait", Actor: "kim"})
		return err
	},
	ticket.ActionComment: func(ctx context.Context, s *ticket.Store, id int64) error {
		_, err := s.Comment(ctx, id, ticket.Note{Text: "note", Actor: "kim"})
		return err
	},
	ticket.ActionInternalResolve: func(ctx context.Context, s *ticket.Store, id int64) error {
		_, err := s.InternalResolve(ctx, id, ticket.Note{Text: "by phone", Actor: "kim"}, false)
		return err
	},
	ticket.ActionMarkSpam: func(ctx context.Context, s *ticket.Store, id int64) error {
		_, err := s.InternalResolve(ctx, id, ticket.Note{Actor: "kim"}, true)
		return err
	},
	ticket.ActionRestore: func(ctx context.Context, s *ticket.Store, id int64) error {
		_, err := s.Restore(ctx, id, "admin")
		return err
	},
	ticket.ActionDeleteSpam: func(ctx context.Context, s *ticket.Store, id int64) error {
		return s.DeleteSpam(ctx, id, "admin")
	},
	ticket.ActionComplete: func(ctx context.Context, s *ticket.Store, id int64) error {
		_, err := s.Complete(ctx, id, "admin")
		return err
	},
	ticket.ActionEscalate: func(ctx context.Context, s *ticket.Store, id int64) error {
		_, err := s.Escalate(ctx, id, ticket.Escalation{ProjectID: "3119639999175643633", Content: "please look", Actor: "kim"})
		return err
	},
	ticket.ActionDoorayComment: func(ctx context.Context, s *ticket.Store, id int64) error {
		_, err := s.DoorayComment(ctx, id, ticket.Note{Text: "any news?", Actor: "kim"})
		return err
	},
	ticket.ActionIssueTransfer: func(ctx context.Context, s *ticket.Store, id int64) error {
		_, _, err := s.TransferIssue(ctx, id, ticket.IssueTransfer{Service: "issues", Body: "see below", Actor: "kim"})
		return err
	},
}

// snapshot is everything a refused operation must leave as it was.
func snapshot(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var s string
	err := pool.QueryRow(context.Background(), `SELECT concat_ws('|',
		(SELECT string_agg(concat_ws(',', id, status, assignee, updated_at, resolved_at), ';' ORDER BY id) FROM tickets),
		(SELECT count(*) FROM ticket_messages), (SELECT count(*) FROM ticket_events),
		(SELECT count(*) FROM outbox), (SELECT count(*) FROM outbound_mails), (SELECT count(*) FROM dooray_links))`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRefusedOperationsChangeNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t, nil)
	for _, from := range ticket.Statuses {
		tk := mustCreate(t, s)
		if _, err := pool.Exec(ctx, "UPDATE tickets SET status = $2, assignee = 'sato' WHERE id = $1", tk.ID, from); err != nil {
			t.Fatal(err)
		}
		for action, op := range ops {
			if ticket.Allowed(from, action) {
				continue
			}
			before := snapshot(t, pool)
			err := op(ctx, s, tk.ID)
			var te *ticket.TransitionError
			if !errors.As(err, &te) || te.Status != from || te.Action != action {
				t.Errorf("%s in %s: err = %v, want a refusal naming both", action, from, err)
			}
			if after := snapshot(t, pool); after != before {
				t.Errorf("%s in %s changed the database:\n before %s\n after  %s", action, from, before, after)
			}
		}
	}
}

func TestAllowedOperationsSucceed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t, nil)
	for _, from := range ticket.Statuses {
		for action, op := range ops {
			if !ticket.Allowed(from, action) {
				continue
			}
			tk := mustCreate(t, s)
			if _, err := pool.Exec(ctx, "UPDATE tickets SET status = $2, assignee = 'sato' WHERE id = $1", tk.ID, from); err != nil {
				t.Fatal(err)
			}
			if err := op(ctx, s, tk.ID); err != nil {
				t.Errorf("%s in %s: %v", action, from, err)
				continue
			}
			want, _ := ticket.Next(from, action, true)
			got, err := s.Get(ctx, tk.ID)
			if action == ticket.ActionDeleteSpam {
				if !errors.Is(err, ticket.ErrNotFound) {
					t.Errorf("deleted spam ticket still there: %v", err)
				}
				continue
			}
			if err != nil || got.Status != want {
				t.Errorf("%s in %s: status %s (%v), want %s", action, from, got.Status, err, want)
			}
		}
	}
}

func TestIssueTransferIsAnsweredByResolvingTheNewTicket(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t, nil)
	tk := mustCreate(t, s)
	if _, err := s.Assign(ctx, tk.ID, ticket.Assignment{Operator: "sato", Actor: "sato"}); err != nil {
		t.Fatal(err)
	}
	src, issue, err := s.TransferIssue(ctx, tk.ID, ticket.IssueTransfer{Service: "issues", Channel: ticket.ChannelCreated, Body: "決済エラーの調査", Actor: "sato"})
	if err != nil {
		t.Fatal(err)
	}
	if src.Status != ticket.StatusIssueTransferring || issue.Service != "issues" || issue.SourceTicketID == nil || *issue.SourceTicketID != tk.ID {
		t.Fatalf("transfer: source %+v, issue %+v", src, issue)
	}
	if _, err := s.InternalResolve(ctx, issue.ID, ticket.Note{Text: "fixed", Actor: "lee"}, false); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, tk.ID)
	if err != nil || got.Status != ticket.StatusIssueAnswered {
		t.Fatalf("source after the issue was resolved: %s, %v", got.Status, err)
	}
}

func TestCreateRejectsBadInput(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, nil)
	for name, n := range map[string]ticket.NewTicket{
		"no subject":      {Service: "support", CustomerEmail: "a@example.jp"},
		"unknown service": {Service: "nope", Subject: "x"},
		"header break":    {Service: "support", Subject: "x", CustomerName: "a\r\nBcc: victim@example.com"},
		"bad address":     {Service: "support", Subject: "x", CustomerEmail: "not an address"},
		"bad priority":    {Service: "support", Subject: "x", Priority: "whenever"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.Create(context.Background(), n)
			var ie *ticket.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want an InputError", err)
			}
		})
	}
}

func TestMaskAndUnmask(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	sealer, err := ticket.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	s, pool := newStore(t, sealer)
	tk := mustCreate(t, s)
	msgs, _ := s.Messages(ctx, tk.ID)
	msg := msgs[0]
	phone := "090-1234-5678"
	start := len([]rune(msg.Body)) - len(phone)
	if _, err := s.MaskSpan(ctx, tk.ID, msg.ID, start, start+len(phone), "sato"); err != nil {
		t.Fatal(err)
	}
	var body string
	var raw int
	pool.QueryRow(ctx, "SELECT body, (SELECT count(*) FROM ticket_messages WHERE body LIKE '%090-1234%') FROM ticket_messages WHERE id = $1", msg.ID).Scan(&body, &raw)
	if want := "パスワードを忘れました。電話 *************"; body != want || raw != 0 {
		t.Fatalf("stored body %q (plain copies: %d), want %q", body, raw, want)
	}
	var sealed []byte
	pool.QueryRow(ctx, "SELECT sealed FROM message_masks").Scan(&sealed)
	if strings.Contains(string(sealed), phone) {
		t.Fatal("original kept in plain text")
	}
	if _, err := s.MaskSpan(ctx, tk.ID, msg.ID, start+2, start+4, "sato"); err == nil {
		t.Fatal("overlapping mask accepted")
	}
	if n, err := s.Unmask(ctx, tk.ID, msg.ID, 0, "admin"); err != nil || n != 1 {
		t.Fatalf("unmask = %d, %v", n, err)
	}
	msgs, _ = s.Messages(ctx, tk.ID)
	if msgs[0].Body != msg.Body || len(msgs[0].Masks) != 0 {
		t.Fatalf("after unmask: %q with masks %v", msgs[0].Body, msgs[0].Masks)
	}

	// Without a key masking works and unmask says why it cannot.
	keyless := ticket.NewStore(pool, nil)
	if _, err := keyless.MaskSpan(ctx, tk.ID, msg.ID, 0, 5, "sato"); err != nil {
		t.Fatal(err)
	}
	if _, err := keyless.Unmask(ctx, tk.ID, msg.ID, 0, "admin"); !errors.Is(err, ticket.ErrNoMaskKey) {
		t.Fatalf("keyless unmask: %v", err)
	}
}

func TestSecondEscalationWaitsForTheFirstTask(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t, nil)
	tk := mustCreate(t, s)
	if _, err := s.Assign(ctx, tk.ID, ticket.Assignment{Operator: "kim"}); err != nil {
		t.Fatal(err)
	}
	esc := ticket.Escalation{ProjectID: "1", Content: "please look", Actor: "kim"}
	if _, err := s.Escalate(ctx, tk.ID, esc); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, pool)
	_, err := s.Escalate(ctx, tk.ID, esc)
	if !errors.Is(err, ticket.ErrEscalationPending) || !strings.Contains(err.Error(), "already being escalated") {
		t.Fatalf("second escalation: %v", err)
	}
	if after := snapshot(t, pool); after != before {
		t.Error("the refused escalation changed the database")
	}
}
