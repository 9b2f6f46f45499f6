package ticket

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The Dooray! side of a ticket: its escalation task (dooray_links), the task's
// workflow class, and comments both ways. Every operation is one transaction
// that writes its events; the Dooray! ids are stored with the change, so that a
// job running twice finds the work done.
//
// dooray_links.updated_at is the link's sync cursor: the Dooray! updatedAt of the
// newest task state applied (the epoch until the first sync). A read of the task
// older than that is stale and never undoes a newer state, whatever order
// webhooks and polls arrive in.

// Dooray! workflow classes as stored in dooray_links.workflow_class, plus the
// mark of a task that is gone.
const (
	DoorayBacklog    = "backlog"
	DoorayRegistered = "registered"
	DoorayWorking    = "working"
	DoorayClosed     = "closed"
	DoorayDeleted    = "deleted" // the task answers 404 everywhere
)

// Event kinds of the Dooray! sync that are not status actions.
const (
	EventDoorayWorkflow       = "dooray_workflow"         // the task's class changed; status unchanged
	EventDoorayCommentIn      = "dooray_comment_received" // a comment written in Dooray! came in
	EventDoorayCommentSent    = "dooray_comment_sent"     // our comment is on the task
	EventDoorayOutcomeUnknown = "dooray_outcome_unknown"  // a create may or may not have happened
	EventDoorayFailed         = "dooray_failed"           // a permanent error: the job gave up
	EventDoorayTaskMoved      = "dooray_task_moved"
	EventDoorayTaskDeleted    = "dooray_task_deleted"
)

// doorayEpoch is the sync cursor of a link never synced.
var doorayEpoch = time.Unix(0, 0).UTC()

// DoorayEscalation is what creating a Dooray! task needs: the link, its ticket,
// the operator's content and the service's Dooray! settings.
type DoorayEscalation struct {
	LinkID       int64
	TicketID     int64
	Organization string
	ProjectID    string
	PostID       string // "" until the task exists
	Subject      string // the ticket's subject, without marker
	Priority     Priority
	Status       Status
	Content      string // the escalation message
	ToMemberIDs  []string
	ToEmails     []string
	CreatedAt    time.Time
	OtherPostIDs []string // tasks of the ticket's earlier escalations
	// UncertainAt is when an attempt last ended with an unknown outcome, if ever.
	UncertainAt *time.Time
	// Failed is set when an earlier run gave up on creating the task.
	Failed bool
}

// DoorayEscalationFailed records that creating the task of link id was given
// up (a permanent error, retries exhausted): the ticket may be escalated
// again. A link whose task exists is left alone.
func (s *Store) DoorayEscalationFailed(ctx context.Context, linkID int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE dooray_links SET workflow_class = $2 WHERE id = $1 AND post_id IS NULL`, linkID, DoorayEscalationGaveUp)
	return err
}

// DoorayEscalationRetry takes up again a link given up before (an operator
// retried its task). It is refused when a newer escalation of the ticket is
// waiting for its task: that one replaced it.
func (s *Store) DoorayEscalationRetry(ctx context.Context, linkID int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE dooray_links SET workflow_class = '' WHERE id = $1 AND post_id IS NULL AND workflow_class = $2`,
		linkID, DoorayEscalationGaveUp)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.ConstraintName == "dooray_links_one_pending_idx" {
		return inputf("escalation link %d was replaced by a newer escalation of its ticket", linkID)
	}
	return err
}

// DoorayEscalationGaveUp is the workflow class of a link whose task was never
// created because the job gave up.
const DoorayEscalationGaveUp = "failed"

