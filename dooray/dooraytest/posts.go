package dooraytest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// flexID accepts an id sent as a JSON string or number.
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		err := json.Unmarshal(b, &s)
		*f = flexID(s)
		return err
	}
	if string(b) == "null" {
		*f = ""
		return nil
	}
	var n json.Number
	err := json.Unmarshal(b, &n)
	*f = flexID(n)
	return err
}

type userReq struct {
	Type   string `json:"type"`
	Member *struct {
		OrganizationMemberID flexID `json:"organizationMemberId"`
	} `json:"member"`
	EmailUser *struct {
		EmailAddress string `json:"emailAddress"`
		Name         string `json:"name"`
	} `json:"emailUser"`
}

type bodyReq struct {
	MimeType string `json:"mimeType"`
	Content  string `json:"content"`
}

func validMime(m string) bool { return m == "text/x-markdown" || m == "text/html" }

var priorities = []string{"highest", "high", "normal", "low", "lowest", "none"}

// participants converts users.to/cc, with s.mu held; the message is for a 400.
func (s *Server) participants(in []userReq, workflowID string) ([]participant, string) {
	out := make([]participant, 0, len(in))
	for _, u := range in {
		switch {
		case u.Type == "member" && u.Member != nil:
			id := string(u.Member.OrganizationMemberID)
			if s.members[id] == nil {
				return nil, "unknown member " + id
			}
			out = append(out, participant{typ: "member", memberID: id, workflowID: workflowID})
		case u.Type == "emailUser" && u.EmailUser != nil && strings.Contains(u.EmailUser.EmailAddress, "@"):
			out = append(out, participant{typ: "emailUser", email: u.EmailUser.EmailAddress,
				name: u.EmailUser.Name, workflowID: workflowID})
		default:
			return nil, "invalid user (type must be member or emailUser)"
		}
	}
	return out, ""
}

