package dooraytest

import "net/http"

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	m := s.members[s.bot]
	s.mu.Unlock()
	writeResult(w, map[string]any{
		"id": m.id, "name": m.name, "userCode": m.userCode, "externalEmailAddress": m.email,
		"idProviderType": "service", "idProviderUserId": m.userCode,
		"defaultOrganization": map[string]any{"id": s.opts.orgID},
		"locale":              "ko_KR", "timezoneName": "Asia/Seoul",
	})
}

func (s *Server) handleMember(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	m := s.members[r.PathValue("memberID")]
	s.mu.Unlock()
	if m == nil {
		writeError(w, http.StatusNotFound, -10404, "member not found")
		return
	}
	writeResult(w, map[string]any{"id": m.id, "name": m.name, "userCode": m.userCode, "externalEmailAddress": m.email})
}

func (s *Server) renderProject(p *project) map[string]any {
	return map[string]any{
		"id": p.id, "code": p.code, "description": p.description, "state": "active", "scope": "private",
		"type": "public", "organization": map[string]any{"id": s.opts.orgID},
		"organizationId": s.opts.orgID, "projectCategoryId": nil,
	}
}

func (s *Server) handleProjects(w http.ResponseWriter, r *http.Request) {
	page, size, ok := paging(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	items := make([]map[string]any, 0, len(s.projectOrder))
	for _, id := range s.projectOrder {
		items = append(items, s.renderProject(s.projects[id]))
	}
	s.mu.Unlock()
	s.writeList(w, pageOf(items, page, size), len(items), false)
}

func (s *Server) handleProject(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var out map[string]any
	if p := s.projects[r.PathValue("projectID")]; p != nil {
		out = s.renderProject(p)
	}
	s.mu.Unlock()
	if out == nil {
		writeError(w, http.StatusNotFound, -10404, "project not found")
		return
	}
	writeResult(w, out)
}

func (s *Server) handleWorkflows(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	p := s.projects[r.PathValue("projectID")]
	var items []map[string]any
	if p != nil {
		for _, wf := range p.workflows {
			items = append(items, renderWorkflow(wf))
		}
	}
	s.mu.Unlock()
	if p == nil {
		writeError(w, http.StatusNotFound, -10404, "project not found")
		return
	}
	s.writeList(w, items, len(items), false)
}