// DoorayEscalation loads escalation link id.
func (s *Store) DoorayEscalation(ctx context.Context, linkID int64) (DoorayEscalation, error) {
	var e DoorayEscalation
	var settings []byte
	var others []string
	err := s.pool.QueryRow(ctx, `SELECT l.id, l.ticket_id, l.organization, l.project_id, coalesce(l.post_id, ''), l.created_at,
			t.subject, t.priority, t.status, m.body, s.settings,
			(SELECT max(e.created_at) FROM ticket_events e WHERE e.ticket_id = l.ticket_id
				AND e.kind = $2 AND e.data->>'dooray_link_id' = l.id::text),
			coalesce((SELECT array_agg(o.post_id ORDER BY o.id) FROM dooray_links o
				WHERE o.ticket_id = l.ticket_id AND o.id <> l.id AND o.post_id IS NOT NULL
				AND o.organization = l.organization), '{}'),
			l.workflow_class = 'failed' -- DoorayEscalationGaveUp
		FROM dooray_links l
		JOIN tickets t ON t.id = l.ticket_id
		JOIN ticket_messages m ON m.id = l.escalation_message_id
		JOIN services s ON s.key = t.service_key
		WHERE l.id = $1`, linkID, EventDoorayOutcomeUnknown).Scan(&e.LinkID, &e.TicketID, &e.Organization, &e.ProjectID, &e.PostID, &e.CreatedAt,
		&e.Subject, &e.Priority, &e.Status, &e.Content, &settings, &e.UncertainAt, &others, &e.Failed)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, fmt.Errorf("dooray link %d: %w", linkID, ErrNotFound)
	}
	if err != nil {
		return e, err
	}
	e.OtherPostIDs = others
	var d DoorayServiceSettings
	if err := decodeDooraySettings(settings, &d); err != nil {
		return e, err
	}
	e.ToMemberIDs, e.ToEmails = d.Assignees(e.Organization)
	return e, nil
}

// lenientStrings reads a settings value that should be a list of strings: a
// JSON array, a single string, or null.
func lenientStrings(b []byte) []string {
	var list []any
	if err := json.Unmarshal(b, &list); err != nil {
		var one string
		if json.Unmarshal(b, &one) == nil && strings.TrimSpace(one) != "" {
			return []string{strings.TrimSpace(one)}
		}
		return nil
	}
	var out []string
	for _, v := range list {
		switch x := v.(type) {
		case string:
			if x = strings.TrimSpace(x); x != "" {
				out = append(out, x)
			}
		case float64:
			out = append(out, fmt.Sprint(x))
		}
	}
	return out
}

// DoorayTask identifies a created task.
type DoorayTask struct {
	PostID     string
	Number     int    // 0 when unknown
	TaskNumber string // "CODE/N", when known
}

