package dooray

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Priority of a post.
type Priority string

const (
	PriorityHighest Priority = "highest"
	PriorityHigh    Priority = "high"
	PriorityNormal  Priority = "normal"
	PriorityLow     Priority = "low"
	PriorityLowest  Priority = "lowest"
	PriorityNone    Priority = "none"
)

// Post is a task. List results omit Body.
type Post struct {
	ID      ID     `json:"id"`
	Subject string `json:"subject"`
	Project struct {
		ID   ID     `json:"id"`
		Code string `json:"code"`
	} `json:"project"`
	TaskNumber    string        `json:"taskNumber"` // "CODE/N"
	Number        int           `json:"number"`
	Closed        bool          `json:"closed"`
	CreatedAt     Time          `json:"createdAt"`
	UpdatedAt     Time          `json:"updatedAt"`
	DueDate       Time          `json:"dueDate"`
	DueDateFlag   bool          `json:"dueDateFlag"`
	EndedAt       Time          `json:"endedAt"`
	Priority      Priority      `json:"priority"`
	WorkflowClass WorkflowClass `json:"workflowClass"`
	Workflow      WorkflowRef   `json:"workflow"`
	Parent        *struct {
		ID      ID     `json:"id"`
		Number  int    `json:"number"`
		Subject string `json:"subject"`
	} `json:"parent,omitempty"`
	Milestone *struct {
		ID   ID     `json:"id"`
		Name string `json:"name"`
	} `json:"milestone,omitempty"`
	Tags []struct {
		ID   ID     `json:"id"`
		Name string `json:"name,omitempty"`
	} `json:"tags"`
	Body  *Body  `json:"body,omitempty"`
	Users Users  `json:"users"`
	Files []File `json:"files"`
}

// NewPost is the body of CreatePost. The initial workflow cannot be chosen;
// call SetWorkflow afterwards when it matters.
type NewPost struct {
	Subject      string     `json:"subject"`
	Body         *Body      `json:"body,omitempty"`
	Users        Users      `json:"users"`
	ParentPostID ID         `json:"parentPostId,omitempty"`
	DueDate      *time.Time `json:"dueDate,omitempty"`
	DueDateFlag  *bool      `json:"dueDateFlag,omitempty"`
	MilestoneID  ID         `json:"milestoneId,omitempty"`
	TagIDs       []ID       `json:"tagIds,omitempty"`
	Priority     Priority   `json:"priority,omitempty"`
}

// CreatePost creates a task and returns its id. It is never resent after an
// ambiguous failure (see IsAmbiguous): Dooray! has no idempotency key, so the
// caller looks for its subject marker with ListPosts before creating again.
func (c *Client) CreatePost(ctx context.Context, projectID ID, p NewPost) (ID, error) {
	path := apiPath("/project/v1/projects/%s/posts", projectID)
	switch {
	case projectID == "":
		return "", invalid(http.MethodPost, path, "empty project id")
	case strings.TrimSpace(p.Subject) == "":
		return "", invalid(http.MethodPost, path, "empty subject")
	}
	// Empty lists go out as [], not null; a published client sends "to": [].
	if p.Users.To == nil {
		p.Users.To = []User{}
	}
	if p.Users.CC == nil {
		p.Users.CC = []User{}
	}
	p.Users.From = nil
	if p.DueDate != nil && p.DueDateFlag == nil {
		flag := true // deprecated but still expected alongside a due date
		p.DueDateFlag = &flag
	}
	cl, err := jsonCall(http.MethodPost, path, p, false)
	if err != nil {
		return "", err
	}
	return c.create(ctx, cl)
}

// GetPost returns a post with its body. projectID may be empty: Dooray! serves
// posts by id alone, which also finds posts moved to another project.
func (c *Client) GetPost(ctx context.Context, projectID, postID ID) (Post, error) {
	path := apiPath("/project/v1/projects/%s/posts/%s", projectID, postID)
	if projectID == "" {
		path = apiPath("/project/v1/posts/%s", postID)
	}
	var p Post
	if postID == "" {
		return p, invalid(http.MethodGet, path, "empty post id")
	}
	_, err := c.do(ctx, call{method: http.MethodGet, path: path, idempotent: true}, &p)
	return p, err
}

// Orders of ListPosts.
const (
	OrderUpdatedDesc = "-postUpdatedAt"
	OrderUpdated     = "postUpdatedAt"
	OrderCreatedDesc = "-createdAt"
	OrderCreated     = "createdAt"
	OrderDueDesc     = "-postDueAt"
	OrderDue         = "postDueAt"
)

