package dooray

import (
	"context"
	"iter"
	"net/http"
	"net/url"
)

// Log is an entry of a post's history: a comment or an event. E-mail traffic on
// a post shows up here too (subtype from_email or sent_email).
type Log struct {
	ID   ID `json:"id"`
	Post struct {
		ID ID `json:"id"`
	} `json:"post"`
	Type       string `json:"type"`    // comment | event
	Subtype    string `json:"subtype"` // general | from_email | sent_email
	CreatedAt  Time   `json:"createdAt"`
	ModifiedAt Time   `json:"modifiedAt"`
	Creator    User   `json:"creator"`
	MailUsers  *struct {
		From *User  `json:"from,omitempty"`
		To   []User `json:"to"`
		CC   []User `json:"cc"`
	} `json:"mailUsers,omitempty"`
	Body  Body   `json:"body"`
	Files []File `json:"files"`
}

// Log types and subtypes.
const (
	LogComment       = "comment"
	LogEvent         = "event"
	SubtypeGeneral   = "general"
	SubtypeFromEmail = "from_email"
	SubtypeSentEmail = "sent_email"
)

// NewLog is the body of CreateLog.
type NewLog struct {
	Body          Body `json:"body"`
	AttachFileIDs []ID `json:"attachFileIds,omitempty"`
}

// CreateLog adds a comment to a post. Like CreatePost it is not resent after an
// ambiguous failure.
func (c *Client) CreateLog(ctx context.Context, projectID, postID ID, l NewLog) (ID, error) {
	path := apiPath("/project/v1/projects/%s/posts/%s/logs", projectID, postID)
	if projectID == "" || postID == "" {
		return "", invalid(http.MethodPost, path, "empty project or post id")
	}
	if l.Body.MimeType == "" {
		l.Body.MimeType = Markdown
	}
	cl, err := jsonCall(http.MethodPost, path, l, false)
	if err != nil {
		return "", err
	}
	return c.create(ctx, cl)
}

// LogFilter pages ListLogs.
type LogFilter struct {
	Order string // createdAt (default, oldest first) | -createdAt
	Page  int
	Size  int // ≤ MaxPageSize
}

// ListLogs returns one page of a post's logs.
func (c *Client) ListLogs(ctx context.Context, projectID, postID ID, f LogFilter) (Page[Log], error) {
	path := apiPath("/project/v1/projects/%s/posts/%s/logs", projectID, postID)
	if projectID == "" || postID == "" {
		return Page[Log]{}, invalid(http.MethodGet, path, "empty project or post id")
	}
	q := url.Values{}
	if f.Order != "" {
		q.Set("order", f.Order)
	}
	page, size := setPaging(q, f.Page, f.Size)
	var items []Log
	total, err := c.do(ctx, call{method: http.MethodGet, path: path, query: q, idempotent: true}, &items)
	return Page[Log]{Items: items, TotalCount: total, Page: page, Size: size}, err
}

// AllLogs iterates every log of a post in f.Order.
func (c *Client) AllLogs(ctx context.Context, projectID, postID ID, f LogFilter) iter.Seq2[Log, error] {
	return all(ctx, func(ctx context.Context, page, size int) (Page[Log], error) {
		f.Page, f.Size = page, size
		return c.ListLogs(ctx, projectID, postID, f)
	})
}
