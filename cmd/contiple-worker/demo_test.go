package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"github.com/contiple/contiple-worker/channels/email"
	"github.com/contiple/contiple-worker/dooray/dooraytest"
	"github.com/contiple/contiple-worker/internal/demo"
	"github.com/contiple/contiple-worker/internal/smtptest"
	"github.com/contiple/contiple-worker/internal/testenv"
	"github.com/contiple/contiple-worker/ticket"
)

// newStoryWorld starts the demo's world for one test: its own database, Redis
// database and support mailbox (a fresh Dovecot user), the real Postfix.
// workerSMTP, when set, is the worker's SMTP server instead of Postfix. With
// oauth2 the worker's mailbox and SMTP account log in with OAuth2 tokens.
func newStoryWorld(t *testing.T, workerSMTP string, oauth2 bool) *demo.World {
	t.Helper()
	pool := testenv.NewDatabase(t)
	support := testenv.NewIMAPUser(t)
	e := demo.Env{
		DatabaseURL: testenv.URLFor(t, pool), RedisURL: testenv.NewRedisDB(t),
		IMAPAddr: support.Addr, IMAPPassword: support.Password,
		SMTPAddr: testenv.Lookup(t, "CONTIPLE_SMTP_ADDR"), WorkerSMTP: workerSMTP,
		Domain: testenv.Lookup(t, "CONTIPLE_MAIL_DOMAIN"), SupportUser: support.Username,
		HTTPAddr: freeAddr(t), Run: demo.RandomHex(4), Dir: t.TempDir(),
		Setenv: func(k, v string) error { t.Setenv(k, v); return nil },
	}
	if oauth2 {
		e.OAuthSigningKey = testenv.Lookup(t, "CONTIPLE_OAUTH_SIGNING_KEY")
	}
	t.Setenv(demo.DashboardEnv, "s3cret")
	a := &app{out: io.Discard, log: testLogger(t)}
	w, err := demo.Start(context.Background(), demoWorker{a}, e)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Stop(); err != nil {
			t.Errorf("the worker did not stop cleanly: %v", err)
		}
	})
	return w
}

// TestDemoStory runs the story of `contiple-worker demo` against the real
// services and asserts, after every step, the statuses, events, history, mail
// headers and Dooray! requests it led to, once with the password and once
// with OAuth2 logins (`demo --oauth2`); then a forced failure: an SMTP 550.
func TestDemoStory(t *testing.T) {
	t.Run("story", func(t *testing.T) { testDemoStory(t, false) })
	t.Run("story with OAuth2 logins", func(t *testing.T) { testDemoStory(t, true) })
	t.Run("SMTP 550 archived then retried", testDemoMailRefused)
}

