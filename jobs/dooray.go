package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/contiple/contiple-worker/dooray"
	"github.com/contiple/contiple-worker/ticket"
)

// DoorayAPI is what the Dooray! jobs need of the client (*dooray.Client).
type DoorayAPI interface {
	Me(ctx context.Context) (dooray.Me, error)
	Member(ctx context.Context, id dooray.ID) (dooray.Me, error)
	Workflows(ctx context.Context, projectID dooray.ID) ([]dooray.Workflow, error)
	CreatePost(ctx context.Context, projectID dooray.ID, p dooray.NewPost) (dooray.ID, error)
	GetPost(ctx context.Context, projectID, postID dooray.ID) (dooray.Post, error)
	ListPosts(ctx context.Context, projectID dooray.ID, f dooray.PostFilter) (dooray.Page[dooray.Post], error)
	CreateLog(ctx context.Context, projectID, postID dooray.ID, l dooray.NewLog) (dooray.ID, error)
	ListLogs(ctx context.Context, projectID, postID dooray.ID, f dooray.LogFilter) (dooray.Page[dooray.Log], error)
}

// Enqueuer puts tasks into asynq (*asynq.Client).
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// DoorayOrganization is one Dooray! organisation: its client (host, token,
// rate limiter) and the member its token belongs to.
type DoorayOrganization struct {
	Key    string // dooray.organizations[].key; links record it
	Client DoorayAPI
	// BotMemberID is the member of the API token; asked of the API once when
	// empty. Its comments are ours and never come back in.
	BotMemberID string
	// SyncInterval is its scheduler's interval; its per-project polls are
	// unique for that long (default DoorayConfig.SyncInterval).
	SyncInterval time.Duration
}

// DoorayConfig configures the Dooray! handlers. Store, Queue and the
// organisations are required (the old single `dooray:` block is the one
// organisation ticket.DoorayDefaultOrganization).
type DoorayConfig struct {
	Store         *ticket.Store
	Organizations []DoorayOrganization
	Queue         Enqueuer // the fan-out sync queues one sync per project on it
	Log           *slog.Logger
	// SettleDelay is how long a create whose outcome is unknown may still take
	// effect on Dooray!'s side: the marker is looked up only after it (default 1m;
	// keep it above the HTTP client's timeout).
	SettleDelay time.Duration
	// Overlap is how far before its cursor a poll reads again, for changes
	// that became visible late (default 2m).
	Overlap time.Duration
	// ClockSkew is added to the end of a poll's range, for a Dooray! clock
	// ahead of ours (default 1m).
	ClockSkew time.Duration
	// SyncInterval is the scheduler's interval; per-project polls are unique
	// for that long (default 30s).
	SyncInterval time.Duration
	// Actor names the worker in events (default "dooray").
	Actor string
}

// Dooray handles dooray:escalate, dooray:comment and dooray:sync, each with
// the client of the organisation its link records.
type Dooray struct {
	cfg   DoorayConfig
	store *ticket.Store
	log   *slog.Logger
	orgs  map[string]*doorayOrg
}

// doorayOrg is one organisation's client and what is learnt of it once.
type doorayOrg struct {
	key   string
	api   DoorayAPI
	every time.Duration

	mu        sync.Mutex
	bot       dooray.ID
	workflows map[dooray.ID]map[dooray.ID]dooray.WorkflowClass // project → workflow → class
	names     map[dooray.ID]string                             // member → name, for the history
}

// ErrDoorayOrganization is wrapped when a link names an organisation that is
// not configured (any more): nothing can reach its tasks.
var ErrDoorayOrganization = errors.New("Dooray! organisation not configured")

// org returns the organisation of key ("" is the default one).
func (d *Dooray) org(key string) (*doorayOrg, error) {
	if key == "" {
		key = ticket.DoorayDefaultOrganization
	}
	if o, ok := d.orgs[key]; ok {
		return o, nil
	}
	return nil, fmt.Errorf("%q: %w", key, ErrDoorayOrganization)
}

