package jobs

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/hibiken/asynq"

	"github.com/contiple/contiple-worker/dooray"
	"github.com/contiple/contiple-worker/ticket"
)

func (d *Dooray) handleSync(ctx context.Context, t *asynq.Task) error {
	var p DooraySyncPayload
	if err := decode(t.Payload(), &p); err != nil {
		return err
	}
	org := p.Organization // "" in a task queued before organisations: the default one (d.org)
	switch {
	case p.PostID != "":
		return d.SyncPost(ctx, org, p.ProjectID, p.PostID)
	case p.ProjectID != "":
		_, err := d.SyncProject(ctx, org, p.ProjectID)
		return err
	default:
		_, err := d.SyncAll(ctx, org)
		return err
	}
}

// SyncAll queues a poll of every project of organisation org ("": of every
// organisation) with followed tasks and returns how many it queued (a project
// whose poll is still queued or running is skipped). Projects of an
// organisation no longer configured are left alone.
func (d *Dooray) SyncAll(ctx context.Context, org string) (int, error) {
	if d.cfg.Queue == nil {
		return 0, errors.New("dooray sync: no queue configured for the per-project polls")
	}
	projects, err := d.store.DoorayProjects(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range interleaveOrganizations(projects) {
		if org != "" && p.Organization != org {
			continue
		}
		o, err := d.org(p.Organization)
		if err != nil {
			d.log.WarnContext(ctx, "dooray sync: followed tasks in an organisation not configured", "organization", p.Organization,
				"project_id", p.ProjectID)
			continue
		}
		task, opts := NewDooraySyncProjectTask(p.Organization, p.ProjectID, o.every)
		_, err = d.cfg.Queue.EnqueueContext(ctx, task, opts...)
		switch {
		case err == nil:
			n++
		case errors.Is(err, asynq.ErrDuplicateTask), errors.Is(err, asynq.ErrTaskIDConflict):
		default:
			return n, fmt.Errorf("dooray sync: queue poll of project %s: %w", p, err)
		}
	}
	return n, nil
}

// interleaveOrganizations orders the polls one organisation after the other
// (a project of each in turn), so that the workers taking them run polls of
// every organisation at once, each under its own rate limit, instead of
// queueing behind one organisation's limiter.
func interleaveOrganizations(projects []ticket.DoorayProject) []ticket.DoorayProject {
	var orgs []string
	by := map[string][]ticket.DoorayProject{}
	for _, p := range projects {
		if _, ok := by[p.Organization]; !ok {
			orgs = append(orgs, p.Organization)
		}
		by[p.Organization] = append(by[p.Organization], p)
	}
	out := make([]ticket.DoorayProject, 0, len(projects))
	for i := 0; len(out) < len(projects); i++ {
		for _, o := range orgs {
			if i < len(by[o]) {
				out = append(out, by[o][i])
			}
		}
	}
	return out
}

// DooraySyncStats says what one poll of a project did.
type DooraySyncStats struct {
	Listed  int // tasks changed in the range, over every page
	Linked  int // of those, tasks of ours
	Applied int // tasks whose state or comments were new
	Pages   int
	Cursor  time.Time
	// Departures is the check for tasks that left the project.
	Departures DoorayDepartures
}

// SyncProject polls one project: the tasks changed since its cursor (updatedAt
// range, newest first, 100 a page), so that its cost follows the number of
// changes, not of open escalations. Pages are walked by narrowing the range's
// end to the oldest change seen, so tasks changing meanwhile cannot shift a
// page and hide another. The cursor moves to the newest change only when every
// task was brought up to date; the next poll reads Overlap before it again.
func (d *Dooray) SyncProject(ctx context.Context, orgKey, projectID string) (DooraySyncStats, error) {
	var st DooraySyncStats
	org, err := d.org(orgKey)
	if err != nil {
		return st, d.fail(ctx, 0, "dooray sync", err, nil)
	}
	cursor, _, err := d.store.DooraySyncCursor(ctx, org.key, projectID)
	if err != nil {
		return st, err
	}
	if cursor.IsZero() {
		return st, nil // no task of ours to follow there
	}
	st.Cursor = cursor
	start := time.Now()
	from, to := cursor.Add(-d.cfg.Overlap), start.Add(d.cfg.ClockSkew)
	f := dooray.PostFilter{Order: dooray.OrderUpdatedDesc, Size: dooray.MaxPageSize}
	bot, err := org.botID(ctx)
	if err != nil {
		return st, d.fail(ctx, 0, "dooray sync: who am I", err, nil)
	}
	f.FromMemberIDs = []dooray.ID{bot}
	seen := map[dooray.ID]bool{}
	newest := cursor
	var failed error
	for page := 0; ; {
		f.UpdatedAt, f.Page = dooray.DateRange(from, to), page
		pg, err := org.api.ListPosts(ctx, dooray.ID(projectID), f)
		if err != nil {
			return st, d.fail(ctx, 0, "dooray sync: list project "+projectID, err, nil)
		}
		st.Pages++
		var fresh []dooray.Post
		for _, p := range pg.Items {
			if !seen[p.ID] {
				seen[p.ID] = true
				fresh = append(fresh, p)
			}
		}
		st.Listed += len(fresh)
		ids := make([]string, len(fresh))
		for i, p := range fresh {
			ids[i] = string(p.ID)
		}
		links, err := d.store.DoorayLinksByPost(ctx, org.key, ids)
		if err != nil {
			return st, err
		}
		for _, p := range fresh {
			if l, ok := links[string(p.ID)]; ok {
				st.Linked++
				applied, err := d.applyPost(ctx, org, l, p, false)
				if err != nil {
					d.log.WarnContext(ctx, "dooray sync of a task failed", "ticket_id", l.TicketID, "dooray_post_id", p.ID, "err", err)
					failed = errors.Join(failed, err)
					continue
				}
				if applied {
					st.Applied++
				}
			}
			if p.UpdatedAt.After(newest) {
				newest = p.UpdatedAt.Time
			}
		}
		if len(pg.Items) < f.Size || !pg.HasNext() {
			break
		}
		if oldest := pg.Items[len(pg.Items)-1].UpdatedAt.Time; oldest.Before(to) {
			to, page = oldest, 0 // the range ends at the oldest change seen (inclusive)
		} else {
			page++ // a whole page changed in one instant: step over it
		}
	}
	if failed != nil {
		return st, fmt.Errorf("dooray sync of project %s: %w", projectID, failed)
	}
	if newest.After(cursor) {
		if err := d.store.SetDooraySyncCursor(ctx, org.key, projectID, newest); err != nil {
			return st, err
		}
		st.Cursor = newest
	}
	// After the changed list, so that a task moved in is already re-homed.
	if st.Departures, err = d.checkDepartures(ctx, org, projectID, bot, st.Cursor); err != nil {
		return st, d.fail(ctx, 0, "dooray sync: departures from project "+projectID, err, nil)
	}
	d.log.DebugContext(ctx, "dooray project polled", "organization", org.key, "project_id", projectID, "listed", st.Listed,
		"linked", st.Linked, "applied", st.Applied, "pages", st.Pages, "deleted", st.Departures.Deleted,
		"moved", st.Departures.Moved, "took", time.Since(start))
	return st, nil
}

// SyncPost brings one task's ticket up to date: the webhook's hint. It re-reads
// the task (payloads are unsigned and may come late or twice), follows a task
// moved to another project, and records one that is gone.
func (d *Dooray) SyncPost(ctx context.Context, orgKey, projectID, postID string) error {
	org, err := d.org(orgKey)
	if err != nil {
		return d.fail(ctx, 0, "dooray sync", err, nil)
	}
	l, ok, err := d.store.DoorayLinkByPost(ctx, org.key, postID)
	if err != nil || !ok {
		return err // not ours: nothing to do
	}
	if l.WorkflowClass == ticket.DoorayDeleted {
		return nil
	}
	project := dooray.ID(l.ProjectID)
	if project == "" {
		project = dooray.ID(projectID)
	}
	p, err := org.api.GetPost(ctx, project, dooray.ID(postID))
	if dooray.IsNotFound(err) {
		// Gone from its project: moved (found by id alone) or deleted.
		p, err = org.api.GetPost(ctx, "", dooray.ID(postID))
		if dooray.IsNotFound(err) {
			d.log.InfoContext(ctx, "dooray task is gone", "ticket_id", l.TicketID, "dooray_post_id", postID)
			return d.store.DoorayTaskDeleted(ctx, l.ID, d.cfg.Actor)
		}
	}
	if err != nil {
		return d.fail(ctx, l.TicketID, "dooray sync: read task "+postID, err, map[string]any{"post_id": postID})
	}
	_, err = d.applyPost(ctx, org, l, p, true)
	if err != nil {
		return d.fail(ctx, l.TicketID, "dooray sync: task "+postID, err, map[string]any{"post_id": postID})
	}
	return nil
}

// applyPost applies what a read of the task showed, fetching its new comments
// when it changed since the last sync, or always when a webhook hinted at it
// (updatedAt has whole seconds, and a comment may not move it at all). It
// reports whether anything was new.
func (d *Dooray) applyPost(ctx context.Context, org *doorayOrg, l ticket.DoorayLink, p dooray.Post, hinted bool) (bool, error) {
	if l.WorkflowClass == ticket.DoorayDeleted {
		return false, nil
	}
	if moved := string(p.Project.ID); moved != "" && moved != l.ProjectID {
		if err := d.store.DoorayTaskMoved(ctx, l.ID, moved, d.cfg.Actor); err != nil {
			return false, err
		}
		l.ProjectID = moved
	}
	class, err := org.classOf(ctx, dooray.ID(l.ProjectID), p)
	if err != nil {
		return false, err
	}
	if !hinted && !p.UpdatedAt.After(l.SyncedAt) && class == l.WorkflowClass {
		return false, nil // seen before (a poll's overlap, a repeated hint)
	}
	comments, err := d.newComments(ctx, org, l, p.ID)
	if err != nil {
		return false, err
	}
	res, err := d.store.ApplyDoorayTask(ctx, ticket.DoorayTaskState{LinkID: l.ID, PostID: l.PostID, Class: class,
		UpdatedAt: p.UpdatedAt.Time, Comments: comments, Actor: d.cfg.Actor})
	if err != nil {
		return false, err
	}
	if res.ClassChanged || res.NewComments > 0 {
		d.log.InfoContext(ctx, "dooray task synced", "ticket_id", l.TicketID, "dooray_post_id", p.ID,
			"workflow_class", class, "status", res.Status, "status_changed", res.StatusChanged,
			"new_comments", res.NewComments, "stale", res.Stale)
	}
	return res.ClassChanged || res.NewComments > 0, nil
}

// classOf is the task's workflow class: from the post itself, else from its
// workflow id among the project's workflows (asked once per project, again
// when an id is unknown). Names are never used: projects rename them.
func (o *doorayOrg) classOf(ctx context.Context, project dooray.ID, p dooray.Post) (string, error) {
	if p.WorkflowClass != "" {
		return string(p.WorkflowClass), nil
	}
	if p.Workflow.ID == "" {
		if p.Closed {
			return ticket.DoorayClosed, nil
		}
		return "", nil
	}
	o.mu.Lock()
	c, ok := o.workflows[project][p.Workflow.ID]
	o.mu.Unlock()
	if ok {
		return string(c), nil
	}
	ws, err := o.api.Workflows(ctx, project)
	if err != nil {
		return "", err
	}
	m := make(map[dooray.ID]dooray.WorkflowClass, len(ws))
	for _, w := range ws {
		m[w.ID] = w.Class
	}
	o.mu.Lock()
	o.workflows[project] = m
	o.mu.Unlock()
	return string(m[p.Workflow.ID]), nil
}

// logs iterates a task's logs, newest first.
func (o *doorayOrg) logs(ctx context.Context, project, post dooray.ID) iter.Seq2[dooray.Log, error] {
	return func(yield func(dooray.Log, error) bool) {
		for page := 0; ; page++ {
			pg, err := o.api.ListLogs(ctx, project, post, dooray.LogFilter{Order: "-createdAt", Page: page, Size: dooray.MaxPageSize})
			if err != nil {
				yield(dooray.Log{}, err)
				return
			}
			for _, l := range pg.Items {
				if !yield(l, nil) {
					return
				}
			}
			if !pg.HasNext() {
				return
			}
		}
	}
}

// newComments returns the task's comments the ticket lacks, oldest first. It
// reads newest first and stops at the first comment brought in before, so one
// new comment costs one request. Our own comments (by the bot) are skipped:
// they are in the history as the operator's messages.
func (d *Dooray) newComments(ctx context.Context, org *doorayOrg, l ticket.DoorayLink, post dooray.ID) ([]ticket.DoorayComment, error) {
	bot, err := org.botID(ctx)
	if err != nil {
		return nil, err
	}
	known, err := d.store.DoorayKnownLogs(ctx, l.TicketID)
	if err != nil {
		return nil, err
	}
	var out []ticket.DoorayComment
	for lg, err := range org.logs(ctx, dooray.ID(l.ProjectID), post) {
		if err != nil {
			return nil, err
		}
		kind, isKnown := known[string(lg.ID)]
		if isKnown && kind != ticket.MessageDoorayOut {
			break // everything older was brought in before
		}
		// Ours (posted by the bot, or recorded as sent) are in the history as the
		// operator's messages; reading goes on past them, as a Dooray! user may
		// have commented just before.
		if isKnown || (lg.Type != "" && lg.Type != dooray.LogComment) || lg.Creator.MemberID() == bot {
			continue
		}
		out = append(out, ticket.DoorayComment{LogID: string(lg.ID), Author: d.logAuthor(ctx, org, lg), Body: lg.Body.Content,
			CreatedAt: lg.CreatedAt.Time})
	}
	slices.Reverse(out)
	return out, nil
}

// logAuthor names a comment's author in the history: the e-mail user, or the
// member by name (asked once per member; its id when Dooray! will not say).
func (d *Dooray) logAuthor(ctx context.Context, org *doorayOrg, l dooray.Log) string {
	switch {
	case l.Creator.EmailUser != nil:
		if l.Creator.EmailUser.Name != "" {
			return fmt.Sprintf("dooray:%s <%s>", l.Creator.EmailUser.Name, l.Creator.EmailUser.EmailAddress)
		}
		return "dooray:" + l.Creator.EmailUser.EmailAddress
	case l.Creator.Member != nil && l.Creator.Member.Name != "":
		return "dooray:" + l.Creator.Member.Name
	case l.Creator.MemberID() != "":
		id := l.Creator.MemberID()
		if name := d.memberName(ctx, org, id); name != "" {
			return "dooray:" + name
		}
		return "dooray:member:" + string(id)
	}
	return "dooray"
}

// memberName is a member's name, or "" when it cannot be had (a deleted
// member, an API error: the comment still comes in).
func (d *Dooray) memberName(ctx context.Context, org *doorayOrg, id dooray.ID) string {
	org.mu.Lock()
	name, ok := org.names[id]
	org.mu.Unlock()
	if ok {
		return name
	}
	m, err := org.api.Member(ctx, id)
	if err != nil {
		d.log.WarnContext(ctx, "dooray member name unknown", "organization", org.key, "member_id", id, "err", err)
		return ""
	}
	org.mu.Lock()
	org.names[id] = m.Name
	org.mu.Unlock()
	return m.Name
}
