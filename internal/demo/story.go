package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/contiple/contiple-worker/channels/email"
	"github.com/contiple/contiple-worker/dooray"
	"github.com/contiple/contiple-worker/dooray/dooraytest"
	"github.com/contiple/contiple-worker/ticket"
)

// acts as a customer, an operator or a Dooray! user would, then waits (up to
// timeout) for the real state and says what it saw.
type Story struct {
	World   *World
	Timeout time.Duration
	Say     func(line string)
	// check runs after each named step with what the story saw so far: the
	// end-to-end test asserts there. nil in the demo.
	Check func(step string, st *State) error
	HTTP  *http.Client
	st    State
}

// The steps, in order, as check receives them.
const (
	StepTickets   = "tickets-created"
	StepHold      = "hold-mail"
	StepReply     = "reply-threaded"
	StepEscalated = "escalated"
	StepCommented = "dooray-comment-sent"
	StepWorking   = "dooray-working"
	StepCommentIn = "dooray-comment-received"
	StepClosed    = "dooray-closed"
	StepResolved  = "resolve-mail"
	StepCompleted = "completed"
)

// State is what the story saw.
type State struct {
	Customers    []*Customer // yamada (ja, ISO-2022-JP), kim (ko, UTF-8), smith (en)
	HoldMail     *Mail       // as read back from yamada's mailbox
	HoldOutbound ticket.OutboundMail
	Reply        string           // Message-ID of yamada's reply
	Posts        map[int64]string // ticket → Dooray! post
	TaskNumbers  map[int64]string // ticket → "helpdesk/1"
	DoorayOut    string           // Dooray! log id of the operator's comment
	DoorayIn     string           // Dooray! log id of the comment written in Dooray!
	Resolve      map[int64]*Mail
	Took         time.Duration
}

// Customer is one customer and the ticket their first mail made.
type Customer struct {
	Name, Address, Charset string
	Subject, Body          string
	MessageID              string // of the first mail
	Ticket                 ticket.Ticket
}

// Mail is a mail read back from a Dovecot mailbox.
type Mail struct {
	Parsed *email.Parsed
	Header mail.Header // as on the wire (encoded words undecoded)
	Raw    []byte
}

func (s *Story) printf(format string, args ...any) { s.Say(fmt.Sprintf(format, args...)) }

func (s *Story) checkpoint(step string) error {
	if s.Check == nil {
		return nil
	}
	if err := s.Check(step, &s.st); err != nil {
		return fmt.Errorf("after step %s: %w", step, err)
	}
	return nil
}

func demoTook(d time.Duration) string { return fmt.Sprintf("[%.1fs]", d.Seconds()) }

// run tells the story and returns what it saw.
func (s *Story) Run(ctx context.Context) (*State, error) {
	start := time.Now()
	if s.Timeout <= 0 {
		s.Timeout = 45 * time.Second
	}
	if s.HTTP == nil {
		s.HTTP = &http.Client{Timeout: 20 * time.Second}
	}
	s.st.Posts, s.st.TaskNumbers, s.st.Resolve = map[int64]string{}, map[int64]string{}, map[int64]*Mail{}
	run, domain := s.World.Env.Run, s.World.Env.Domain
	s.st.Customers = []*Customer{
		{Name: "山田 太郎", Address: "yamada-" + run + "@" + domain, Charset: "ISO-2022-JP", Subject: "ログインできません",
			Body: "サポート窓口 ご担当者様\n\nお世話になっております。山田です。\n昨日からマイページにログインできません。\n" +
				"パスワードを再設定しても「認証エラー」と表示されます。\nご確認をお願いいたします。\n\n山田 太郎\n"},
		{Name: "김민수", Address: "kim-" + run + "@" + domain, Charset: "UTF-8", Subject: "결제가 두 번 청구되었습니다",
			Body: "안녕하세요.\n11월 구독료가 카드에서 두 번 결제되었습니다.\n한 건은 취소해 주시기 바랍니다.\n\n김민수 드림\n"},
		{Name: "John Smith", Address: "smith-" + run + "@" + domain, Charset: "US-ASCII", Subject: "Invoice for October is missing",
			Body: "Hello,\n\nI cannot find the invoice for October in my account.\nCould you send me a copy?\n\nBest regards,\nJohn Smith\n"},
	}
	for _, step := range []func(context.Context) error{
		s.mailsIn, s.hold, s.customerReply, s.escalate, s.commentOut, s.working, s.commentIn, s.closed, s.resolve, s.complete,
	} {
		if err := step(ctx); err != nil {
			return &s.st, err
		}
	}
	s.st.Took = time.Since(start)
	return &s.st, nil
}