// DoorayTaskCreated records that link's task exists: post_id on the link, the
// ticket dooray_transferred (when it still waits for it) and an event with the
// task. Recording the same task again changes nothing; a different task for a
// link that has one is refused.
func (s *Store) DoorayTaskCreated(ctx context.Context, linkID int64, task DoorayTask, actor string) (Ticket, error) {
	if strings.TrimSpace(task.PostID) == "" {
		return Ticket{}, inputf("a Dooray! task needs a post id")
	}
	var out Ticket
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var ticketID int64
		var projectID, postID string
		err := tx.QueryRow(ctx, `SELECT ticket_id, project_id, coalesce(post_id, '') FROM dooray_links WHERE id = $1 FOR UPDATE`,
			linkID).Scan(&ticketID, &projectID, &postID)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("dooray link %d: %w", linkID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if postID != "" {
			if postID != task.PostID {
				return fmt.Errorf("dooray link %d has task %s already, not %s", linkID, postID, task.PostID)
			}
			out, err = scanTicket(tx.QueryRow(ctx, "SELECT "+ticketColumns+" FROM tickets WHERE id = $1", ticketID))
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE dooray_links SET post_id = $2, workflow_class = $3, updated_at = $4 WHERE id = $1`,
			linkID, task.PostID, DoorayRegistered, doorayEpoch); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "23505" { // unique_violation: the task is another link's
				return inputf("Dooray! task %s is linked to another escalation already (%s): it is not the task of link %d",
					task.PostID, pe.ConstraintName, linkID)
			}
			return err
		}
		data := map[string]any{"dooray_link_id": linkID, "project_id": projectID, "post_id": task.PostID}
		if task.Number > 0 {
			data["number"] = task.Number
		}
		if task.TaskNumber != "" {
			data["task_number"] = task.TaskNumber
		}
		out, err = s.doorayAction(ctx, tx, ticketID, ActionDoorayCreated, string(ActionDoorayCreated), actor, data)
		return err
	})
	return out, err
}

// doorayAction moves the ticket by action when the state machine allows it, and
// otherwise records kind as an event without a status change: Dooray! reports
// facts, which are never refused, only kept.
func (s *Store) doorayAction(ctx context.Context, tx pgx.Tx, ticketID int64, action Action, kind, actor string, data map[string]any) (Ticket, error) {
	now := s.now()
	t, err := scanTicket(tx.QueryRow(ctx, "SELECT "+ticketColumns+" FROM tickets WHERE id = $1 FOR UPDATE", ticketID))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, notFound(ticketID)
	}
	if err != nil {
		return t, err
	}
	if action != "" && Allowed(t.Status, action) {
		return transactIn(ctx, tx, ticketID, action, actor, now, func(*change) (map[string]any, error) { return data, nil })
	}
	if action != "" {
		data["status_unchanged"] = fmt.Sprintf("cannot %s a ticket that is %s", action, t.Status)
	}
	return t, insertEvent(ctx, tx, ticketID, kind, actor, t.Status, t.Status, data, now)
}

// DoorayEvent records an event about the Dooray! side that changes nothing else:
// an unknown outcome, a permanent failure.
func (s *Store) DoorayEvent(ctx context.Context, ticketID int64, kind, actor string, data map[string]any) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var st Status
		err := tx.QueryRow(ctx, "SELECT status FROM tickets WHERE id = $1", ticketID).Scan(&st)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound(ticketID)
		}
		if err != nil {
			return err
		}
		return insertEvent(ctx, tx, ticketID, kind, actor, st, st, data, s.now())
	})
}

// DoorayOutgoing is an operator's comment owed to a Dooray! task.
type DoorayOutgoing struct {
	MessageID    int64
	TicketID     int64
	Status       Status
	Body         string
	LogID        string // set once the comment is on the task
	LinkID       int64  // 0 when the ticket has no task
	Organization string
	ProjectID    string
	PostID       string
	// KnownLogIDs are the Dooray! comments the ticket's history holds already.
	KnownLogIDs map[string]bool
	UncertainAt *time.Time
}

// DoorayOutgoing loads dooray_out message id with the ticket's current task.
func (s *Store) DoorayOutgoing(ctx context.Context, messageID int64) (DoorayOutgoing, error) {
	var o DoorayOutgoing
	var kind MessageKind
	var linkID *int64
	var org, projectID, postID *string
	err := s.pool.QueryRow(ctx, `SELECT m.id, m.ticket_id, t.status, m.kind, m.body, coalesce(m.dooray_log_id, ''),
			l.id, l.organization, l.project_id, l.post_id,
			(SELECT max(e.created_at) FROM ticket_events e WHERE e.ticket_id = m.ticket_id
				AND e.kind = $2 AND e.data->>'message_id' = m.id::text)
		FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id
		LEFT JOIN LATERAL (SELECT id, organization, project_id, post_id FROM dooray_links
			WHERE ticket_id = m.ticket_id AND post_id IS NOT NULL AND workflow_class <> $3
			ORDER BY id DESC LIMIT 1) l ON true
		WHERE m.id = $1`, messageID, EventDoorayOutcomeUnknown, DoorayDeleted).Scan(&o.MessageID, &o.TicketID, &o.Status, &kind,
		&o.Body, &o.LogID, &linkID, &org, &projectID, &postID, &o.UncertainAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, fmt.Errorf("message %d: %w", messageID, ErrNotFound)
	}
	if err != nil {
		return o, err
	}
	if kind != MessageDoorayOut {
		return o, inputf("message %d is a %s message, not a Dooray! comment", messageID, kind)
	}
	if linkID != nil {
		o.LinkID, o.Organization, o.ProjectID, o.PostID = *linkID, *org, *projectID, *postID
	}
	o.KnownLogIDs, err = s.doorayLogIDs(ctx, o.TicketID)
	return o, err
}

func (s *Store) doorayLogIDs(ctx context.Context, ticketID int64) (map[string]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT dooray_log_id FROM ticket_messages WHERE ticket_id = $1 AND dooray_log_id IS NOT NULL`, ticketID)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	known := make(map[string]bool, len(ids))
	for _, id := range ids {
		known[id] = true
	}
	return known, err
}

// DoorayCommentSent records that dooray_out message id is Dooray! comment logID,
// so that the comment coming back in a sync is recognised as ours. Recording
// the same log again changes nothing.
func (s *Store) DoorayCommentSent(ctx context.Context, messageID int64, logID, actor string) error {
	if strings.TrimSpace(logID) == "" {
		return inputf("a Dooray! comment needs a log id")
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var ticketID int64
		var current string
		var st Status
		err := tx.QueryRow(ctx, `SELECT m.ticket_id, coalesce(m.dooray_log_id, ''), t.status FROM ticket_messages m
			JOIN tickets t ON t.id = m.ticket_id WHERE m.id = $1 AND m.kind = $2 FOR UPDATE OF m`, messageID, MessageDoorayOut).
			Scan(&ticketID, &current, &st)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("dooray_out message %d: %w", messageID, ErrNotFound)
		}
		switch {
		case err != nil:
			return err
		case current == logID:
			return nil
		case current != "":
			return fmt.Errorf("message %d is Dooray! comment %s already, not %s", messageID, current, logID)
		}
		// A sync that ran between the create and now may have taken our own
		// comment for someone else's: it is ours, so that copy goes.
		if _, err := tx.Exec(ctx, `DELETE FROM ticket_messages WHERE ticket_id = $1 AND dooray_log_id = $2 AND kind = $3`,
			ticketID, logID, MessageDoorayIn); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE ticket_messages SET dooray_log_id = $2 WHERE id = $1`, messageID, logID); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ticketID, EventDoorayCommentSent, actor, st, st,
			map[string]any{"message_id": messageID, "dooray_log_id": logID}, s.now())
	})
}

// DoorayLink is a ticket's Dooray! task as the sync sees it.
type DoorayLink struct {
	ID            int64
	TicketID      int64
	Organization  string
	ProjectID     string
	PostID        string
	WorkflowClass string
	// SyncedAt is the Dooray! updatedAt of the newest task state applied.
	SyncedAt     time.Time
	TicketStatus Status
}

const doorayLinkColumns = `l.id, l.ticket_id, l.organization, l.project_id, l.post_id, l.workflow_class, l.updated_at, t.status`

func scanDoorayLink(r pgx.Row) (DoorayLink, error) {
	var l DoorayLink
	err := r.Scan(&l.ID, &l.TicketID, &l.Organization, &l.ProjectID, &l.PostID, &l.WorkflowClass, &l.SyncedAt, &l.TicketStatus)
	return l, err
}

// DoorayLinksByPost returns the links of the given tasks of organisation org,
// by post id; tasks we do not link are absent. One query for a whole page of a poll.
func (s *Store) DoorayLinksByPost(ctx context.Context, org string, postIDs []string) (map[string]DoorayLink, error) {
	out := map[string]DoorayLink{}
	if len(postIDs) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+doorayLinkColumns+` FROM dooray_links l JOIN tickets t ON t.id = l.ticket_id
		WHERE l.organization = $1 AND l.post_id = ANY($2) ORDER BY l.id`, org, postIDs)
	if err != nil {
		return nil, err
	}
	links, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DoorayLink, error) { return scanDoorayLink(r) })
	for _, l := range links {
		out[l.PostID] = l // a post moved back and forth keeps one link per project; the newest wins
	}
	return out, err
}

// DoorayLinkByPost returns the link of one task of org; ok is false when we link none.
func (s *Store) DoorayLinkByPost(ctx context.Context, org, postID string) (DoorayLink, bool, error) {
	l, err := scanDoorayLink(s.pool.QueryRow(ctx, `SELECT `+doorayLinkColumns+` FROM dooray_links l
		JOIN tickets t ON t.id = l.ticket_id WHERE l.organization = $1 AND l.post_id = $2 ORDER BY l.id DESC LIMIT 1`, org, postID))
	if errors.Is(err, pgx.ErrNoRows) {
		return l, false, nil
	}
	return l, err == nil, err
}

// DoorayPostLinked reports whether a task is linked to a ticket: the webhook's
// cheap check before it queues a sync.
func (s *Store) DoorayPostLinked(ctx context.Context, org, postID string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM dooray_links WHERE organization = $1 AND post_id = $2)`, org, postID).Scan(&ok)
	return ok, err
}