// NewDooray returns the Dooray! handlers with cfg's defaults filled in.
func NewDooray(cfg DoorayConfig) *Dooray {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.SettleDelay <= 0 {
		cfg.SettleDelay = time.Minute
	}
	if cfg.Overlap <= 0 {
		cfg.Overlap = 2 * time.Minute
	}
	if cfg.ClockSkew <= 0 {
		cfg.ClockSkew = time.Minute
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = 30 * time.Second
	}
	if cfg.Actor == "" {
		cfg.Actor = "dooray"
	}
	d := &Dooray{cfg: cfg, store: cfg.Store, log: cfg.Log, orgs: map[string]*doorayOrg{}}
	for _, o := range cfg.Organizations {
		every := o.SyncInterval
		if every <= 0 {
			every = cfg.SyncInterval
		}
		d.orgs[o.Key] = &doorayOrg{key: o.Key, api: o.Client, bot: dooray.ID(o.BotMemberID), every: every,
			workflows: map[dooray.ID]map[dooray.ID]dooray.WorkflowClass{}, names: map[dooray.ID]string{}}
	}
	return d
}

// Register adds the three handlers to mux.
func (d *Dooray) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeDoorayEscalate, d.handleEscalate)
	mux.HandleFunc(TypeDoorayComment, d.handleComment)
	mux.HandleFunc(TypeDooraySync, d.handleSync)
}

// DooraySyncPayload is the payload of dooray:sync, in an organisation (""
// is the default one): {organization} polls every project of it with followed
// tasks, {organization, project_id} polls one project, {organization,
// project_id, post_id} syncs one task (a webhook's hint). {} polls every
// project of every organisation.
type DooraySyncPayload struct {
	Organization string `json:"organization,omitempty"`
	ProjectID    string `json:"project_id,omitempty"`
	PostID       string `json:"post_id,omitempty"`
}

// NewDooraySyncAllTask is the scheduler's task for one organisation: a poll of
// its projects, unique for one interval so that a slow round never piles up.
func NewDooraySyncAllTask(org string, interval time.Duration) (*asynq.Task, []asynq.Option) {
	b, _ := json.Marshal(DooraySyncPayload{Organization: org})
	return asynq.NewTask(TypeDooraySync, b), []asynq.Option{
		asynq.Queue(QueueDooray), asynq.Unique(max(interval, time.Second)), asynq.MaxRetry(0),
	}
}

// DooraySchedule is the periodic poll of each organisation, at its own
// interval (organisation key → interval).
func DooraySchedule(every map[string]time.Duration) []Periodic {
	var out []Periodic
	for _, org := range slices.Sorted(maps.Keys(every)) {
		if every[org] <= 0 {
			continue
		}
		task, opts := NewDooraySyncAllTask(org, every[org])
		out = append(out, Periodic{Every: every[org], Task: task, Opts: opts})
	}
	return out
}

// NewDooraySyncProjectTask polls one project; one at a time per project.
func NewDooraySyncProjectTask(org, projectID string, interval time.Duration) (*asynq.Task, []asynq.Option) {
	b, _ := json.Marshal(DooraySyncPayload{Organization: org, ProjectID: projectID})
	return asynq.NewTask(TypeDooraySync, b), []asynq.Option{
		asynq.Queue(QueueDooray), asynq.Unique(max(interval, time.Second)), asynq.MaxRetry(3),
		asynq.Timeout(10 * time.Minute),
	}
}

// syncBucket is the window in which hints about one task are coalesced.
const syncBucket = time.Second

// EnqueueDooraySyncPost queues a sync of one task, coalescing hints. Each
// second has two immediate slots (TaskID dooray:sync:post:<id>:<second>:a|b);
// a hint that finds both taken, queued or running, goes to a task scheduled at
// the start of the next second, which reads the task after it. A storm of
// webhooks thus makes at most three tasks a second per task, and every hint is
// followed by a read that starts after it.
func EnqueueDooraySyncPost(ctx context.Context, q Enqueuer, org, projectID, postID string) error {
	if postID == "" {
		return errors.New("dooray sync: empty post id")
	}
	if org == "" {
		org = ticket.DoorayDefaultOrganization
	}
	payload, _ := json.Marshal(DooraySyncPayload{Organization: org, ProjectID: projectID, PostID: postID})
	bucket := time.Now().Truncate(syncBucket)
	slots := []struct {
		at   time.Time
		slot string
	}{{bucket, "a"}, {bucket, "b"}, {bucket.Add(syncBucket), "a"}}
	for i, s := range slots {
		opts := []asynq.Option{asynq.Queue(QueueDooray), asynq.MaxRetry(8),
			asynq.TaskID(fmt.Sprintf("dooray:sync:post:%s:%s:%d:%s", org, postID, s.at.Unix(), s.slot))}
		if i == len(slots)-1 {
			opts = append(opts, asynq.ProcessAt(s.at))
		}
		_, err := q.EnqueueContext(ctx, asynq.NewTask(TypeDooraySync, payload), opts...)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, asynq.ErrTaskIDConflict), errors.Is(err, asynq.ErrDuplicateTask):
			continue
		default:
			return fmt.Errorf("dooray sync of post %s: %w", postID, err)
		}
	}
	return nil // the next second's task is queued and will see this change
}