// 1. Three customers write in; a trigger assigns each ticket in turn.
func (s *Story) mailsIn(ctx context.Context) error {
	s.printf("\n1. Three customers write to %s (SMTP to Postfix → Dovecot → IMAP IDLE → mail:ingest)", s.World.Support())
	for i, c := range s.st.Customers {
		c.MessageID = fmt.Sprintf("%s.%d@%s", s.World.Env.Run, i+1, s.World.Env.Domain)
		raw, err := c.compose(s.World.Support(), c.Subject, c.Body, c.MessageID, "", nil)
		if err != nil {
			return err
		}
		s.printf("   ✉ %s <%s>: 「%s」 (%s)", c.Name, c.Address, c.Subject, c.Charset)
		if err := demoSendMail(ctx, s.World.Env.SMTPAddr, c.Address, s.World.Support(), raw); err != nil {
			return fmt.Errorf("send %s's mail: %w", c.Name, err)
		}
		took, err := s.WaitFor(ctx, "the ticket of "+c.Address, func() (bool, error) {
			page, err := s.World.Store.List(ctx, ticket.ListFilter{Service: "support"})
			for _, t := range page.Tickets {
				if strings.EqualFold(t.CustomerEmail, c.Address) {
					c.Ticket = t
					return true, err
				}
			}
			return false, err
		})
		if err != nil {
			return err
		}
		via := "no trigger"
		if ev, ok, err := s.LastEvent(ctx, c.Ticket.ID, "trigger"); err != nil {
			return err
		} else if ok {
			via = fmt.Sprintf("trigger %s", ev.Data["trigger"])
		}
		s.printf("     → ticket %s created from %s <%s> (channel %s), assigned to %s (group %s) by %s, status %s %s",
			ticket.Marker(c.Ticket.ID), c.Ticket.CustomerName, c.Ticket.CustomerEmail, c.Ticket.Channel, c.Ticket.Assignee,
			c.Ticket.Group, via, c.Ticket.Status, demoTook(took))
	}
	return s.checkpoint(StepTickets)
}

// 2. The operator holds the first ticket; the hold mail lands in the customer's mailbox.
func (s *Story) hold(ctx context.Context) error {
	c := s.st.Customers[0]
	id := c.Ticket.ID
	note := "ログインの不具合について、ただいま担当部署で調査しております。\nお手数ですが、ご利用のブラウザとエラーコードをお知らせください。"
	s.printf("\n2. %s answers %s with a hold mail (POST /api/v1/tickets/%d/preview, then /hold)", c.Ticket.Assignee, ticket.Marker(id), id)
	var preview struct {
		Subject   string `json:"subject"`
		Forbidden []struct {
			Word string `json:"word"`
		} `json:"forbidden_words"`
	}
	if err := s.Call(ctx, "POST", fmt.Sprintf("/api/v1/tickets/%d/preview", id), map[string]any{"action": "hold", "note": note}, &preview); err != nil {
		return err
	}
	words := "no forbidden word"
	if len(preview.Forbidden) > 0 {
		words = fmt.Sprintf("%d forbidden word(s)", len(preview.Forbidden))
	}
	s.printf("     → preview: Subject %q, %s", preview.Subject, words)
	out, err := s.answer(ctx, id, "hold", note)
	if err != nil {
		return err
	}
	s.st.HoldOutbound = out
	m, took, err := s.mailIn(ctx, c, out.MailMessageID)
	if err != nil {
		return err
	}
	s.st.HoldMail = m
	s.printf("     → landed in %s's mailbox %s:", demoUser(c.Address), demoTook(took))
	s.printMail(m)
	return s.checkpoint(StepHold)
}