// DoorayKnownLogs maps the Dooray! comment ids ticket id holds already to the
// kind of their message: MessageDoorayOut for ours, MessageDoorayIn for
// comments brought in from Dooray!.
func (s *Store) DoorayKnownLogs(ctx context.Context, ticketID int64) (map[string]MessageKind, error) {
	rows, err := s.pool.Query(ctx, `SELECT dooray_log_id, kind FROM ticket_messages WHERE ticket_id = $1 AND dooray_log_id IS NOT NULL`, ticketID)
	if err != nil {
		return nil, err
	}
	known := map[string]MessageKind{}
	var id string
	var kind MessageKind
	_, err = pgx.ForEachRow(rows, []any{&id, &kind}, func() error { known[id] = kind; return nil })
	return known, err
}

// DoorayComment is a comment written in Dooray!.
type DoorayComment struct {
	LogID     string
	Author    string // member id or e-mail address, prefixed "dooray:"
	Body      string
	CreatedAt time.Time
}

// DoorayTaskState is what a sync read of a task: its class, when it changed,
// and its comments not yet in the history, oldest first.
type DoorayTaskState struct {
	LinkID    int64
	PostID    string
	Class     string // workflow class; "" when unknown
	UpdatedAt time.Time
	Comments  []DoorayComment
	Actor     string
}

