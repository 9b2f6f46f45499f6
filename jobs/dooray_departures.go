package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/contiple/contiple-worker/dooray"
)

// Tasks that leave a project (deleted in the web UI, moved to another
// project) never show in its list of changed tasks: a deleted one is simply
// gone (no DELETE exists in the API, and nothing lists deletions), and a moved
// one shows only in the changed list of its new project, which is polled only
// when we follow a task there already. What the API does give is the bot's
// task count of a project (totalCount of a one-item list with fromMemberIds),
// so each poll asks for it, one request per project whatever the number of
// escalations, and compares it with our links there: Dooray!'s count minus
// ours is the number of the bot's tasks that are not ours (given up
// escalations, tasks made by hand with the bot's token), which stays put until
// something leaves or arrives. When it drops, some task left: the check lists
// the bot's tasks of the project (a page per 100 tasks) and reads each of our
// tasks missing there by id alone, which finds a moved task in its new project
// and answers 404 for a deleted one.
//
// Unknown [U]: whether a move changes the task's updatedAt (the fake's does;
// if the real one does not, a task moved into a polled project is still found
// here, by the drop in its old project's count). A departure and an arrival
// of one of the bot's tasks that is not ours within one interval cancel out:
// that departure is found at the next one that does not.

// DoorayDepartures says what one departure check did.
type DoorayDepartures struct {
	Deleted int
	Moved   int
}

// checkDepartures runs the departure check of one project; cursor is where
// its poll stands (for a project without a cursor row yet).
func (d *Dooray) checkDepartures(ctx context.Context, org *doorayOrg, projectID string, bot dooray.ID, cursor time.Time) (DoorayDepartures, error) {
	var dep DoorayDepartures
	pg, err := org.api.ListPosts(ctx, dooray.ID(projectID), dooray.PostFilter{FromMemberIDs: []dooray.ID{bot}, Size: 1})
	if err != nil {
		return dep, err
	}
	theirs := int64(pg.TotalCount) // the bot's tasks in the project
	ours, err := d.store.DoorayProjectLinkCount(ctx, org.key, projectID)
	if err != nil {
		return dep, err
	}
	baseline, known, err := d.store.DoorayUnlinkedTasks(ctx, org.key, projectID)
	if err != nil {
		return dep, err
	}
	unlinked := theirs - ours // the bot's tasks there that are not ours
	if known && unlinked < baseline {
		if err := d.findDepartures(ctx, org, projectID, bot, &dep); err != nil {
			return dep, err
		}
		// Our links there changed: count again, so the baseline is the new state.
		if ours, err = d.store.DoorayProjectLinkCount(ctx, org.key, projectID); err != nil {
			return dep, err
		}
		unlinked = theirs - ours
	}
	if !known || unlinked != baseline {
		if err := d.store.SetDoorayUnlinkedTasks(ctx, org.key, projectID, cursor, unlinked); err != nil {
			return dep, err
		}
	}
	return dep, nil
}

// findDepartures lists the bot's tasks of the project and looks each of our
// tasks missing there up by id: moved (found elsewhere) or deleted (404).
func (d *Dooray) findDepartures(ctx context.Context, org *doorayOrg, projectID string, bot dooray.ID, dep *DoorayDepartures) error {
	links, err := d.store.DoorayProjectLinks(ctx, org.key, projectID)
	if err != nil {
		return err
	}
	present := map[string]bool{}
	f := dooray.PostFilter{FromMemberIDs: []dooray.ID{bot}, Order: dooray.OrderCreatedDesc, Size: dooray.MaxPageSize}
	for page := 0; ; page++ {
		f.Page = page
		pg, err := org.api.ListPosts(ctx, dooray.ID(projectID), f)
		if err != nil {
			return err
		}
		for _, p := range pg.Items {
			present[string(p.ID)] = true
		}
		if !pg.HasNext() {
			break
		}
	}
	for _, l := range links {
		if present[l.PostID] {
			continue
		}
		// Read by id alone: a task deleted meanwhile shifts the pages, so one
		// still here may have been skipped; the read tells.
		p, err := org.api.GetPost(ctx, "", dooray.ID(l.PostID))
		switch {
		case dooray.IsNotFound(err):
			d.log.InfoContext(ctx, "dooray task is gone", "organization", org.key, "ticket_id", l.TicketID, "dooray_post_id", l.PostID)
			if err := d.store.DoorayTaskDeleted(ctx, l.ID, d.cfg.Actor); err != nil {
				return err
			}
			dep.Deleted++
		case err != nil:
			return fmt.Errorf("dooray departures: read task %s: %w", l.PostID, err)
		default:
			if moved := string(p.Project.ID); moved != "" && moved != l.ProjectID {
				dep.Moved++
			}
			if _, err := d.applyPost(ctx, org, l, p, false); err != nil {
				return err
			}
		}
	}
	return nil
}
