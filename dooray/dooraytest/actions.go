package dooraytest

import (
	"errors"
	"fmt"
	"sort"
)

// These helpers act as people using Dooray!'s web UI: they change data without
// going through the API (no request is counted, no token is spent) and fire the
// same hooks, with the acting member as source and without requestOrigin
// (except posts AddPost authors as the bot, which count as made through the API).

// ErrNotFound is returned by the helpers for unknown projects or posts.
var ErrNotFound = errors.New("dooraytest: not found")

// Seed describes a post created by AddPost.
type Seed struct {
	Subject  string
	Content  string   // markdown body
	From     string   // author member id; default the bot (as if created via the API)
	To       []string // assignee member ids
	Class    string   // initial workflow class; default "registered"
	Priority string   // default "none"
}

// AddPost creates a post directly and returns its id.
func (s *Server) AddPost(projectID string, seed Seed) (string, error) {
	s.mu.Lock()
	proj := s.projects[projectID]
	if proj == nil {
		s.mu.Unlock()
		return "", fmt.Errorf("%w: project %s", ErrNotFound, projectID)
	}
	if seed.Class == "" {
		seed.Class = "registered"
	}
	wf := proj.firstOfClass(seed.Class)
	if wf == nil {
		s.mu.Unlock()
		return "", fmt.Errorf("dooraytest: no workflow of class %q", seed.Class)
	}
	p := &post{subject: seed.Subject, mimeType: "text/x-markdown", content: seed.Content,
		from: seed.From, priority: seed.Priority}
	if p.from == "" {
		p.from = s.bot
	}
	if p.priority == "" {
		p.priority = "none"
	}
	for _, m := range seed.To {
		p.to = append(p.to, participant{typ: "member", memberID: m, workflowID: wf.id})
	}
	s.insertPostLocked(proj, p, wf)
	done := s.queueLocked(s.eventLocked(p, "postCreated", p.from, p.from == s.bot, map[string]any{"post": s.renderPost(p, true)}))
	s.mu.Unlock()
	<-done
	return p.id, nil
}

// MovePost moves a post to the first workflow of class, as OtherMemberID.
func (s *Server) MovePost(projectID, postID, class string) error {
	s.mu.Lock()
	p := s.postIn(projectID, postID)
	if p == nil {
		s.mu.Unlock()
		return fmt.Errorf("%w: post %s", ErrNotFound, postID)
	}
	wf := s.projects[p.projectID].firstOfClass(class)
	if wf == nil {
		s.mu.Unlock()
		return fmt.Errorf("dooraytest: no workflow of class %q", class)
	}
	done := s.queueLocked(s.setWorkflowLocked(p, wf, s.other, false))
	s.mu.Unlock()
	<-done
	return nil
}

// AddComment adds a comment by OtherMemberID and returns its log id.
func (s *Server) AddComment(projectID, postID, content string) (string, error) {
	return s.addComment(projectID, postID, participant{typ: "member", memberID: s.other}, "general", content)
}

// AddCommentBy adds a comment by the given member.
func (s *Server) AddCommentBy(projectID, postID, memberID, content string) (string, error) {
	return s.addComment(projectID, postID, participant{typ: "member", memberID: memberID}, "general", content)
}

// AddEmailReply adds a from_email log, as when an outside assignee answers
// Dooray!'s mail.
func (s *Server) AddEmailReply(projectID, postID, email, name, content string) (string, error) {
	return s.addComment(projectID, postID, participant{typ: "emailUser", email: email, name: name}, "from_email", content)
}

func (s *Server) addComment(projectID, postID string, by participant, subtype, content string) (string, error) {
	s.mu.Lock()
	p := s.postIn(projectID, postID)
	if p == nil {
		s.mu.Unlock()
		return "", fmt.Errorf("%w: post %s", ErrNotFound, postID)
	}
	l := &logEntry{subtype: subtype, creator: by, mimeType: "text/x-markdown", content: content}
	done := s.queueLocked(s.addLogLocked(p, l, false))
	s.mu.Unlock()
	<-done
	return l.id, nil
}

// DeletePost removes a post (the web UI can; the API cannot): it answers 404 after.
func (s *Server) DeletePost(projectID, postID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.postIn(projectID, postID) == nil {
		return fmt.Errorf("%w: post %s", ErrNotFound, postID)
	}
	delete(s.posts, postID)
	delete(s.logs, postID)
	return nil
}

// MovePostToProject moves a post to another project: it keeps its id, gets a
// new number, answers 404 under the old project and a postMoved hook fires
// (its real payload is undocumented).
func (s *Server) MovePostToProject(postID, targetProjectID string) error {
	s.mu.Lock()
	p := s.posts[postID]
	target := s.projects[targetProjectID]
	if p == nil || target == nil {
		s.mu.Unlock()
		return fmt.Errorf("%w: post %s or project %s", ErrNotFound, postID, targetProjectID)
	}
	class := s.projects[p.projectID].workflow(p.workflowID).class
	wf := target.firstOfClass(class)
	p.projectID = target.id
	p.number = target.nextNumber
	target.nextNumber++
	p.workflowID = wf.id
	for i := range p.to {
		p.to[i].workflowID = wf.id
	}
	s.touchLocked(p)
	done := s.queueLocked(s.eventLocked(p, "postMoved", s.other, false, nil))
	s.mu.Unlock()
	<-done
	return nil
}

// PostInfo is the fake's view of a post, for assertions.
type PostInfo struct {
	ID, ProjectID, Subject, Content, MimeType, Class, WorkflowID, Priority, From string
	Number                                                                       int
	To                                                                           []string // member ids or e-mail addresses
	Files                                                                        []string // file ids
}

// Post returns a post's current state.
func (s *Server) Post(postID string) (PostInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.posts[postID]
	if p == nil {
		return PostInfo{}, false
	}
	return s.infoLocked(p), true
}

// Posts returns the posts of a project in creation order.
func (s *Server) Posts(projectID string) []PostInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ps []*post
	for _, p := range s.posts {
		if p.projectID == projectID {
			ps = append(ps, p)
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].seq < ps[j].seq })
	out := make([]PostInfo, len(ps))
	for i, p := range ps {
		out[i] = s.infoLocked(p)
	}
	return out
}

func (s *Server) infoLocked(p *post) PostInfo {
	info := PostInfo{ID: p.id, ProjectID: p.projectID, Subject: p.subject, Content: p.content,
		MimeType: p.mimeType, WorkflowID: p.workflowID, Priority: p.priority, From: p.from, Number: p.number}
	if w := s.projects[p.projectID].workflow(p.workflowID); w != nil {
		info.Class = w.class
	}
	for _, u := range p.to {
		if u.typ == "emailUser" {
			info.To = append(info.To, u.email)
		} else {
			info.To = append(info.To, u.memberID)
		}
	}
	for _, f := range p.files {
		info.Files = append(info.Files, f.id)
	}
	return info
}

// Comment is the fake's view of a log.
type Comment struct {
	ID, Subtype, Content, Author string // Author: member id or e-mail address
	Files                        []string
}

// Comments returns the logs of a post, oldest first.
func (s *Server) Comments(postID string) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, l := range s.logs[postID] {
		c := Comment{ID: l.id, Subtype: l.subtype, Content: l.content, Author: l.creator.memberID,
			Files: append([]string(nil), l.fileIDs...)}
		if l.creator.typ == "emailUser" {
			c.Author = l.creator.email
		}
		out = append(out, c)
	}
	return out
}