// DoorayApplied says what ApplyDoorayTask did.
type DoorayApplied struct {
	Stale         bool   // the state was older than the one applied before
	ClassChanged  bool   // the link's class changed (an event was written)
	Status        Status // the ticket's status afterwards
	StatusChanged bool
	NewComments   int
}

// ApplyDoorayTask brings a ticket up to date with its task, in one transaction:
// the class maps to the status (working → dooray_in_progress, closed →
// dooray_answered; registered and backlog keep the status; a move the state
// machine refuses is kept as an event), and new comments join the history,
// once each. A state older than the last one applied changes no class.
func (s *Store) ApplyDoorayTask(ctx context.Context, st DoorayTaskState) (DoorayApplied, error) {
	var res DoorayApplied
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		res = DoorayApplied{}
		l, err := scanDoorayLink(tx.QueryRow(ctx, `SELECT `+doorayLinkColumns+` FROM dooray_links l
			JOIN tickets t ON t.id = l.ticket_id WHERE l.id = $1 FOR UPDATE OF l`, st.LinkID))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("dooray link %d: %w", st.LinkID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if l.PostID != st.PostID {
			return fmt.Errorf("dooray link %d is task %s, not %s", l.ID, l.PostID, st.PostID)
		}
		res.Status = l.TicketStatus
		res.Stale = st.UpdatedAt.Before(l.SyncedAt)
		if !res.Stale && st.Class != "" && st.Class != l.WorkflowClass && l.WorkflowClass != DoorayDeleted {
			data := map[string]any{"dooray_link_id": l.ID, "post_id": l.PostID, "workflow_class": st.Class,
				"previous_class": l.WorkflowClass}
			var action Action
			switch st.Class {
			case DoorayWorking:
				action = ActionDoorayWorking
			case DoorayClosed:
				action = ActionDoorayClosed
			}
			kind := EventDoorayWorkflow
			if action != "" {
				kind = string(action)
			}
			t, err := s.doorayAction(ctx, tx, l.TicketID, action, kind, st.Actor, data)
			if err != nil {
				return err
			}
			res.ClassChanged, res.StatusChanged, res.Status = true, t.Status != l.TicketStatus, t.Status
			if _, err := tx.Exec(ctx, `UPDATE dooray_links SET workflow_class = $2 WHERE id = $1`, l.ID, st.Class); err != nil {
				return err
			}
		}
		for _, c := range st.Comments {
			if c.LogID == "" {
				continue
			}
			at := c.CreatedAt
			if at.IsZero() {
				at = s.now()
			}
			var msgID int64
			err := tx.QueryRow(ctx, `INSERT INTO ticket_messages (ticket_id, kind, author, body, dooray_log_id, created_at)
				VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (ticket_id, dooray_log_id) WHERE dooray_log_id IS NOT NULL DO NOTHING RETURNING id`,
				l.TicketID, MessageDoorayIn, c.Author, c.Body, c.LogID, at).Scan(&msgID)
			if errors.Is(err, pgx.ErrNoRows) {
				continue // in the history already
			}
			if err != nil {
				return err
			}
			res.NewComments++
			if err := insertEvent(ctx, tx, l.TicketID, EventDoorayCommentIn, st.Actor, res.Status, res.Status,
				map[string]any{"message_id": msgID, "dooray_log_id": c.LogID, "post_id": l.PostID}, s.now()); err != nil {
				return err
			}
		}
		if !res.Stale {
			_, err = tx.Exec(ctx, `UPDATE dooray_links SET updated_at = greatest(updated_at, $2) WHERE id = $1`, l.ID, st.UpdatedAt)
		}
		return err
	})
	return res, err
}