// DoorayHints queues syncs of single tasks: what the webhook receiver needs.
type DoorayHints struct{ Queue Enqueuer }

// EnqueuePostSync queues a deduplicated sync of one task of organisation org.
func (h DoorayHints) EnqueuePostSync(ctx context.Context, org, projectID, postID string) error {
	return EnqueueDooraySyncPost(ctx, h.Queue, org, projectID, postID)
}

// botID returns the token's member, asking the API once.
func (o *doorayOrg) botID(ctx context.Context) (dooray.ID, error) {
	o.mu.Lock()
	bot := o.bot
	o.mu.Unlock()
	if bot != "" {
		return bot, nil
	}
	me, err := o.api.Me(ctx)
	if err != nil {
		return "", err
	}
	o.mu.Lock()
	o.bot = me.ID
	o.mu.Unlock()
	return me.ID, nil
}

// permanent reports an error no retry can cure.
func permanent(err error) bool {
	var ae *dooray.APIError
	var ie *ticket.InputError
	switch {
	case errors.As(err, &ae):
		return !ae.Retryable && !ae.Ambiguous
	case errors.As(err, &ie), errors.Is(err, ticket.ErrNotFound), errors.Is(err, ErrDoorayCommentRefused),
		errors.Is(err, ErrDoorayOrganization):
		return true
	}
	return false
}

// fail ends a job: a permanent error is recorded on the ticket (when there is
// one) and ends with SkipRetry; anything else is returned for a retry.
func (d *Dooray) fail(ctx context.Context, ticketID int64, op string, err error, data map[string]any) error {
	if !permanent(err) {
		return fmt.Errorf("%s: %w", op, err)
	}
	if ticketID != 0 {
		if data == nil {
			data = map[string]any{}
		}
		data["operation"], data["error"] = op, err.Error()
		if e := d.store.DoorayEvent(ctx, ticketID, ticket.EventDoorayFailed, d.cfg.Actor, data); e != nil && !errors.Is(e, ticket.ErrNotFound) {
			return fmt.Errorf("%s: %w (and recording it: %v)", op, err, e)
		}
	}
	d.log.WarnContext(ctx, "dooray job failed for good", "operation", op, "ticket_id", ticketID, "err", err)
	return fmt.Errorf("%s: %w: %w", op, err, asynq.SkipRetry)
}

// settle waits until d.cfg.SettleDelay has passed since at.
func (d *Dooray) settle(ctx context.Context, at *time.Time) error {
	if at == nil {
		return nil
	}
	if wait := time.Until(at.Add(d.cfg.SettleDelay)); wait > 0 {
		return sleepCtx(ctx, wait)
	}
	return nil
}

// maxCreates bounds the creates one run of a job tries after unknown outcomes.
const maxCreates = 3

func (d *Dooray) handleEscalate(ctx context.Context, t *asynq.Task) error {
	var p DoorayEscalatePayload
	if err := decode(t.Payload(), &p); err != nil {
		return err
	}
	return d.Escalate(ctx, p.DoorayLinkID)
}

// Escalate creates the task of escalation link id, exactly once: it always
// looks for a task carrying the ticket's marker before creating one, and after
// an unknown outcome it waits SettleDelay before looking again. When it gives
// up for good (a wrong project, retries exhausted), the link stops waiting, so
// the ticket can be escalated again.
func (d *Dooray) Escalate(ctx context.Context, linkID int64) error {
	// One run at a time per link, across the find and the create (a lease):
	// two live runs would both find nothing and both create.
	lk, err := d.store.LeaseDoorayEscalation(ctx, linkID)
	if err != nil {
		return fmt.Errorf("dooray escalate: %w", err) // busy elsewhere or no database: try later
	}
	defer lk.Release()
	err = d.escalate(ctx, linkID)
	retried, okR := asynq.GetRetryCount(ctx)
	maxRetry, okM := asynq.GetMaxRetry(ctx)
	if err != nil && (errors.Is(err, asynq.SkipRetry) || okR && okM && retried >= maxRetry) {
		if ferr := d.store.DoorayEscalationFailed(context.WithoutCancel(ctx), linkID); ferr != nil {
			d.log.ErrorContext(ctx, "recording a given-up escalation", "dooray_link_id", linkID, "err", ferr)
		}
	}
	return err
}

