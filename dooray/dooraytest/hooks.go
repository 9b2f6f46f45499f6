package dooraytest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
)

// delivery is one hook POST waiting to go out once s.mu is released.
type delivery struct {
	url     string
	event   string
	payload map[string]any
}

// Delivery records a hook POST the fake made.
type Delivery struct {
	URL    string
	Event  string
	Status int    // 0 when the POST failed
	Err    string // transport error, if any
}

// HookTarget makes url receive every task event of every project, as if a hook
// had been registered for it with all events.
func (s *Server) HookTarget(url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.targets = append(s.targets, url)
}

// Deliveries lists the hook POSTs made so far, in order.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

var taskEvents = []string{
	"postCreated", "postTagChanged", "postWorkflowChanged", "postDueDateChanged", "postCommentCreated",
	"postCommentUpdated", "postSubjectChanged", "postBodyChanged", "postUserChanged", "postMilestoneChanged",
	"postParentChanged", "postMoved",
}

var projectEvents = []string{"stateChanged", "codeChanged", "memberChanged"}

func (s *Server) handleRegisterHook(w http.ResponseWriter, r *http.Request) {
	var req struct {
		URL        string   `json:"url"`
		Type       string   `json:"type"`
		SendEvents []string `json:"sendEvents"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Type == "" {
		req.Type = "task"
	}
	known := taskEvents
	switch req.Type {
	case "task":
	case "project":
		known = projectEvents
	default:
		writeError(w, http.StatusBadRequest, -10400, "type must be task or project")
		return
	}
	if req.URL == "" {
		writeError(w, http.StatusBadRequest, -10400, "url is required")
		return
	}
	h := &hook{url: req.URL, typ: req.Type, events: map[string]bool{}}
	for _, e := range req.SendEvents {
		if !slices.Contains(known, e) {
			writeError(w, http.StatusBadRequest, -10400, "unknown event "+e)
			return
		}
		h.events[e] = true
	}
	p := s.lockProject(w, r)
	if p == nil {
		return
	}
	h.id = s.newID()
	p.hooks = append(p.hooks, h)
	s.mu.Unlock()
	writeResult(w, map[string]any{"id": h.id})
}

// Hooks returns the URLs registered through the API for a project.
func (s *Server) Hooks(projectID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	if p := s.projects[projectID]; p != nil {
		for _, h := range p.hooks {
			out = append(out, h.url)
		}
	}
	return out
}

// eventLocked builds the hook payload of §5 for every interested receiver.
// by is the acting member ("" when extra sets source); viaAPI adds
// requestOrigin {type: open-api}, as changes through the REST API carry.
func (s *Server) eventLocked(p *post, event, by string, viaAPI bool, extra map[string]any) []delivery {
	proj := s.projects[p.projectID]
	var urls []string
	urls = append(urls, s.targets...)
	for _, h := range proj.hooks {
		if h.typ == "task" && (len(h.events) == 0 || h.events[event]) {
			urls = append(urls, h.url)
		}
	}
	if len(urls) == 0 {
		return nil
	}
	payload := map[string]any{
		"hookEventType":    event,
		"webhookType":      event,
		s.opts.hookVersion: 2,
		"post":             map[string]any{"id": p.id, "subject": p.subject, "number": p.number},
		"project":          map[string]any{"id": proj.id, "code": proj.code},
		"tenant":           map[string]any{"id": s.opts.orgID},
		"organization":     map[string]any{"id": s.opts.orgID},
		"titleLink":        "https://corp.dooray.com/project/tasks/" + p.id,
	}
	if m := s.members[by]; m != nil {
		payload["source"] = map[string]any{"type": "member", "member": map[string]any{
			"id": m.id, "name": m.name, "userCode": m.userCode, "emailAddress": m.email}}
	}
	if viaAPI {
		payload["requestOrigin"] = map[string]any{"type": "open-api"}
	}
	for k, v := range extra {
		payload[k] = v
	}
	out := make([]delivery, len(urls))
	for i, u := range urls {
		out[i] = delivery{url: u, event: event, payload: payload}
	}
	return out
}

// hookJob is the hooks of one change; done closes once they are delivered.
type hookJob struct {
	ds   []delivery
	done chan struct{}
}

// queueLocked queues the hooks of a change, with s.mu held so that the queue
// order is the order of the changes. One goroutine delivers them, like
// Dooray!'s asynchronous sender: API callers do not wait, helpers do.
func (s *Server) queueLocked(ds []delivery) <-chan struct{} {
	done := make(chan struct{})
	if len(ds) == 0 || s.closed {
		close(done)
		return done
	}
	s.hookQueue = append(s.hookQueue, hookJob{ds: ds, done: done})
	select {
	case s.hookWake <- struct{}{}:
	default:
	}
	return done
}

// runHooks delivers queued hooks until stop closes and the queue is empty.
func (s *Server) runHooks() {
	defer close(s.hookExited)
	for {
		s.mu.Lock()
		jobs := s.hookQueue
		s.hookQueue = nil
		stopping := s.closed
		s.mu.Unlock()
		for _, j := range jobs {
			s.deliver(j.ds)
			close(j.done)
		}
		if len(jobs) > 0 {
			continue
		}
		if stopping {
			return
		}
		<-s.hookWake
	}
}

// deliver POSTs hooks, without s.mu held: a receiver may call the fake back.
func (s *Server) deliver(ds []delivery) {
	for _, d := range ds {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		status, err := emit(ctx, s.hookClient, d.url, d.payload)
		cancel()
		rec := Delivery{URL: d.url, Event: d.event, Status: status}
		if err != nil {
			rec.Err = err.Error()
		}
		s.mu.Lock()
		s.deliveries = append(s.deliveries, rec)
		s.mu.Unlock()
	}
}

// EmitHook POSTs one hook payload to url the way Dooray! does: JSON, no
// signature, no authentication. payload is marshalled unless it is []byte or
// json.RawMessage. A non-2xx answer is an error.
func EmitHook(ctx context.Context, url string, payload any) error {
	_, err := emit(ctx, &http.Client{Timeout: 10 * time.Second}, url, payload)
	return err
}

func emit(ctx context.Context, hc *http.Client, url string, payload any) (int, error) {
	var body []byte
	switch v := payload.(type) {
	case []byte:
		body = v
	case json.RawMessage:
		body = v
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return 0, err
		}
		body = b
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("dooraytest: hook receiver answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}