// DoorayTaskMoved records that link's task now lives in another project, where
// the sync follows it.
func (s *Store) DoorayTaskMoved(ctx context.Context, linkID int64, toProject, actor string) error {
	return s.doorayLinkChange(ctx, linkID, actor, func(tx pgx.Tx, l DoorayLink) (string, map[string]any, error) {
		if l.ProjectID == toProject || toProject == "" {
			return "", nil, nil
		}
		_, err := tx.Exec(ctx, `UPDATE dooray_links SET project_id = $2 WHERE id = $1`, l.ID, toProject)
		return EventDoorayTaskMoved, map[string]any{"dooray_link_id": l.ID, "post_id": l.PostID,
			"from_project": l.ProjectID, "to_project": toProject}, err
	})
}

// DoorayTaskDeleted records that link's task is gone. The ticket keeps its
// status, so an operator can still resolve it; the sync stops following it.
func (s *Store) DoorayTaskDeleted(ctx context.Context, linkID int64, actor string) error {
	return s.doorayLinkChange(ctx, linkID, actor, func(tx pgx.Tx, l DoorayLink) (string, map[string]any, error) {
		if l.WorkflowClass == DoorayDeleted {
			return "", nil, nil
		}
		_, err := tx.Exec(ctx, `UPDATE dooray_links SET workflow_class = $2 WHERE id = $1`, l.ID, DoorayDeleted)
		return EventDoorayTaskDeleted, map[string]any{"dooray_link_id": l.ID, "post_id": l.PostID,
			"project_id": l.ProjectID, "previous_class": l.WorkflowClass}, err
	})
}

func (s *Store) doorayLinkChange(ctx context.Context, linkID int64, actor string, fn func(pgx.Tx, DoorayLink) (string, map[string]any, error)) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		l, err := scanDoorayLink(tx.QueryRow(ctx, `SELECT `+doorayLinkColumns+` FROM dooray_links l
			JOIN tickets t ON t.id = l.ticket_id WHERE l.id = $1 FOR UPDATE OF l`, linkID))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("dooray link %d: %w", linkID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		kind, data, err := fn(tx, l)
		if err != nil || kind == "" {
			return err
		}
		return insertEvent(ctx, tx, l.TicketID, kind, actor, l.TicketStatus, l.TicketStatus, data, s.now())
	})
}

