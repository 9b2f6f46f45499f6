package dooraytest

import (
	"net/http"
	"slices"
)

func (s *Server) handleCreateLog(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Body          bodyReq  `json:"body"`
		AttachFileIDs []flexID `json:"attachFileIds"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if !validMime(req.Body.MimeType) {
		writeError(w, http.StatusBadRequest, -10400, "body.mimeType must be text/x-markdown or text/html")
		return
	}
	p := s.lockPost(w, r)
	if p == nil {
		return
	}
	l := &logEntry{subtype: "general", creator: participant{typ: "member", memberID: s.bot},
		mimeType: req.Body.MimeType, content: req.Body.Content}
	for _, id := range req.AttachFileIDs {
		if s.filesByID[string(id)] == nil {
			s.mu.Unlock()
			writeError(w, http.StatusBadRequest, -10400, "unknown attachFileId "+string(id))
			return
		}
		l.fileIDs = append(l.fileIDs, string(id))
	}
	s.queueLocked(s.addLogLocked(p, l, true))
	s.mu.Unlock()
	writeResult(w, map[string]any{"id": l.id})
}

// addLogLocked stores a comment and bumps the post's updatedAt, so that a
// poll by updatedAt sees new comments (real behaviour unverified).
func (s *Server) addLogLocked(p *post, l *logEntry, viaAPI bool) []delivery {
	l.id = s.newID()
	l.postID = p.id
	l.createdAt = s.now()
	s.logs[p.id] = append(s.logs[p.id], l)
	s.touchLocked(p)
	creator := map[string]any{"type": "member", "member": map[string]any{"organizationMemberId": l.creator.memberID}}
	source := l.creator.memberID
	if l.creator.typ == "emailUser" {
		creator = map[string]any{"type": "emailUser",
			"emailUser": map[string]any{"emailAddress": l.creator.email, "name": l.creator.name}}
		source = ""
	} else if m := s.members[l.creator.memberID]; m != nil {
		creator["member"].(map[string]any)["name"] = m.name
	}
	ev := s.eventLocked(p, "postCommentCreated", source, viaAPI, map[string]any{
		"comment": map[string]any{
			"id": l.id, "subtype": l.subtype, "createdAt": l.createdAt.Format(layoutMillis),
			"body":    map[string]any{"mimeType": l.mimeType, "content": l.content},
			"creator": creator,
		},
	})
	if source == "" {
		for i := range ev {
			ev[i].payload["source"] = creator
		}
	}
	return ev
}

func (s *Server) handleListLogs(w http.ResponseWriter, r *http.Request) {
	page, size, ok := paging(w, r)
	if !ok {
		return
	}
	order := r.URL.Query().Get("order")
	if order != "" && order != "createdAt" && order != "-createdAt" {
		writeError(w, http.StatusBadRequest, -10400, "order must be createdAt or -createdAt")
		return
	}
	p := s.lockPost(w, r)
	if p == nil {
		return
	}
	logs := slices.Clone(s.logs[p.id])
	if order == "-createdAt" {
		slices.Reverse(logs)
	}
	items := make([]map[string]any, 0, size)
	for _, l := range pageOf(logs, page, size) {
		items = append(items, s.renderLog(l, false))
	}
	s.mu.Unlock()
	// The documented log list sends totalCount as a string.
	s.writeList(w, items, len(logs), true)
}

func (s *Server) handleGetLog(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	p := s.postIn(r.PathValue("projectID"), r.PathValue("postID"))
	var out map[string]any
	if p != nil {
		for _, l := range s.logs[p.id] {
			if l.id == r.PathValue("logID") {
				out = s.renderLog(l, true)
			}
		}
	}
	s.mu.Unlock()
	if out == nil {
		writeError(w, http.StatusNotFound, -10404, "log not found")
		return
	}
	writeResult(w, out)
}