func (d *Dooray) escalate(ctx context.Context, linkID int64) error {
	e, err := d.store.DoorayEscalation(ctx, linkID)
	if err != nil {
		return d.fail(ctx, 0, "dooray escalate", err, nil)
	}
	log := d.log.With("ticket_id", e.TicketID, "dooray_link_id", linkID, "organization", e.Organization, "project_id", e.ProjectID)
	org, err := d.org(e.Organization)
	if err != nil {
		return d.fail(ctx, e.TicketID, "dooray escalate", err, map[string]any{"dooray_link_id": linkID})
	}
	if e.PostID != "" {
		_, err := d.store.DoorayTaskCreated(ctx, linkID, ticket.DoorayTask{PostID: e.PostID}, d.cfg.Actor)
		return err
	}
	if e.Failed { // an operator runs it again from the dashboard
		if err := d.store.DoorayEscalationRetry(ctx, linkID); err != nil {
			return d.fail(ctx, e.TicketID, "dooray escalate", err, map[string]any{"dooray_link_id": linkID})
		}
		log.InfoContext(ctx, "a given-up escalation is tried again")
	}
	project := dooray.ID(e.ProjectID)
	if retried, _ := asynq.GetRetryCount(ctx); retried > 0 && e.UncertainAt == nil {
		// An earlier run may have died between creating the task and recording
		// it: look wider, among the bot's tasks created since the escalation.
		e.UncertainAt = &e.CreatedAt
	}
	for creates := 0; ; creates++ {
		if err := d.settle(ctx, e.UncertainAt); err != nil {
			return err
		}
		found, err := d.findTask(ctx, org, e)
		if err != nil {
			return d.fail(ctx, e.TicketID, "dooray escalate: looking up "+ticket.Marker(e.TicketID), err,
				map[string]any{"dooray_link_id": linkID})
		}
		if found != nil {
			log.InfoContext(ctx, "dooray task found by its marker", "dooray_post_id", found.ID)
			return d.recordTask(ctx, e, *found)
		}
		if creates == 0 && !ticket.Allowed(e.Status, ticket.ActionDoorayCreated) {
			// Resolved or the like while the job waited: the task is moot.
			return d.fail(ctx, e.TicketID, "dooray escalate", &ticket.InputError{Msg: fmt.Sprintf(
				"ticket %d is %s: no Dooray! task is created for it any more", e.TicketID, e.Status)},
				map[string]any{"dooray_link_id": linkID})
		}
		if creates >= maxCreates {
			return fmt.Errorf("dooray escalate: link %d: %d creates with unknown outcome and no task found yet", linkID, creates)
		}
		id, err := org.api.CreatePost(ctx, project, d.newPost(e))
		switch {
		case err == nil:
			log.InfoContext(ctx, "dooray task created", "dooray_post_id", id)
			post, gerr := org.api.GetPost(ctx, project, id)
			if gerr != nil {
				post = dooray.Post{ID: id} // the number is a nicety; the id is what counts
			}
			return d.recordTask(ctx, e, post)
		case dooray.IsAmbiguous(err):
			log.WarnContext(ctx, "dooray task create: outcome unknown; will look it up", "err", err)
			// Recorded even when ctx is ending: the next run must know to look wider.
			if rerr := d.store.DoorayEvent(context.WithoutCancel(ctx), e.TicketID, ticket.EventDoorayOutcomeUnknown, d.cfg.Actor,
				map[string]any{"operation": "create task", "dooray_link_id": linkID, "error": err.Error()}); rerr != nil {
				return rerr
			}
			now := time.Now()
			e.UncertainAt = &now
		default:
			return d.fail(ctx, e.TicketID, "dooray escalate: create task", err, map[string]any{"dooray_link_id": linkID})
		}
	}
}