// doorayFollowed are the statuses whose tasks the sync follows.
var doorayFollowed = []string{string(StatusDoorayTransferred), string(StatusDoorayInProgress), string(StatusDoorayAnswered)}

// DoorayProject is a project of an organisation.
type DoorayProject struct{ Organization, ProjectID string }

// DoorayProjects returns the projects that have tasks the sync follows: tasks
// that exist, are not gone, of tickets still in a Dooray! status.
func (s *Store) DoorayProjects(ctx context.Context) ([]DoorayProject, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT l.organization, l.project_id FROM dooray_links l JOIN tickets t ON t.id = l.ticket_id
		WHERE l.post_id IS NOT NULL AND l.workflow_class <> $1 AND t.status = ANY($2) ORDER BY 1, 2`, DoorayDeleted, doorayFollowed)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[DoorayProject])
}

// DooraySyncCursor returns how far the poll of project has read. Without a
// cursor yet, it returns the creation of the project's oldest followed link
// (ok false), or the zero time when there is none.
func (s *Store) DooraySyncCursor(ctx context.Context, org, projectID string) (cursor time.Time, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT cursor FROM dooray_sync_cursors WHERE organization = $1 AND project_id = $2`, org, projectID).Scan(&cursor)
	if err == nil {
		return cursor, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return cursor, false, err
	}
	var oldest *time.Time
	err = s.pool.QueryRow(ctx, `SELECT min(l.created_at) FROM dooray_links l JOIN tickets t ON t.id = l.ticket_id
		WHERE l.organization = $1 AND l.project_id = $2 AND l.post_id IS NOT NULL AND t.status = ANY($3)`, org, projectID, doorayFollowed).Scan(&oldest)
	if err != nil || oldest == nil {
		return time.Time{}, false, err
	}
	return *oldest, false, nil
}

