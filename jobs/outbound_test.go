package jobs

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/contiple/contiple-worker/mailer"
	"github.com/contiple/contiple-worker/ticket"
)

// outEnv is a service with forbidden words and an assigned ticket from a customer mail.
func outEnv(t *testing.T) (*sendEnv, *Outbound, ticket.Ticket) {
	t.Helper()
	e := sendNewEnv(t, nil)
	ctx := context.Background()
	if _, err := e.pool.Exec(ctx, `INSERT INTO forbidden_words (service_key, word) VALUES ('support', '絶対'), ('support', 'guarantee')`); err != nil {
		t.Fatal(err)
	}
	tk, err := e.store.Create(ctx, ticket.NewTicket{Service: "support", Subject: "ログインできません", Channel: ticket.ChannelEmail,
		CustomerName: "山田 太郎", CustomerEmail: "taro@example.jp", Body: "助けて", MailMessageID: "q1@mail.example.jp"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Assign(ctx, tk.ID, ticket.Assignment{Operator: "sato"}); err != nil {
		t.Fatal(err)
	}
	return e, NewOutbound(e.store), tk
}

func TestOutboundPreviewListsForbiddenWords(t *testing.T) {
	t.Parallel()
	e, o, tk := outEnv(t)
	ctx := context.Background()
	before := outCount(t, e)
	p, err := o.Preview(ctx, tk.ID, mailer.KindResolve, "絶対に直ります。We GUARANTEE it.")
	if err != nil {
		t.Fatal(err)
	}
	if outCount(t, e) != before {
		t.Fatal("preview wrote to the database")
	}
	if p.From != "サポート窓口 <support@example.test>" || p.To != "山田 太郎 <taro@example.jp>" || p.Locale != "ja" ||
		p.Subject != "Re: ログインできません [CT-1]" || p.InReplyTo != "q1@mail.example.jp" || p.Refused != "" {
		t.Fatalf("preview headers %+v", p)
	}
	if !strings.Contains(p.Text, "山田 太郎 様") || !strings.Contains(p.HTML, "絶対に直ります。") {
		t.Fatalf("preview body:\n%s\n%s", p.Text, p.HTML)
	}
	textPos := len([]rune(p.Text[:strings.Index(p.Text, "絶対")]))
	want := []mailer.Hit{{Word: "絶対", Part: "text", Pos: textPos}, {Word: "guarantee", Part: "text", Pos: textPos + 11}}
	var got []mailer.Hit
	for _, h := range p.Forbidden {
		if h.Part == "text" {
			got = append(got, h)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("text hits (-want +got):\n%s", diff)
	}
	if len(p.Forbidden) != 4 { // and the same two in the HTML
		t.Fatalf("hits %v", p.Forbidden)
	}
	// A hold previewed on a ticket that cannot be held says so.
	if _, err := e.store.Resolve(ctx, tk.ID, ticket.Note{Text: "done"}); err != nil {
		t.Fatal(err)
	}
	p, err = o.Preview(ctx, tk.ID, mailer.KindHold, "確認中です")
	if err != nil || !strings.Contains(p.Refused, "cannot hold") || len(p.Forbidden) != 0 {
		t.Fatalf("preview of a refused hold: %+v, %v", p, err)
	}
}

func TestOutboundReplyRefusesForbiddenWordsUnlessForced(t *testing.T) {
	t.Parallel()
	e, o, tk := outEnv(t)
	ctx := context.Background()
	before := outCount(t, e)
	_, err := o.Reply(ctx, tk.ID, mailer.KindHold, "必ず、絶対に直します", "sato", false)
	var fe *ForbiddenWordsError
	if !errors.As(err, &fe) || len(fe.Hits) != 2 ||
		!strings.Contains(err.Error(), `"絶対" in text at `) || !strings.Contains(err.Error(), `"絶対" in html at `) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("Reply = %v", err)
	}
	if outCount(t, e) != before {
		t.Fatal("a refused reply wrote to the database")
	}
	got, err := o.Reply(ctx, tk.ID, mailer.KindHold, "必ず、絶対に直します", "sato", true)
	if err != nil || got.Status != ticket.StatusOnHold {
		t.Fatalf("forced reply: %+v, %v", got, err)
	}
	if outCount(t, e) != before+3 { // the note, the outbound mail, the outbox row
		t.Fatal("the forced reply owes no mail")
	}
	// A clean note needs no force.
	if got, err := o.Reply(ctx, tk.ID, mailer.KindResolve, "解決しました", "sato", false); err != nil || got.Status != ticket.StatusResolved {
		t.Fatalf("clean reply: %+v, %v", got, err)
	}
	if _, err := o.Reply(ctx, tk.ID, mailer.KindResolve, " ", "sato", false); err == nil {
		t.Fatal("empty note accepted")
	}
	if _, err := o.Reply(ctx, 999, mailer.KindResolve, "x", "sato", false); !errors.Is(err, ticket.ErrNotFound) {
		t.Fatalf("unknown ticket: %v", err)
	}
}

func outCount(t *testing.T, e *sendEnv) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM outbound_mails) + (SELECT count(*) FROM ticket_messages)
		+ (SELECT count(*) FROM outbox)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