// recordTask links the task to the escalation. A task another escalation
// links already (a unique constraint says so) is a permanent failure, recorded
// on the ticket: retrying cannot make it this escalation's.
func (d *Dooray) recordTask(ctx context.Context, e ticket.DoorayEscalation, p dooray.Post) error {
	_, err := d.store.DoorayTaskCreated(ctx, e.LinkID,
		ticket.DoorayTask{PostID: string(p.ID), Number: p.Number, TaskNumber: p.TaskNumber}, d.cfg.Actor)
	if err != nil {
		return d.fail(ctx, e.TicketID, "dooray escalate: record task "+string(p.ID), err,
			map[string]any{"dooray_link_id": e.LinkID, "post_id": string(p.ID)})
	}
	return nil
}

// taskSubject is the subject of an escalation's task: the ticket's marker,
// then its subject. ownTask recognises it.
func taskSubject(ticketID int64, subject string) string {
	return ticket.Marker(ticketID) + " " + subject
}

// ownTask reports whether p is the task this worker made for ticketID: made by
// our bot member, with the ticket's exact marker where taskSubject puts it. A
// customer subject that merely carries a marker ("[CT-9] Re: [CT-7] …") names
// ticket 9's task, never ticket 7's.
func ownTask(p dooray.Post, ticketID int64, bot dooray.ID) bool {
	if p.Users.From == nil || p.Users.From.MemberID() != bot || bot == "" {
		return false
	}
	marker := ticket.Marker(ticketID)
	return p.Subject == marker || strings.HasPrefix(p.Subject, marker+" ")
}