func (s *Server) handleCreatePost(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Subject string   `json:"subject"`
		Body    *bodyReq `json:"body"`
		Users   struct {
			To []userReq `json:"to"`
			CC []userReq `json:"cc"`
		} `json:"users"`
		ParentPostID flexID   `json:"parentPostId"`
		DueDate      *string  `json:"dueDate"`
		TagIDs       []flexID `json:"tagIds"`
		Priority     string   `json:"priority"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	proj := s.lockProject(w, r)
	if proj == nil {
		return
	}
	bad := func(msg string) {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, -10400, msg)
	}
	if strings.TrimSpace(req.Subject) == "" {
		bad("subject is required")
		return
	}
	p := &post{subject: req.Subject, mimeType: "text/x-markdown", priority: req.Priority, from: s.bot}
	if req.Body != nil {
		if !validMime(req.Body.MimeType) {
			bad("body.mimeType must be text/x-markdown or text/html")
			return
		}
		p.mimeType, p.content = req.Body.MimeType, req.Body.Content
	}
	if p.priority == "" {
		p.priority = "none"
	} else if !slices.Contains(priorities, p.priority) {
		bad("invalid priority")
		return
	}
	if req.DueDate != nil && *req.DueDate != "" {
		t, err := time.Parse(time.RFC3339Nano, *req.DueDate)
		if err != nil {
			bad("invalid dueDate")
			return
		}
		p.dueDate = &t
	}
	if id := string(req.ParentPostID); id != "" {
		if pp := s.posts[id]; pp == nil || pp.projectID != proj.id {
			bad("parentPostId must be a post of the same project")
			return
		}
		p.parentID = id
	}
	for _, t := range req.TagIDs {
		p.tagIDs = append(p.tagIDs, string(t))
	}
	wf := proj.firstOfClass("registered")
	var msg string
	if p.to, msg = s.participants(req.Users.To, wf.id); msg != "" {
		bad(msg)
		return
	}
	if p.cc, msg = s.participants(req.Users.CC, wf.id); msg != "" {
		bad(msg)
		return
	}
	s.insertPostLocked(proj, p, wf)
	s.queueLocked(s.eventLocked(p, "postCreated", s.bot, true, map[string]any{"post": s.renderPost(p, true)}))
	s.mu.Unlock()
	writeResult(w, map[string]any{"id": p.id})
}

func (s *Server) insertPostLocked(proj *project, p *post, wf *workflow) {
	p.id = s.newID()
	p.projectID = proj.id
	p.number = proj.nextNumber
	proj.nextNumber++
	p.workflowID = wf.id
	s.postSeq++
	p.seq, p.useq = s.postSeq, s.postSeq
	p.createdAt = s.now()
	p.updatedAt = p.createdAt
	s.posts[p.id] = p
}

// touchLocked marks a post updated now.
func (s *Server) touchLocked(p *post) {
	s.postSeq++
	p.useq = s.postSeq
	p.updatedAt = s.now()
}

// postIn finds a post of a project; "" projectID finds it anywhere. s.mu held.
func (s *Server) postIn(projectID, postID string) *post {
	p := s.posts[postID]
	if p == nil || (projectID != "" && p.projectID != projectID) {
		return nil
	}
	return p
}

// lockPost locks s.mu and finds the request's post (path values projectID and
// postID). It returns with s.mu held, or nil, unlocked, after answering 404.
func (s *Server) lockPost(w http.ResponseWriter, r *http.Request) *post {
	s.mu.Lock()
	p := s.postIn(r.PathValue("projectID"), r.PathValue("postID"))
	if p == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, -10404, "post not found")
	}
	return p
}

// lockProject locks s.mu and finds the request's project (path value
// projectID). It returns with s.mu held, or nil, unlocked, after answering 404.
func (s *Server) lockProject(w http.ResponseWriter, r *http.Request) *project {
	s.mu.Lock()
	p := s.projects[r.PathValue("projectID")]
	if p == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, -10404, "project not found")
	}
	return p
}

func (s *Server) handleGetPost(w http.ResponseWriter, r *http.Request) {
	p := s.lockPost(w, r)
	if p == nil {
		return
	}
	out := s.renderPost(p, true)
	s.mu.Unlock()
	writeResult(w, out)
}

func (s *Server) handleListPosts(w http.ResponseWriter, r *http.Request) {
	page, size, ok := paging(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	proj := s.lockProject(w, r)
	if proj == nil {
		return
	}
	match, msg := s.postMatcher(proj, q)
	if msg != "" {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, -10400, msg)
		return
	}
	var found []*post
	for _, p := range s.posts {
		if p.projectID == proj.id && match(p) {
			found = append(found, p)
		}
	}
	less, msg := postOrder(q.Get("order"))
	if msg != "" {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, -10400, msg)
		return
	}
	slices.SortFunc(found, less)
	items := make([]map[string]any, 0, size)
	for _, p := range pageOf(found, page, size) {
		items = append(items, s.renderPost(p, false))
	}
	s.mu.Unlock()
	s.writeList(w, items, len(found), false)
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// postMatcher builds the list filter of §4.4. subjects matches a case-insensitive
// substring (its real semantics are unknown).
func (s *Server) postMatcher(proj *project, q map[string][]string) (func(*post) bool, string) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	var preds []func(*post) bool
	if v := splitList(get("postWorkflowClasses")); len(v) > 0 {
		preds = append(preds, func(p *post) bool {
			w := proj.workflow(p.workflowID)
			return w != nil && slices.Contains(v, w.class)
		})
	}
	if v := splitList(get("postWorkflowIds")); len(v) > 0 {
		preds = append(preds, func(p *post) bool { return slices.Contains(v, p.workflowID) })
	}
	if v := splitList(get("fromMemberIds")); len(v) > 0 {
		preds = append(preds, func(p *post) bool { return slices.Contains(v, p.from) })
	}
	if v := splitList(get("toMemberIds")); len(v) > 0 {
		preds = append(preds, func(p *post) bool {
			return slices.ContainsFunc(p.to, func(u participant) bool { return slices.Contains(v, u.memberID) })
		})
	}
	if v := get("subjects"); v != "" {
		needle := strings.ToLower(v)
		preds = append(preds, func(p *post) bool { return strings.Contains(strings.ToLower(p.subject), needle) })
	}
	if v := get("postNumber"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, "invalid postNumber"
		}
		preds = append(preds, func(p *post) bool { return p.number == n })
	}
	if v := get("parentPostId"); v != "" {
		preds = append(preds, func(p *post) bool { return p.parentID == v })
	}
	for _, field := range []string{"createdAt", "updatedAt"} {
		v := get(field)
		if v == "" {
			continue
		}
		in, ok := s.dateMatcher(v)
		if !ok {
			return nil, "invalid " + field + " pattern " + v
		}
		if field == "createdAt" {
			preds = append(preds, func(p *post) bool { return in(p.createdAt) })
		} else {
			preds = append(preds, func(p *post) bool { return in(p.updatedAt) })
		}
	}
	return func(p *post) bool {
		for _, pr := range preds {
			if !pr(p) {
				return false
			}
		}
		return true
	}, ""
}

// dateMatcher understands today, prev-{N}d, next-{N}d and {ISO}~{ISO}
// (both ends inclusive, at millisecond precision).
func (s *Server) dateMatcher(v string) (func(time.Time) bool, bool) {
	now := s.now()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, kst)
	switch {
	case v == "today":
		return func(t time.Time) bool { return !t.Before(day) && t.Before(day.AddDate(0, 0, 1)) }, true
	case strings.HasPrefix(v, "prev-") && strings.HasSuffix(v, "d"):
		n, err := strconv.Atoi(v[5 : len(v)-1])
		if err != nil {
			return nil, false
		}
		from := now.AddDate(0, 0, -n)
		return func(t time.Time) bool { return !t.Before(from) && !t.After(now) }, true
	case strings.HasPrefix(v, "next-") && strings.HasSuffix(v, "d"):
		n, err := strconv.Atoi(v[5 : len(v)-1])
		if err != nil {
			return nil, false
		}
		to := now.AddDate(0, 0, n)
		return func(t time.Time) bool { return !t.Before(now) && !t.After(to) }, true
	}
	lo, hi, ok := strings.Cut(v, "~")
	if !ok {
		return nil, false
	}
	// An unencoded "+" of an offset arrives as a space: Dooray! rejects that too.
	from, err1 := time.Parse(time.RFC3339Nano, lo)
	to, err2 := time.Parse(time.RFC3339Nano, hi)
	if err1 != nil || err2 != nil {
		return nil, false
	}
	from, to = from.Truncate(time.Millisecond), to.Truncate(time.Millisecond)
	return func(t time.Time) bool { return !t.Before(from) && !t.After(to) }, true
}

func postOrder(order string) (func(a, b *post) int, string) {
	desc := strings.HasPrefix(order, "-")
	key := strings.TrimPrefix(order, "-")
	var cmp func(a, b *post) int
	switch key {
	case "", "createdAt":
		cmp = func(a, b *post) int { return compareU(a.seq, b.seq) }
		if key == "" {
			desc = true // newest first unless asked
		}
	case "postUpdatedAt":
		cmp = func(a, b *post) int {
			if c := a.updatedAt.Compare(b.updatedAt); c != 0 {
				return c
			}
			return compareU(a.useq, b.useq)
		}
	case "postDueAt":
		cmp = func(a, b *post) int {
			switch {
			case a.dueDate == nil && b.dueDate == nil:
				return compareU(a.seq, b.seq)
			case a.dueDate == nil:
				return 1
			case b.dueDate == nil:
				return -1
			}
			if c := a.dueDate.Compare(*b.dueDate); c != 0 {
				return c
			}
			return compareU(a.seq, b.seq)
		}
	default:
		return nil, "invalid order " + order
	}
	if desc {
		return func(a, b *post) int { return -cmp(a, b) }, ""
	}
	return cmp, ""
}

func compareU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *Server) handleSetWorkflow(w http.ResponseWriter, r *http.Request) {
	var req struct {
		WorkflowID flexID `json:"workflowId"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	p := s.lockPost(w, r)
	if p == nil {
		return
	}
	wf := s.projects[p.projectID].workflow(string(req.WorkflowID))
	if wf == nil {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, -10400, "workflowId is not a workflow of this project")
		return
	}
	s.queueLocked(s.setWorkflowLocked(p, wf, s.bot, true))
	s.mu.Unlock()
	writeResult(w, nil)
}

func (s *Server) handleSetDone(w http.ResponseWriter, r *http.Request) {
	p := s.lockPost(w, r)
	if p == nil {
		return
	}
	s.queueLocked(s.setWorkflowLocked(p, s.projects[p.projectID].firstOfClass("closed"), s.bot, true))
	s.mu.Unlock()
	writeResult(w, nil)
}

// setWorkflowLocked moves the post and every assignee, and prepares the hook.
func (s *Server) setWorkflowLocked(p *post, wf *workflow, by string, viaAPI bool) []delivery {
	p.workflowID = wf.id
	for i := range p.to {
		p.to[i].workflowID = wf.id
	}
	for i := range p.cc {
		p.cc[i].workflowID = wf.id
	}
	s.touchLocked(p)
	names := make([]map[string]any, len(wf.names))
	for i, n := range wf.names {
		names[i] = map[string]any{"locale": n[0], "name": n[1]}
	}
	return s.eventLocked(p, "postWorkflowChanged", by, viaAPI, map[string]any{
		"workflow": map[string]any{"id": wf.id, "names": names, "class": wf.class},
	})
}