func testDemoStory(t *testing.T, oauth2 bool) {
	w := newStoryWorld(t, "", oauth2)
	ctx := context.Background()
	c := &storyChecks{t: t, w: w}
	s := &demo.Story{World: w, Timeout: 90 * time.Second, Say: func(line string) { t.Log(line) }, Check: c.check}
	st, err := s.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{demo.StepTickets, demo.StepHold, demo.StepReply, demo.StepEscalated, demo.StepCommented, demo.StepWorking, demo.StepCommentIn,
		demo.StepClosed, demo.StepResolved, demo.StepCompleted}; !slices.Equal(c.steps, want) {
		t.Fatalf("steps checked %v, want %v", c.steps, want)
	}
	// Nothing more happens once the story is over: no second task, comment or mail.
	time.Sleep(2 * w.Config.Dooray.SyncInterval.Std())
	c.requests(dooraytest.RouteCreatePost, 2)
	c.requests(dooraytest.RouteCreateLog, 1)
	var mails, inbound int
	if err := w.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM outbound_mails WHERE state = 'sent'),
		(SELECT count(*) FROM inbound_mails WHERE state = 'processed')`).Scan(&mails, &inbound); err != nil {
		t.Fatal(err)
	}
	if mails != 3 || inbound != 4 {
		t.Errorf("%d mails sent, %d inbound processed; want 3 and 4", mails, inbound)
	}
	if st.Took <= 0 {
		t.Errorf("story took %v", st.Took)
	}
	if n, m := w.Fake.Throttled(), w.Partner.Throttled(); n+m != 0 {
		t.Errorf("429s: main %d, partner %d; each organisation's limiter should keep under its limit", n, m)
	}
	checkStoryLogins(t, w, st, oauth2)
}

// checkStoryLogins asserts how the worker logged in: with oauth2, no password
// configured, one token issued to each login (shared through Redis by every
// session) and the worker's mails submitted with SMTP AUTH (as Postfix's
// Received header says); else the password, and no SMTP AUTH.
func checkStoryLogins(t *testing.T, w *demo.World, st *demo.State, oauth2 bool) {
	t.Helper()
	mb, smtp := w.Config.Services[0].Mailbox, w.Config.SMTP
	if oauth2 {
		if mb.PasswordEnv != "" || mb.PasswordFile != "" || mb.OAuth2 == nil || smtp.PasswordEnv != "" || smtp.PasswordFile != "" ||
			smtp.OAuth2 == nil || smtp.Username != w.Support() {
			t.Errorf("logins configured: mailbox %+v, smtp %+v; want oauth2 blocks and no password", mb, smtp)
		}
		for _, client := range []string{demo.MailboxClient, demo.SMTPClient} {
			if n := w.Auth.Issued(client); n != 1 {
				t.Errorf("%d tokens issued to %s, want 1", n, client)
			}
		}
	} else if w.Auth != nil || mb.OAuth2 != nil || smtp.OAuth2 != nil || mb.PasswordEnv == "" {
		t.Errorf("the password story has OAuth2 logins: mailbox %+v, smtp %+v", mb, smtp)
	}
	yamada, kim := st.Customers[0], st.Customers[1]
	for _, m := range []*demo.Mail{st.HoldMail, st.Resolve[yamada.Ticket.ID], st.Resolve[kim.Ticket.ID]} {
		var protocol string
		for _, r := range m.Header["Received"] {
			if p := postfixProtocol.FindStringSubmatch(r); p != nil {
				protocol = p[1]
			}
		}
		if authenticated := strings.HasSuffix(protocol, "SMTPA") || strings.HasSuffix(protocol, "SMTPSA"); authenticated != oauth2 || protocol == "" {
			t.Errorf("%s came to Postfix with %q (SMTP AUTH: %v), want SMTP AUTH %v; Received: %q",
				m.Header.Get("Message-ID"), protocol, authenticated, oauth2, m.Header["Received"])
		}
	}
}

// postfixProtocol is the protocol in Postfix's Received header: ESMTP or
// UTF8SMTP, with S for TLS and A for SMTP AUTH (RFC 3848, RFC 6531).
var postfixProtocol = regexp.MustCompile(`\(Postfix\) with (\w+) `)

// storyChecks asserts the story's world after each step.
type storyChecks struct {
	t     *testing.T
	w     *demo.World
	steps []string
}

func (c *storyChecks) check(step string, st *demo.State) error {
	t, w := c.t, c.w
	c.steps = append(c.steps, step)
	yamada, kim, smith := st.Customers[0], st.Customers[1], st.Customers[2]
	t1, t2, t3 := yamada.Ticket.ID, kim.Ticket.ID, smith.Ticket.ID
	switch step {
	case demo.StepTickets:
		for i, want := range []struct {
			name, subject, operator, body string
		}{
			{"山田 太郎", "ログインできません", "ito", "パスワードを再設定しても「認証エラー」"},
			{"김민수", "결제가 두 번 청구되었습니다", "park", "두 번 결제되었습니다"},
			{"John Smith", "Invoice for October is missing", "jones", "invoice for October"},
		} {
			cu := st.Customers[i]
			tk := c.ticket(cu.Ticket.ID)
			if tk.Status != ticket.StatusInProgress || tk.Channel != ticket.ChannelEmail || tk.Assignee != want.operator ||
				tk.Group != "first-line" || tk.CustomerName != want.name || tk.Subject != want.subject || tk.CustomerEmail != cu.Address {
				t.Errorf("ticket of %s: %+v", want.name, tk)
			}
			c.events(tk.ID, "created", "assign", "trigger")
			ev := c.event(tk.ID, "assign")
			if ev.Actor != "trigger:rotation" || ev.Data["via"] != "trigger" || ev.Data["operator"] != want.operator {
				t.Errorf("assign event of %s: %+v", ticket.Marker(tk.ID), ev)
			}
			msgs := c.messages(tk.ID, ticket.MessageCustomer)
			if msgs[0].MailMessageID != cu.MessageID || !strings.Contains(msgs[0].Body, want.body) {
				t.Errorf("first message of %s: %+v", ticket.Marker(tk.ID), msgs[0])
			}
		}
		if got := []int64{t1, t2, t3}; !slices.IsSorted(got) {
			t.Errorf("tickets %v not made in the order the mails were sent", got)
		}
		c.requests(dooraytest.RouteCreatePost, 0)
	case demo.StepHold:
		if got := c.ticket(t1).Status; got != ticket.StatusOnHold {
			t.Errorf("after hold: %s", got)
		}
		out := st.HoldOutbound
		if out.Kind != ticket.MessageHold || out.State != ticket.OutboundSent || out.Attempts != 1 || out.Recipient != yamada.Address {
			t.Errorf("hold mail record: %+v", out)
		}
		c.mail(st.HoldMail, out.MailMessageID, t1, yamada, "<"+yamada.MessageID+">", "<"+yamada.MessageID+">")
		c.events(t1, "created", "assign", "trigger", "hold", "mail_sent")
	case demo.StepReply:
		if got := c.ticket(t1).Status; got != ticket.StatusInProgress {
			t.Errorf("after the reply: %s", got)
		}
		msgs := c.messages(t1, ticket.MessageCustomer, ticket.MessageHold, ticket.MessageCustomer)
		if r := msgs[2]; r.MailMessageID != st.Reply || r.InReplyTo != st.HoldOutbound.MailMessageID || !strings.Contains(r.Body, "E-4012") {
			t.Errorf("reply in the history: %+v", r)
		}
		c.events(t1, "created", "assign", "trigger", "hold", "mail_sent", "customer_reply")
		if page, err := w.Store.List(context.Background(), ticket.ListFilter{}); err != nil || len(page.Tickets) != 3 {
			t.Errorf("%d tickets after the reply (%v), want 3: the reply made a ticket", len(page.Tickets), err)
		}
	case demo.StepEscalated:
		c.requests(dooraytest.RouteCreatePost, 2)
		// One task in each organisation, each made with that organisation's token.
		for _, e := range []struct {
			org     string
			fake    *dooraytest.Server
			project string
			id      int64
			subject string
		}{{"main", w.Fake, w.Helpdesk, t1, "[CT-1] ログインできません"}, {"partner", w.Partner, w.Infra, t2, "[CT-2] 결제가 두 번 청구되었습니다"}} {
			if got := c.ticket(e.id).Status; got != ticket.StatusDoorayTransferred {
				t.Errorf("%s after escalation: %s", ticket.Marker(e.id), got)
			}
			if n := e.fake.Requests()[dooraytest.RouteCreatePost]; n != 1 {
				t.Errorf("organisation %s: %d creates", e.org, n)
			}
			posts := e.fake.Posts(e.project)
			if len(posts) != 1 || posts[0].ID != st.Posts[e.id] || posts[0].Subject != e.subject || posts[0].Class != "registered" ||
				!slices.Equal(posts[0].To, []string{e.fake.OtherMemberID()}) || posts[0].From != e.fake.BotMemberID() {
				t.Errorf("tasks of project %s of %s: %+v", e.project, e.org, posts)
			}
			var org string
			if err := w.Pool.QueryRow(context.Background(), `SELECT organization FROM dooray_links WHERE ticket_id = $1`, e.id).Scan(&org); err != nil || org != e.org {
				t.Errorf("%s's link is in organisation %q (%v), want %s", ticket.Marker(e.id), org, err, e.org)
			}
		}
		c.events(t2, "created", "assign", "trigger", "escalate", "dooray_created")
	case demo.StepCommented:
		c.requests(dooraytest.RouteCreateLog, 1)
		cs := w.Fake.Comments(st.Posts[t1])
		if len(cs) != 1 || cs[0].ID != st.DoorayOut || cs[0].Author != w.Fake.BotMemberID() || !strings.Contains(cs[0].Content, "E-4012") {
			t.Errorf("comments on the task: %+v (ours: %s)", cs, st.DoorayOut)
		}
	case demo.StepWorking:
		if got := c.ticket(t1).Status; got != ticket.StatusDoorayInProgress {
			t.Errorf("%s: %s", ticket.Marker(t1), got)
		}
		if got := c.ticket(t2).Status; got != ticket.StatusDoorayInProgress {
			t.Errorf("%s: %s", ticket.Marker(t2), got)
		}
		// Only the helpdesk project has the webhook: our own comment's echo is
		// ignored, the move is queued; the infra task was found by the poll.
		if got := w.Fake.Hooks(w.Helpdesk); !slices.Equal(got, []string{w.HookURL}) {
			t.Errorf("hooks of helpdesk: %v", got)
		}
		if got := w.Partner.Hooks(w.Infra); len(got) != 0 {
			t.Errorf("hooks of infra: %v", got)
		}
		c.deliveries("postCommentCreated 200", "postWorkflowChanged 202")
		if n := w.Partner.Requests()[dooraytest.RouteListPosts]; n == 0 {
			t.Error("no poll listed a project")
		}
	case demo.StepCommentIn:
		msgs := c.messages(t1, ticket.MessageCustomer, ticket.MessageHold, ticket.MessageCustomer, ticket.MessageEscalation,
			ticket.MessageDoorayOut, ticket.MessageDoorayIn)
		if in := msgs[5]; in.DoorayLogID != st.DoorayIn || !strings.HasPrefix(in.Author, "dooray:") || !strings.Contains(in.Body, "セッションキャッシュ") {
			t.Errorf("comment from Dooray!: %+v", in)
		}
		if out := msgs[4]; out.DoorayLogID != st.DoorayOut {
			t.Errorf("our comment: %+v", out)
		}
		c.requests(dooraytest.RouteCreateLog, 1)
		c.deliveries("postCommentCreated 200", "postWorkflowChanged 202", "postCommentCreated 202")
	case demo.StepClosed:
		for _, id := range []int64{t1, t2} {
			if got := c.ticket(id).Status; got != ticket.StatusDoorayAnswered {
				t.Errorf("%s: %s", ticket.Marker(id), got)
			}
		}
		c.deliveries("postCommentCreated 200", "postWorkflowChanged 202", "postCommentCreated 202", "postWorkflowChanged 202")
	case demo.StepResolved:
		hold := "<" + st.HoldOutbound.MailMessageID + ">"
		c.mail(st.Resolve[t1], strings.Trim(st.Resolve[t1].Header.Get("Message-ID"), "<>"), t1, yamada,
			"<"+st.Reply+">", "<"+yamada.MessageID+"> "+hold+" <"+st.Reply+">")
		c.mail(st.Resolve[t2], strings.Trim(st.Resolve[t2].Header.Get("Message-ID"), "<>"), t2, kim,
			"<"+kim.MessageID+">", "<"+kim.MessageID+">")
		for _, id := range []int64{t1, t2} {
			if got := c.ticket(id).Status; got != ticket.StatusResolved {
				t.Errorf("%s: %s", ticket.Marker(id), got)
			}
		}
	case demo.StepCompleted:
		c.events(t1, "created", "assign", "trigger", "hold", "mail_sent", "customer_reply", "escalate", "dooray_created",
			"dooray_comment", "dooray_comment_sent", "dooray_working", "dooray_comment_received", "dooray_closed",
			"resolve", "mail_sent", "complete")
		c.events(t2, "created", "assign", "trigger", "escalate", "dooray_created", "dooray_working", "dooray_closed",
			"resolve", "mail_sent", "complete")
		c.events(t3, "created", "assign", "trigger")
		c.messages(t1, ticket.MessageCustomer, ticket.MessageHold, ticket.MessageCustomer, ticket.MessageEscalation,
			ticket.MessageDoorayOut, ticket.MessageDoorayIn, ticket.MessageResolve)
		c.messages(t2, ticket.MessageCustomer, ticket.MessageEscalation, ticket.MessageResolve)
		for id, want := range map[int64]ticket.Status{t1: ticket.StatusCompleted, t2: ticket.StatusCompleted, t3: ticket.StatusInProgress} {
			if got := c.ticket(id); got.Status != want || (want == ticket.StatusCompleted) != (got.CompletedAt != nil) {
				t.Errorf("%s at the end: %s (completed at %v), want %s", ticket.Marker(id), got.Status, got.CompletedAt, want)
			}
		}
		if ev := c.event(t1, "complete"); ev.Actor != "admin" || ev.From != ticket.StatusResolved || ev.To != ticket.StatusCompleted {
			t.Errorf("complete event: %+v", ev)
		}
		c.requests(dooraytest.RouteCreatePost, 2)
		c.requests(dooraytest.RouteCreateLog, 1)
	}
	return nil
}

func (c *storyChecks) ticket(id int64) ticket.Ticket {
	c.t.Helper()
	tk, err := c.w.Store.Get(context.Background(), id)
	if err != nil {
		c.t.Fatal(err)
	}
	return tk
}

// events asserts the kinds of a ticket's events, oldest first.
func (c *storyChecks) events(id int64, kinds ...string) {
	c.t.Helper()
	evs, err := c.w.Store.Events(context.Background(), id)
	if err != nil {
		c.t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.Kind)
	}
	if diff := cmp.Diff(kinds, got); diff != "" {
		c.t.Errorf("events of %s (-want +got):\n%s", ticket.Marker(id), diff)
	}
}

func (c *storyChecks) event(id int64, kind string) ticket.Event {
	c.t.Helper()
	evs, err := c.w.Store.Events(context.Background(), id)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, e := range evs {
		if e.Kind == kind {
			return e
		}
	}
	c.t.Fatalf("%s has no %s event", ticket.Marker(id), kind)
	return ticket.Event{}
}

// messages asserts the kinds of a ticket's history and returns it.
func (c *storyChecks) messages(id int64, kinds ...ticket.MessageKind) []ticket.Message {
	c.t.Helper()
	msgs, err := c.w.Store.Messages(context.Background(), id)
	if err != nil {
		c.t.Fatal(err)
	}
	var got []ticket.MessageKind
	for _, m := range msgs {
		got = append(got, m.Kind)
	}
	if diff := cmp.Diff(kinds, got); diff != "" {
		c.t.Fatalf("history of %s (-want +got):\n%s", ticket.Marker(id), diff)
	}
	return msgs
}

func (c *storyChecks) requests(route string, want int) {
	c.t.Helper()
	if got := c.w.Fake.Requests()[route] + c.w.Partner.Requests()[route]; got != want {
		c.t.Errorf("%d requests %s, want %d", got, route, want)
	}
}

// deliveries asserts the webhook POSTs the fake made, as "event status".
func (c *storyChecks) deliveries(want ...string) {
	c.t.Helper()
	var got []string
	for _, d := range c.w.Fake.Deliveries() {
		if d.URL != c.w.HookURL {
			c.t.Errorf("hook to %s", d.URL)
		}
		got = append(got, fmt.Sprintf("%s %d", d.Event, d.Status))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		c.t.Errorf("webhook deliveries (-want +got):\n%s", diff)
	}
}

var demoOurMessageID = regexp.MustCompile(`^<ct-(\d+)-[0-9a-f]{16}@`)

// mail asserts the headers of a mail we sent, as read back from the customer's mailbox.
func (c *storyChecks) mail(m *demo.Mail, messageID string, id int64, to *demo.Customer, inReplyTo, references string) {
	c.t.Helper()
	if m == nil {
		c.t.Fatalf("no mail for %s", ticket.Marker(id))
	}
	h, p := m.Header, m.Parsed
	from, err := mail.ParseAddress(h.Get("From"))
	if err != nil || from.Address != c.w.Support() || p.From.Name != "サポート窓口" {
		c.t.Errorf("From: %q (%v)", h.Get("From"), err)
	}
	if len(p.To) != 1 || p.To[0].Address != to.Address || p.To[0].Name != to.Name {
		c.t.Errorf("To: %q → %+v", h.Get("To"), p.To)
	}
	if !strings.Contains(p.Subject, ticket.Marker(id)) || !strings.Contains(p.Subject, to.Subject) {
		c.t.Errorf("Subject: %q", p.Subject)
	}
	got := demoOurMessageID.FindStringSubmatch(h.Get("Message-ID"))
	if h.Get("Message-ID") != "<"+messageID+">" || got == nil || got[1] != strconv.FormatInt(id, 10) {
		c.t.Errorf("Message-ID: %q, want <%s> naming ticket %d", h.Get("Message-ID"), messageID, id)
	}
	if out, err := c.outboundByMessageID(messageID); err != nil || out.TicketID != id || out.State != ticket.OutboundSent {
		c.t.Errorf("outbound record of <%s>: %+v (%v)", messageID, out, err)
	}
	if h.Get("In-Reply-To") != inReplyTo {
		c.t.Errorf("In-Reply-To: %q, want %q", h.Get("In-Reply-To"), inReplyTo)
	}
	if got := strings.Join(strings.Fields(h.Get("References")), " "); got != references {
		c.t.Errorf("References: %q, want %q", got, references)
	}
	if h.Get("Auto-Submitted") != "auto-replied" || !p.AutoSubmitted {
		c.t.Errorf("Auto-Submitted: %q", h.Get("Auto-Submitted"))
	}
	if !strings.Contains(p.Text, ticket.Marker(id)) {
		c.t.Errorf("body lacks the marker:\n%s", p.Text)
	}
}

func (c *storyChecks) outboundByMessageID(messageID string) (ticket.OutboundMail, error) {
	var id int64
	if err := c.w.Pool.QueryRow(context.Background(), `SELECT id FROM outbound_mails WHERE mail_message_id = $1`, messageID).Scan(&id); err != nil {
		return ticket.OutboundMail{}, err
	}
	return c.w.Store.Outbound(context.Background(), id)
}

// testDemoMailRefused makes the worker's SMTP server (an in-process
// go-smtp server, configured as the worker's smtp) answer 550 for one
// recipient: the resolve mail's mail:send task ends archived, in the
// dashboard too, with the ticket's mail failed. Once the server accepts the
// address, running the task again (asynq Inspector.RunTask, as the
// dashboard's "run" button does) sends the mail, once.
func testDemoMailRefused(t *testing.T) {
	refused := "refused-" + demo.RandomHex(4) + "@example.test"
	srv := smtptest.New(t) // answers 550 for the refused address until the cause is fixed
	srv.SetFault(smtptest.Reject550(refused))
	w := newStoryWorld(t, srv.Addr, false)
	ctx := context.Background()
	s := &demo.Story{World: w, Timeout: 90 * time.Second, Say: func(line string) { t.Log(line) }, HTTP: &http.Client{Timeout: 20 * time.Second}}

	var tk ticket.Ticket
	if err := s.Call(ctx, "POST", "/api/v1/tickets", map[string]any{"service": "support", "subject": "Refund request",
		"customer_email": refused, "customer_name": "Refused Customer", "channel": "phone"}, &tk); err != nil {
		t.Fatal(err)
	}
	if err := s.Call(ctx, "POST", fmt.Sprintf("/api/v1/tickets/%d/assign", tk.ID), map[string]any{"operator": "ito"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Call(ctx, "POST", fmt.Sprintf("/api/v1/tickets/%d/resolve", tk.ID), map[string]any{"note": "Refunded."}, nil); err != nil {
		t.Fatal(err)
	}
	ev, ok, err := s.LastEvent(ctx, tk.ID, "resolve")
	if err != nil || !ok {
		t.Fatalf("resolve event: %v", err)
	}
	outID := int64(ev.Data["outbound_mail_id"].(float64))

	redisOpt, err := asynq.ParseRedisURI(w.Env.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(redisOpt)
	defer insp.Close()
	var archived *asynq.TaskInfo
	if _, err := s.WaitFor(ctx, "the mail:send task to be archived", func() (bool, error) {
		tasks, err := insp.ListArchivedTasks("mail_out")
		if len(tasks) > 0 {
			archived = tasks[0]
		}
		return len(tasks) > 0, err
	}); err != nil {
		t.Fatal(err)
	}
	if archived.Type != "mail:send" || !strings.HasPrefix(archived.ID, "outbox:") || !strings.Contains(archived.LastErr, "550") || archived.Retried != 0 {
		t.Errorf("archived task: type %s id %s retried %d last error %q", archived.Type, archived.ID, archived.Retried, archived.LastErr)
	}
	out, err := w.Store.Outbound(ctx, outID)
	if err != nil || out.State != ticket.OutboundFailed || out.Attempts != 1 || !strings.Contains(out.LastError, "550") {
		t.Errorf("outbound mail after the 550: %+v (%v)", out, err)
	}
	if ev, ok, _ := s.LastEvent(ctx, tk.ID, "mail_failed"); !ok || ev.Data["recipient"] != refused {
		t.Errorf("mail_failed event: %+v", ev)
	}
	// The dashboard lists it among the archived tasks of mail_out.
	req, _ := http.NewRequest("GET", "http://"+w.Env.HTTPAddr+"/monitoring/api/queues/mail_out/archived_tasks", nil)
	req.SetBasicAuth("admin", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"`+archived.ID+`"`) {
		t.Errorf("dashboard archived tasks: %d %s", resp.StatusCode, body)
	}
	if n := len(mailsTo(srv, refused)); n != 0 {
		t.Fatalf("%d mails accepted while the address was refused", n)
	}

	srv.SetFault(nil) // the cause is fixed: the mailbox exists now
	if err := insp.RunTask("mail_out", archived.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitFor(ctx, "the retried mail to be sent", func() (bool, error) {
		out, err = w.Store.Outbound(ctx, outID)
		return out.State == ticket.OutboundSent, err
	}); err != nil {
		t.Fatal(err)
	}
	if out.Attempts != 2 {
		t.Errorf("attempts %d, want 2", out.Attempts)
	}
	got := mailsTo(srv, refused)
	if len(got) != 1 {
		t.Fatalf("%d mails accepted, want 1", len(got))
	}
	p, err := email.Parse(got[0], email.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.MessageID != out.MailMessageID || !strings.Contains(p.Subject, ticket.Marker(tk.ID)) || !p.AutoSubmitted ||
		len(p.To) != 1 || p.To[0].Address != refused {
		t.Errorf("retried mail: %+v", p)
	}
	if tasks, err := insp.ListArchivedTasks("mail_out"); err != nil || len(tasks) != 0 {
		t.Errorf("archived after the retry: %d (%v)", len(tasks), err)
	}
	if ev, ok, _ := s.LastEvent(ctx, tk.ID, "mail_sent"); !ok {
		t.Errorf("no mail_sent event: %+v", ev)
	}
}