// findTask looks for the escalation's task by the marker in its subject, among
// tasks our bot made that no other escalation links.
func (d *Dooray) findTask(ctx context.Context, org *doorayOrg, e ticket.DoorayEscalation) (*dooray.Post, error) {
	marker := ticket.Marker(e.TicketID)
	bot, err := org.botID(ctx)
	if err != nil {
		return nil, err
	}
	f := dooray.PostFilter{Subjects: strings.Trim(marker, "[]"), Order: dooray.OrderCreatedDesc, Size: dooray.MaxPageSize,
		FromMemberIDs: []dooray.ID{bot}}
	match := func(f dooray.PostFilter) (*dooray.Post, error) {
		page, err := org.api.ListPosts(ctx, dooray.ID(e.ProjectID), f)
		if err != nil {
			return nil, err
		}
		var candidates []dooray.Post
		var ids []string
		for _, p := range page.Items {
			if ownTask(p, e.TicketID, bot) && !contains(e.OtherPostIDs, string(p.ID)) {
				candidates = append(candidates, p)
				ids = append(ids, string(p.ID))
			}
		}
		if len(candidates) == 0 {
			return nil, nil
		}
		linked, err := d.store.DoorayLinksByPost(ctx, org.key, ids)
		if err != nil {
			return nil, err
		}
		for _, p := range candidates {
			if l, ok := linked[string(p.ID)]; !ok || l.ID == e.LinkID {
				return &p, nil
			}
		}
		return nil, nil
	}
	p, err := match(f)
	if p != nil || err != nil || e.UncertainAt == nil {
		return p, err
	}
	// How Dooray! matches subjects is undocumented: after an unknown outcome,
	// read the bot's newest tasks since shortly before it as well.
	f.Subjects = ""
	f.CreatedAt = dooray.DateRange(e.UncertainAt.Add(-time.Hour), time.Now().Add(d.cfg.ClockSkew))
	return match(f)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// newPost is the task of an escalation: [CT-n] subject, the operator's content,
// the ticket's priority, the service's assignees.
func (d *Dooray) newPost(e ticket.DoorayEscalation) dooray.NewPost {
	p := dooray.NewPost{
		Subject:  taskSubject(e.TicketID, e.Subject),
		Body:     &dooray.Body{MimeType: dooray.Markdown, Content: e.Content},
		Priority: DoorayPriority(e.Priority),
	}
	for _, m := range e.ToMemberIDs {
		p.Users.To = append(p.Users.To, dooray.Member(dooray.ID(m)))
	}
	for _, addr := range e.ToEmails {
		p.Users.To = append(p.Users.To, dooray.Email(addr, ""))
	}
	return p
}

// DoorayPriority maps a ticket's priority to a task's.
func DoorayPriority(p ticket.Priority) dooray.Priority {
	switch p {
	case ticket.PriorityLow:
		return dooray.PriorityLow
	case ticket.PriorityHigh:
		return dooray.PriorityHigh
	case ticket.PriorityUrgent:
		return dooray.PriorityHighest
	}
	return dooray.PriorityNormal
}

func (d *Dooray) handleComment(ctx context.Context, t *asynq.Task) error {
	var p DoorayCommentPayload
	if err := decode(t.Payload(), &p); err != nil {
		return err
	}
	return d.Comment(ctx, p.MessageID)
}

// ErrDoorayCommentRefused is wrapped by Comment when the ticket no longer takes
// Dooray! comments.
var ErrDoorayCommentRefused = errors.New("comments go to Dooray! only while the ticket is dooray_transferred or dooray_in_progress")

// Comment puts operator comment message id on the ticket's task, once: after
// an unknown outcome (or when the job is a retry) it looks for the comment
// before posting again.
func (d *Dooray) Comment(ctx context.Context, messageID int64) error {
	lk, err := d.store.LeaseDoorayComment(ctx, messageID)
	if err != nil {
		return fmt.Errorf("dooray comment: %w", err) // busy elsewhere or no database: try later
	}
	defer lk.Release()
	o, err := d.store.DoorayOutgoing(ctx, messageID)
	if err != nil {
		return d.fail(ctx, 0, "dooray comment", err, nil)
	}
	if o.LogID != "" {
		return nil
	}
	data := map[string]any{"message_id": messageID}
	if o.Status != ticket.StatusDoorayTransferred && o.Status != ticket.StatusDoorayInProgress {
		return d.fail(ctx, o.TicketID, "dooray comment",
			fmt.Errorf("ticket %d is %s: %w", o.TicketID, o.Status, ErrDoorayCommentRefused), data)
	}
	if o.PostID == "" {
		return d.fail(ctx, o.TicketID, "dooray comment",
			&ticket.InputError{Msg: fmt.Sprintf("ticket %d has no Dooray! task", o.TicketID)}, data)
	}
	project, post := dooray.ID(o.ProjectID), dooray.ID(o.PostID)
	org, err := d.org(o.Organization)
	if err != nil {
		return d.fail(ctx, o.TicketID, "dooray comment", err, data)
	}
	retried, _ := asynq.GetRetryCount(ctx)
	look := o.UncertainAt != nil || retried > 0
	for creates := 0; ; creates++ {
		if look {
			if err := d.settle(ctx, o.UncertainAt); err != nil {
				return err
			}
			id, err := d.findComment(ctx, org, o)
			if err != nil {
				return d.fail(ctx, o.TicketID, "dooray comment: looking it up", err, data)
			}
			if id != "" {
				return d.store.DoorayCommentSent(ctx, messageID, string(id), d.cfg.Actor)
			}
		}
		if creates >= maxCreates {
			return fmt.Errorf("dooray comment: message %d: %d posts with unknown outcome and no comment found yet", messageID, creates)
		}
		id, err := org.api.CreateLog(ctx, project, post, dooray.NewLog{Body: dooray.Body{MimeType: dooray.Markdown, Content: o.Body}})
		switch {
		case err == nil:
			d.log.InfoContext(ctx, "dooray comment posted", "ticket_id", o.TicketID, "message_id", messageID, "dooray_post_id", post)
			return d.store.DoorayCommentSent(ctx, messageID, string(id), d.cfg.Actor)
		case dooray.IsAmbiguous(err):
			if rerr := d.store.DoorayEvent(context.WithoutCancel(ctx), o.TicketID, ticket.EventDoorayOutcomeUnknown, d.cfg.Actor,
				map[string]any{"operation": "create comment", "message_id": messageID, "error": err.Error()}); rerr != nil {
				return rerr
			}
			now := time.Now()
			o.UncertainAt, look = &now, true
		default:
			return d.fail(ctx, o.TicketID, "dooray comment", err, data)
		}
	}
}

// findComment looks for our comment among the task's newest logs: by the bot,
// with our text, not yet owned by another message of the ticket.
func (d *Dooray) findComment(ctx context.Context, org *doorayOrg, o ticket.DoorayOutgoing) (dooray.ID, error) {
	bot, err := org.botID(ctx)
	if err != nil {
		return "", err
	}
	want := strings.TrimSpace(o.Body)
	pages := 0
	for l, err := range org.logs(ctx, dooray.ID(o.ProjectID), dooray.ID(o.PostID)) {
		if err != nil {
			return "", err
		}
		if l.Creator.MemberID() == bot && strings.TrimSpace(l.Body.Content) == want && !o.KnownLogIDs[string(l.ID)] {
			return l.ID, nil
		}
		if pages++; pages > 3*dooray.MaxPageSize {
			break
		}
	}
	return "", nil
}