// SetDooraySyncCursor moves the poll cursor of project forward, never back.
func (s *Store) SetDooraySyncCursor(ctx context.Context, org, projectID string, cursor time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO dooray_sync_cursors (organization, project_id, cursor, updated_at) VALUES ($1, $2, $3, now())
		ON CONFLICT (organization, project_id) DO UPDATE SET cursor = greatest(dooray_sync_cursors.cursor, $3), updated_at = now()`,
		org, projectID, cursor)
	return err
}

// ErrDoorayBusy is returned when another run holds the lease of the same
// escalation or comment: that run finds or creates the task (comment); this
// one tries again later and finds it done.
var ErrDoorayBusy = errors.New("another run is creating it right now")

// A lease lasts doorayLeaseTTL and its holder renews it every
// doorayLeaseRenew while the run lives: a worker killed mid-run leaves its
// work leased for at most doorayLeaseTTL, not for the task's whole timeout.
const (
	doorayLeaseTTL   = 30 * time.Second
	doorayLeaseRenew = 10 * time.Second
)

// DoorayLease is the right to find-and-create one escalation's task or one
// comment: two live runs of the same work (asynq still running a task Redis
// lost while the relay queues it again) would otherwise both find nothing and
// both create. It is a row in dooray_leases, held until Release and renewed
// while held, so that a dead worker's lease runs out soon; unlike an advisory
// lock it holds no connection while the run waits on Dooray!.
type DoorayLease struct {
	s          *Store
	key, owner string
	stop, done chan struct{}
}

// LeaseDoorayEscalation takes the lease of escalation link id without waiting.
func (s *Store) LeaseDoorayEscalation(ctx context.Context, linkID int64) (*DoorayLease, error) {
	return s.doorayLease(ctx, fmt.Sprintf("escalation:%d", linkID))
}

// LeaseDoorayComment takes the lease of dooray_out message id without waiting.
func (s *Store) LeaseDoorayComment(ctx context.Context, messageID int64) (*DoorayLease, error) {
	return s.doorayLease(ctx, fmt.Sprintf("comment:%d", messageID))
}

func (s *Store) doorayLease(ctx context.Context, key string) (*DoorayLease, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	owner := hex.EncodeToString(b)
	var got string
	// The database's clock decides, so workers' clocks need not agree.
	err := s.pool.QueryRow(ctx, `INSERT INTO dooray_leases (key, owner, until) VALUES ($1, $2, now() + make_interval(secs => $3))
		ON CONFLICT (key) DO UPDATE SET owner = $2, until = excluded.until WHERE dooray_leases.until < now()
		RETURNING owner`, key, owner, s.leaseTTL.Seconds()).Scan(&got)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("dooray %s: %w", key, ErrDoorayBusy)
	}
	if err != nil {
		return nil, err
	}
	l := &DoorayLease{s: s, key: key, owner: owner, stop: make(chan struct{}), done: make(chan struct{})}
	go l.renew()
	return l, nil
}

// renew extends the lease until Release. A renewal the database misses is
// tried again at the next tick; the lease runs out only when they all fail.
func (l *DoorayLease) renew() {
	defer close(l.done)
	tick := time.NewTicker(l.s.leaseRenew)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), l.s.leaseRenew)
			_, _ = l.s.pool.Exec(ctx, `UPDATE dooray_leases SET until = now() + make_interval(secs => $3)
				WHERE key = $1 AND owner = $2`, l.key, l.owner, l.s.leaseTTL.Seconds())
			cancel()
		}
	}
}

// Release gives the lease up. It is safe to call more than once.
func (l *DoorayLease) Release() {
	if l.owner == "" {
		return
	}
	close(l.stop)
	<-l.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Left behind when the database is away: it runs out by itself.
	_, _ = l.s.pool.Exec(ctx, `DELETE FROM dooray_leases WHERE key = $1 AND owner = $2`, l.key, l.owner)
	l.owner = ""
}

// DoorayProjectLinks returns the links of the tasks in a project of org that
// are not gone (whatever their ticket's status): what the poll's departure
// check compares with Dooray!'s count.
func (s *Store) DoorayProjectLinks(ctx context.Context, org, projectID string) ([]DoorayLink, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+doorayLinkColumns+` FROM dooray_links l JOIN tickets t ON t.id = l.ticket_id
		WHERE l.organization = $1 AND l.project_id = $2 AND l.post_id IS NOT NULL AND l.workflow_class <> $3 ORDER BY l.id`,
		org, projectID, DoorayDeleted)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (DoorayLink, error) { return scanDoorayLink(r) })
}

// DoorayProjectLinkCount is len(DoorayProjectLinks) in one cheap query.
func (s *Store) DoorayProjectLinkCount(ctx context.Context, org, projectID string) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM dooray_links WHERE organization = $1 AND project_id = $2
		AND post_id IS NOT NULL AND workflow_class <> $3`, org, projectID, DoorayDeleted).Scan(&n)
	return n, err
}

// DoorayUnlinkedTasks returns how many of the bot's tasks in the project were
// not ours when the departure check last agreed; ok is false before the first.
func (s *Store) DoorayUnlinkedTasks(ctx context.Context, org, projectID string) (n int64, ok bool, err error) {
	var v *int64
	err = s.pool.QueryRow(ctx, `SELECT unlinked_tasks FROM dooray_sync_cursors WHERE organization = $1 AND project_id = $2`,
		org, projectID).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && v == nil {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return *v, true, nil
}

// SetDoorayUnlinkedTasks records the departure check's baseline. A project
// without a cursor row gets one at cursor (where its poll stands).
func (s *Store) SetDoorayUnlinkedTasks(ctx context.Context, org, projectID string, cursor time.Time, n int64) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO dooray_sync_cursors (organization, project_id, cursor, unlinked_tasks, updated_at)
		VALUES ($1, $2, $3, $4, now())
		ON CONFLICT (organization, project_id) DO UPDATE SET unlinked_tasks = $4, updated_at = now()`, org, projectID, cursor, n)
	return err
}