// PostFilter narrows ListPosts. Date filters take Dooray!'s patterns: "today",
// "thisweek", "prev-7d", "next-3d" or a range built with DateRange.
type PostFilter struct {
	WorkflowClasses  []WorkflowClass
	WorkflowIDs      []ID
	FromMemberIDs    []ID
	ToMemberIDs      []ID
	CCMemberIDs      []ID
	TagIDs           []ID
	MilestoneIDs     []ID
	FromEmailAddress string
	// Subjects is a keyword; whether Dooray! matches it as substring or exactly
	// is unknown, so confirm matches client-side.
	Subjects     string
	ParentPostID ID
	PostNumber   int
	CreatedAt    string
	UpdatedAt    string
	DueAt        string
	Order        string // OrderUpdatedDesc, …
	Page         int
	Size         int // ≤ MaxPageSize
}

// DateRange formats a from~to filter value (ISO-8601 with offset) at the
// millisecond precision Dooray! prints, widened to whole milliseconds so that
// nothing inside the range falls out: from rounds down, to rounds up.
func DateRange(from, to time.Time) string {
	const layout = "2006-01-02T15:04:05.000Z07:00"
	if t := to.Truncate(time.Millisecond); t.Before(to) {
		to = t.Add(time.Millisecond)
	}
	return from.Truncate(time.Millisecond).Format(layout) + "~" + to.Format(layout)
}

func (f PostFilter) query() url.Values {
	q := url.Values{}
	joinIDs := func(key string, ids []ID) {
		if len(ids) > 0 {
			s := make([]string, len(ids))
			for i, id := range ids {
				s[i] = string(id)
			}
			q.Set(key, strings.Join(s, ","))
		}
	}
	if len(f.WorkflowClasses) > 0 {
		s := make([]string, len(f.WorkflowClasses))
		for i, c := range f.WorkflowClasses {
			s[i] = string(c)
		}
		q.Set("postWorkflowClasses", strings.Join(s, ","))
	}
	joinIDs("postWorkflowIds", f.WorkflowIDs)
	joinIDs("fromMemberIds", f.FromMemberIDs)
	joinIDs("toMemberIds", f.ToMemberIDs)
	joinIDs("ccMemberIds", f.CCMemberIDs)
	joinIDs("tagIds", f.TagIDs)
	joinIDs("milestoneIds", f.MilestoneIDs)
	for k, v := range map[string]string{
		"fromEmailAddress": f.FromEmailAddress, "subjects": f.Subjects, "parentPostId": string(f.ParentPostID),
		"createdAt": f.CreatedAt, "updatedAt": f.UpdatedAt, "dueAt": f.DueAt, "order": f.Order,
	} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.PostNumber > 0 {
		q.Set("postNumber", strconv.Itoa(f.PostNumber))
	}
	return q
}

// ListPosts returns one page of post summaries (no bodies).
func (c *Client) ListPosts(ctx context.Context, projectID ID, f PostFilter) (Page[Post], error) {
	path := apiPath("/project/v1/projects/%s/posts", projectID)
	if projectID == "" {
		return Page[Post]{}, invalid(http.MethodGet, path, "empty project id")
	}
	q := f.query()
	page, size := setPaging(q, f.Page, f.Size)
	var items []Post
	total, err := c.do(ctx, call{method: http.MethodGet, path: path, query: q, idempotent: true}, &items)
	return Page[Post]{Items: items, TotalCount: total, Page: page, Size: size}, err
}

// AllPosts iterates every post matching f, page by page (f.Page and f.Size are
// ignored). It stops at the first error, which it yields.
func (c *Client) AllPosts(ctx context.Context, projectID ID, f PostFilter) iter.Seq2[Post, error] {
	return all(ctx, func(ctx context.Context, page, size int) (Page[Post], error) {
		f.Page, f.Size = page, size
		return c.ListPosts(ctx, projectID, f)
	})
}

// SetWorkflow moves the whole post (and its assignees) to a workflow. Setting
// the same state twice is harmless, so it is retried like a read.
func (c *Client) SetWorkflow(ctx context.Context, projectID, postID, workflowID ID) error {
	path := apiPath("/project/v1/projects/%s/posts/%s/set-workflow", projectID, postID)
	if projectID == "" || postID == "" || workflowID == "" {
		return invalid(http.MethodPost, path, "empty project, post or workflow id")
	}
	cl, err := jsonCall(http.MethodPost, path, map[string]ID{"workflowId": workflowID}, true)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, cl, nil)
	return err
}

// SetDone moves the post to its project's representative closed workflow.
func (c *Client) SetDone(ctx context.Context, projectID, postID ID) error {
	path := apiPath("/project/v1/projects/%s/posts/%s/set-done", projectID, postID)
	if projectID == "" || postID == "" {
		return invalid(http.MethodPost, path, "empty project or post id")
	}
	_, err := c.do(ctx, call{method: http.MethodPost, path: path, idempotent: true}, nil)
	return err
}