// answer resolves or holds ticket id through the API, waits for its mail to be
// sent and returns the outbound mail.
func (s *Story) answer(ctx context.Context, id int64, action, note string) (ticket.OutboundMail, error) {
	var t ticket.Ticket
	if err := s.Call(ctx, "POST", fmt.Sprintf("/api/v1/tickets/%d/%s", id, action), map[string]any{"note": note}, &t); err != nil {
		return ticket.OutboundMail{}, err
	}
	ev, ok, err := s.LastEvent(ctx, id, action)
	if err != nil || !ok {
		return ticket.OutboundMail{}, fmt.Errorf("no %s event on ticket %d (%v)", action, id, err)
	}
	outID, _ := ev.Data["outbound_mail_id"].(float64)
	var out ticket.OutboundMail
	took, err := s.WaitFor(ctx, fmt.Sprintf("the %s mail of %s to be sent", action, ticket.Marker(id)), func() (bool, error) {
		out, err = s.World.Store.Outbound(ctx, int64(outID))
		if err == nil && out.State == ticket.OutboundFailed {
			return false, fmt.Errorf("the %s mail failed: %s", action, out.LastError)
		}
		return out.State == ticket.OutboundSent, err
	})
	if err != nil {
		return out, err
	}
	s.printf("     → status %s; %s mail #%d sent over SMTP to %s (attempt %d) %s", t.Status, action, out.ID, out.Recipient, out.Attempts, demoTook(took))
	return out, nil
}

// mailIn waits for the mail with messageID in the customer's Dovecot mailbox.
func (s *Story) mailIn(ctx context.Context, c *Customer, messageID string) (*Mail, time.Duration, error) {
	var m *Mail
	took, err := s.WaitFor(ctx, "<"+messageID+"> in "+c.Address+"'s mailbox", func() (bool, error) {
		var err error
		m, err = s.fetchMail(ctx, demoUser(c.Address), messageID)
		return m != nil, err
	})
	return m, took, err
}

func (s *Story) printMail(m *Mail) {
	p := m.Parsed
	var to []string
	for _, a := range p.To {
		to = append(to, fmt.Sprintf("%s <%s>", a.Name, a.Address))
	}
	s.printf("         From: %s <%s>   To: %s", p.From.Name, p.From.Address, strings.Join(to, ", "))
	s.printf("         Subject: %s", p.Subject)
	s.printf("         Message-ID: %s", m.Header.Get("Message-ID"))
	s.printf("         In-Reply-To: %s", m.Header.Get("In-Reply-To"))
	s.printf("         References: %s", strings.Join(strings.Fields(m.Header.Get("References")), " "))
	ct, _, _ := strings.Cut(m.Header.Get("Content-Type"), ";")
	s.printf("         Auto-Submitted: %s   Content-Type: %s", m.Header.Get("Auto-Submitted"), ct)
}

