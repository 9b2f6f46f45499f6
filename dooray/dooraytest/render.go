package dooraytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// JSON shapes of the fake's answers, after dooray-api.md §4. Called with s.mu held.

func (s *Server) renderWorkflowRef(p *project, id string) map[string]any {
	if w := p.workflow(id); w != nil {
		return map[string]any{"id": w.id, "name": w.name()}
	}
	return map[string]any{"id": id, "name": ""}
}

func renderWorkflow(w *workflow) map[string]any {
	names := make([]map[string]any, len(w.names))
	for i, n := range w.names {
		names[i] = map[string]any{"locale": n[0], "name": n[1]}
	}
	return map[string]any{"id": w.id, "name": w.name(), "order": w.order, "names": names, "class": w.class}
}

func (s *Server) renderParticipant(p *project, u participant, withWorkflow bool) map[string]any {
	var out map[string]any
	if u.typ == "emailUser" {
		out = map[string]any{"type": "emailUser", "emailUser": map[string]any{"emailAddress": u.email, "name": u.name}}
	} else {
		out = map[string]any{"type": "member", "member": map[string]any{"organizationMemberId": u.memberID}}
	}
	if withWorkflow {
		out["workflow"] = s.renderWorkflowRef(p, u.workflowID)
	}
	return out
}

// renderPost is a post as GET answers it; list items (full=false) lack the body.
func (s *Server) renderPost(p *post, full bool) map[string]any {
	proj := s.projects[p.projectID]
	w := proj.workflow(p.workflowID)
	to := make([]map[string]any, 0, len(p.to))
	for _, u := range p.to {
		to = append(to, s.renderParticipant(proj, u, true))
	}
	cc := make([]map[string]any, 0, len(p.cc))
	for _, u := range p.cc {
		cc = append(cc, s.renderParticipant(proj, u, true))
	}
	tags := make([]map[string]any, 0, len(p.tagIDs))
	for _, t := range p.tagIDs {
		tags = append(tags, map[string]any{"id": t})
	}
	var due any
	if p.dueDate != nil {
		due = p.dueDate.In(kst).Format(layoutMillis)
	}
	var parent any
	if pp := s.posts[p.parentID]; pp != nil {
		parent = map[string]any{"id": pp.id, "number": pp.number, "subject": pp.subject}
	}
	out := map[string]any{
		"id":            p.id,
		"subject":       p.subject,
		"project":       map[string]any{"id": proj.id, "code": proj.code},
		"taskNumber":    fmt.Sprintf("%s/%d", proj.code, p.number),
		"number":        p.number,
		"closed":        w != nil && w.class == "closed",
		"createdAt":     p.createdAt.Format(layoutMillis),
		"updatedAt":     p.updatedAt.Format(layoutMillis),
		"dueDate":       due,
		"dueDateFlag":   p.dueDate != nil,
		"priority":      p.priority,
		"parent":        parent,
		"workflowClass": w.class,
		"workflow":      s.renderWorkflowRef(proj, p.workflowID),
		"milestone":     nil,
		"tags":          tags,
		"users": map[string]any{
			"from": s.renderParticipant(proj, participant{typ: "member", memberID: p.from}, false),
			"to":   to, "cc": cc,
		},
	}
	if full {
		out["body"] = map[string]any{"mimeType": p.mimeType, "content": p.content}
		files := make([]map[string]any, 0, len(p.files))
		for _, f := range p.files {
			files = append(files, map[string]any{"id": f.id, "name": f.name, "size": len(f.data)})
		}
		out["files"] = files
	}
	return out
}

// renderLog writes the creator's member id as a bare JSON number, as the
// documented example does, so clients must not assume string ids.
func (s *Server) renderLog(l *logEntry, withFiles bool) map[string]any {
	var creator map[string]any
	if l.creator.typ == "emailUser" {
		creator = map[string]any{"type": "emailUser",
			"emailUser": map[string]any{"emailAddress": l.creator.email, "name": l.creator.name}}
	} else {
		creator = map[string]any{"type": "member",
			"member": map[string]any{"organizationMemberId": json.Number(l.creator.memberID)}}
	}
	out := map[string]any{
		"id":         l.id,
		"post":       map[string]any{"id": l.postID},
		"type":       "comment",
		"subtype":    l.subtype,
		"createdAt":  l.createdAt.Format(layoutSecond),
		"modifiedAt": l.createdAt.Format(layoutSecond),
		"creator":    creator,
		"body":       map[string]any{"mimeType": l.mimeType, "content": l.content},
	}
	if withFiles {
		files := make([]map[string]any, 0, len(l.fileIDs))
		for _, id := range l.fileIDs {
			if f := s.filesByID[id]; f != nil {
				files = append(files, map[string]any{"id": f.id, "name": f.name, "size": len(f.data)})
			}
		}
		out["files"] = files
	}
	return out
}

// paging reads page and size. Sizes over 100 are rejected: whether Dooray!
// clamps or rejects is unknown, and the stricter answer catches client bugs.
func paging(w http.ResponseWriter, r *http.Request) (page, size int, ok bool) {
	page, size = 0, 20
	q := r.URL.Query()
	var err error
	if v := q.Get("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 0 {
			writeError(w, http.StatusBadRequest, -10400, "invalid page")
			return 0, 0, false
		}
	}
	if v := q.Get("size"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 || size > 100 {
			writeError(w, http.StatusBadRequest, -10400, "size must be between 1 and 100")
			return 0, 0, false
		}
	}
	return page, size, true
}

func pageOf[T any](items []T, page, size int) []T {
	lo := min(page*size, len(items))
	hi := min(lo+size, len(items))
	return items[lo:hi]
}