// 3. The customer answers the hold mail; the reply threads into the ticket.
func (s *Story) customerReply(ctx context.Context) error {
	c := s.st.Customers[0]
	hold := s.st.HoldMail.Parsed
	subject := hold.Subject
	if !strings.HasPrefix(strings.ToLower(subject), "re:") {
		subject = "Re: " + subject
	}
	var quoted strings.Builder
	for line := range strings.Lines(hold.Text) {
		quoted.WriteString("> " + line)
	}
	body := "ご連絡ありがとうございます。\nブラウザは Chrome 131、エラーコードは E-4012 です。\nよろしくお願いいたします。\n\n山田\n\n" +
		fmt.Sprintf("%s %s <%s>:\n", hold.Date, hold.From.Name, hold.From.Address) + quoted.String()
	s.st.Reply = fmt.Sprintf("%s.reply@%s", s.World.Env.Run, s.World.Env.Domain)
	raw, err := c.compose(s.World.Support(), subject, body, s.st.Reply, hold.MessageID, []string{c.MessageID, hold.MessageID})
	if err != nil {
		return err
	}
	s.printf("\n3. %s replies to the hold mail (In-Reply-To: <%s>)", c.Name, hold.MessageID)
	if err := demoSendMail(ctx, s.World.Env.SMTPAddr, c.Address, s.World.Support(), raw); err != nil {
		return fmt.Errorf("send the reply: %w", err)
	}
	var t ticket.Ticket
	took, err := s.WaitFor(ctx, "the reply in "+ticket.Marker(c.Ticket.ID), func() (bool, error) {
		msgs, err := s.World.Store.Messages(ctx, c.Ticket.ID)
		if err != nil {
			return false, err
		}
		for _, m := range msgs {
			if m.MailMessageID == s.st.Reply {
				t, err = s.World.Store.Get(ctx, c.Ticket.ID)
				return true, err
			}
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	ev, _, err := s.LastEvent(ctx, t.ID, string(ticket.ActionCustomerReply))
	if err != nil {
		return err
	}
	s.printf("     → threaded into %s by its In-Reply-To; the ticket reopened: %s → %s %s", ticket.Marker(t.ID), ev.From, t.Status, demoTook(took))
	return s.checkpoint(StepReply)
}

// 4. Two tickets are escalated to Dooray!, into two organisations: one to the
// service's default (main, a project with a webhook), one to partner (another
// host and token, its default project, without a webhook).
func (s *Story) escalate(ctx context.Context) error {
	s.printf("\n4. Escalations to Dooray! (POST /api/v1/tickets/N/escalate → dooray:escalate)")
	for i, e := range []struct {
		org, code, content string
		fake               *dooraytest.Server
	}{
		{"main", "helpdesk", "お客様がマイページにログインできません（認証エラー E-4012、Chrome 131）。パスワード再設定後も再現します。認証サーバーのログ確認をお願いします。", s.World.Fake},
		{"partner", "infra", "11월 구독료 이중 결제 (카드). 결제 서버에서 중복 승인 여부를 확인하고 1건 취소 부탁드립니다.", s.World.Partner},
	} {
		c := s.st.Customers[i]
		id := c.Ticket.ID
		body := map[string]any{"content": e.content}
		if i > 0 {
			body["organization"] = e.org // the first takes the service's defaults
		}
		if err := s.Call(ctx, "POST", fmt.Sprintf("/api/v1/tickets/%d/escalate", id), body, nil); err != nil {
			return err
		}
		took, err := s.waitStatus(ctx, id, ticket.StatusDoorayTransferred)
		if err != nil {
			return err
		}
		ev, _, err := s.LastEvent(ctx, id, string(ticket.ActionDoorayCreated))
		if err != nil {
			return err
		}
		post, _ := ev.Data["post_id"].(string)
		number, _ := ev.Data["task_number"].(string)
		s.st.Posts[id], s.st.TaskNumbers[id] = post, number
		p, _ := e.fake.Post(post)
		s.printf("   %s by %s to project %s of organisation %s", ticket.Marker(id), c.Ticket.Assignee, e.code, e.org)
		s.printf("     → task %s %q (post %s, state %s) created; status dooray_transferred %s", number, p.Subject, post, p.Class, demoTook(took))
	}
	return s.checkpoint(StepEscalated)
}

// 5. The operator adds a comment to the Dooray! task.
func (s *Story) commentOut(ctx context.Context) error {
	c := s.st.Customers[0]
	id, post := c.Ticket.ID, s.st.Posts[c.Ticket.ID]
	text := "お客様から追加情報: ブラウザ Chrome 131、エラーコード E-4012。"
	s.printf("\n5. %s adds a comment for Dooray! on %s (POST /api/v1/tickets/%d/dooray-comment → dooray:comment)", c.Ticket.Assignee, ticket.Marker(id), id)
	if err := s.Call(ctx, "POST", fmt.Sprintf("/api/v1/tickets/%d/dooray-comment", id), map[string]any{"text": text}, nil); err != nil {
		return err
	}
	var ev ticket.Event
	took, err := s.WaitFor(ctx, "the comment on task "+s.st.TaskNumbers[id], func() (bool, error) {
		var ok bool
		var err error
		ev, ok, err = s.LastEvent(ctx, id, ticket.EventDoorayCommentSent)
		return ok, err
	})
	if err != nil {
		return err
	}
	s.st.DoorayOut, _ = ev.Data["dooray_log_id"].(string)
	s.printf("     → comment %s on task %s (%d comment(s) on it in Dooray!) %s", s.st.DoorayOut, s.st.TaskNumbers[id], len(s.World.Fake.Comments(post)), demoTook(took))
	return s.checkpoint(StepCommented)
}

// 6. In Dooray!, someone starts both tasks: one ticket follows by webhook, the other by poll.
func (s *Story) working(ctx context.Context) error {
	s.printf("\n6. In Dooray!, %s moves both tasks to 進行中 (working)", demoDoorayUser)
	return s.moveBoth(ctx, dooray.Working, ticket.StatusDoorayInProgress, StepWorking)
}

// 8. … and closes them.
func (s *Story) closed(ctx context.Context) error {
	s.printf("\n8. In Dooray!, %s closes both tasks (完了)", demoDoorayUser)
	return s.moveBoth(ctx, dooray.Closed, ticket.StatusDoorayAnswered, StepClosed)
}

// demoDoorayUser is the fake's second member, who acts in Dooray!'s web UI.
const demoDoorayUser = "Kim Minji"

func (s *Story) moveBoth(ctx context.Context, class dooray.WorkflowClass, want ticket.Status, step string) error {
	for i, org := range []struct {
		project string
		fake    *dooraytest.Server
	}{{s.World.Helpdesk, s.World.Fake}, {s.World.Infra, s.World.Partner}} {
		id := s.st.Customers[i].Ticket.ID
		post := s.st.Posts[id]
		before := len(org.fake.Deliveries())
		lists := org.fake.Requests()[dooraytest.RouteListPosts]
		if err := org.fake.MovePost(org.project, post, string(class)); err != nil {
			return err
		}
		took, err := s.waitStatus(ctx, id, want)
		if err != nil {
			return err
		}
		var hooks []string
		for _, d := range org.fake.Deliveries()[before:] {
			hooks = append(hooks, fmt.Sprintf("%s → %d", d.Event, d.Status))
		}
		how := "no webhook on this project: the poll (dooray:sync every " + s.World.Config.Dooray.SyncInterval.Std().String() +
			fmt.Sprintf(", %d list request(s) meanwhile) found the change", org.fake.Requests()[dooraytest.RouteListPosts]-lists)
		if len(hooks) > 0 {
			how = "webhook " + strings.Join(hooks, ", ") + " queued a sync of the task"
		}
		s.printf("   task %s → %s: %s", s.st.TaskNumbers[id], class, how)
		s.printf("     → %s %s %s", ticket.Marker(id), want, demoTook(took))
	}
	return s.checkpoint(step)
}

// 7. A comment written in Dooray! comes back into the ticket's history.
func (s *Story) commentIn(ctx context.Context) error {
	c := s.st.Customers[0]
	id, post := c.Ticket.ID, s.st.Posts[c.Ticket.ID]
	text := "原因は認証サーバーのセッションキャッシュでした。本日 14:00 に修正をリリースしました。"
	s.printf("\n7. %s answers on task %s in Dooray!: %q", demoDoorayUser, s.st.TaskNumbers[id], text)
	logID, err := s.World.Fake.AddComment(s.World.Helpdesk, post, text)
	if err != nil {
		return err
	}
	s.st.DoorayIn = logID
	var got ticket.Message
	took, err := s.WaitFor(ctx, "the Dooray! comment in "+ticket.Marker(id), func() (bool, error) {
		msgs, err := s.World.Store.Messages(ctx, id)
		for _, m := range msgs {
			if m.DoorayLogID == logID {
				got = m
				return true, err
			}
		}
		return false, err
	})
	if err != nil {
		return err
	}
	s.printf("     → in the history of %s as a %s message from %s %s", ticket.Marker(id), got.Kind, got.Author, demoTook(took))
	return s.checkpoint(StepCommentIn)
}

// 9. Both escalated tickets are resolved; the resolve mails land in the mailboxes.
func (s *Story) resolve(ctx context.Context) error {
	s.printf("\n9. The operators resolve %s and %s (POST /api/v1/tickets/N/resolve → mail:send)",
		ticket.Marker(s.st.Customers[0].Ticket.ID), ticket.Marker(s.st.Customers[1].Ticket.ID))
	for i, note := range []string{
		"認証サーバーの不具合が原因でした。本日修正をリリースしましたので、再度ログインをお試しください。",
		"중복 결제 1건을 취소했습니다. 카드사에 반영되기까지 3~5 영업일이 걸립니다.",
	} {
		c := s.st.Customers[i]
		s.printf("   %s resolves %s", c.Ticket.Assignee, ticket.Marker(c.Ticket.ID))
		out, err := s.answer(ctx, c.Ticket.ID, "resolve", note)
		if err != nil {
			return err
		}
		m, took, err := s.mailIn(ctx, c, out.MailMessageID)
		if err != nil {
			return err
		}
		s.st.Resolve[c.Ticket.ID] = m
		s.printf("     → landed in %s's mailbox %s:", demoUser(c.Address), demoTook(took))
		s.printMail(m)
	}
	return s.checkpoint(StepResolved)
}

// 10. An administrator completes the resolved tickets.
func (s *Story) complete(ctx context.Context) error {
	s.printf("\n10. An administrator completes them (POST /api/v1/tickets/N/complete)")
	for _, c := range s.st.Customers[:2] {
		var t ticket.Ticket
		if err := s.Call(ctx, "POST", fmt.Sprintf("/api/v1/tickets/%d/complete", c.Ticket.ID), map[string]any{}, &t); err != nil {
			return err
		}
		c.Ticket = t
		s.printf("     → %s %s", ticket.Marker(t.ID), t.Status)
	}
	for _, c := range s.st.Customers[:2] {
		evs, err := s.World.Store.Events(ctx, c.Ticket.ID)
		if err != nil {
			return err
		}
		var path []string
		for _, e := range evs {
			if e.To != "" && e.To != e.From {
				path = append(path, string(e.To))
			}
		}
		s.printf("   %s went %s (%d events)", ticket.Marker(c.Ticket.ID), strings.Join(path, " → "), len(evs))
	}
	var err error
	last := s.st.Customers[2]
	if last.Ticket, err = s.World.Store.Get(ctx, last.Ticket.ID); err != nil {
		return err
	}
	return s.checkpoint(StepCompleted)
}

// waitFor polls cond until it holds, the step's timeout passes or ctx ends,
// and returns how long it took.
func (s *Story) WaitFor(ctx context.Context, what string, cond func() (bool, error)) (time.Duration, error) {
	start := time.Now()
	deadline := start.Add(s.Timeout)
	for {
		ok, err := cond()
		if err != nil {
			return time.Since(start), fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return time.Since(start), nil
		}
		if time.Now().After(deadline) {
			return time.Since(start), fmt.Errorf("waited %s for %s in vain", s.Timeout, what)
		}
		select {
		case <-ctx.Done():
			return time.Since(start), ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *Story) waitStatus(ctx context.Context, id int64, want ticket.Status) (time.Duration, error) {
	var last ticket.Status
	took, err := s.WaitFor(ctx, fmt.Sprintf("%s to become %s", ticket.Marker(id), want), func() (bool, error) {
		t, err := s.World.Store.Get(ctx, id)
		last = t.Status
		return t.Status == want, err
	})
	if err != nil {
		return took, fmt.Errorf("%w (it is %s)", err, last)
	}
	return took, nil
}

// lastEvent is the ticket's newest event of kind.
func (s *Story) LastEvent(ctx context.Context, id int64, kind string) (ticket.Event, bool, error) {
	evs, err := s.World.Store.Events(ctx, id)
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Kind == kind {
			return evs[i], true, err
		}
	}
	return ticket.Event{}, false, err
}

// call is the helpdesk application: JSON over HTTP to /api/v1 with the bearer token.
func (s *Story) Call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+s.World.Env.HTTPAddr+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.World.APIToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct{ Code, Message string }
		}
		json.Unmarshal(b, &e)
		return fmt.Errorf("%s %s: %s: %s (%s)", method, path, resp.Status, e.Error.Message, e.Error.Code)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// fetchMail reads a Dovecot user's INBOX (BODY.PEEK, nothing flagged) and
// returns the mail with messageID, or nil when it has not arrived.
