package dooraytest

import (
	"strconv"
	"time"
)

// The fake's data, guarded by Server.mu. Ids are 19-digit decimal strings like
// Dooray!'s, beyond 2^53, so a client that parses them as float64 fails here.

type member struct {
	id, name, userCode, email string
}

type workflow struct {
	id    string
	class string
	order int
	names [][2]string // locale, name
}

// name is the name shown to the token's member, whose locale is ko_KR.
func (w *workflow) name() string { return w.names[0][1] }

type project struct {
	id, code, description string
	workflows             []*workflow
	nextNumber            int
	hooks                 []*hook
}

func (p *project) workflow(id string) *workflow {
	for _, w := range p.workflows {
		if w.id == id {
			return w
		}
	}
	return nil
}

func (p *project) firstOfClass(class string) *workflow {
	var best *workflow
	for _, w := range p.workflows {
		if w.class == class && (best == nil || w.order < best.order) {
			best = w
		}
	}
	return best
}

type participant struct {
	typ        string // member | emailUser
	memberID   string
	email      string
	name       string
	workflowID string
}

type post struct {
	id, projectID string
	number        int
	subject       string
	mimeType      string
	content       string
	from          string // member id
	to, cc        []participant
	priority      string
	workflowID    string
	parentID      string
	tagIDs        []string
	dueDate       *time.Time
	createdAt     time.Time
	updatedAt     time.Time
	seq           uint64 // creation order, breaks ties between equal timestamps
	useq          uint64 // update order
	files         []*file
}

type logEntry struct {
	id, postID string
	subtype    string
	createdAt  time.Time
	creator    participant
	mimeType   string
	content    string
	fileIDs    []string
}

type file struct {
	id, name, contentType string
	data                  []byte
}

type hook struct {
	id, url, typ string
	events       map[string]bool // empty: every event
}

type upload struct{ projectID, postID string }

// newID returns the next 19-digit id.
func (s *Server) newID() string {
	s.seq++
	return strconv.FormatUint(4100000000000000000+s.seq*7919, 10)
}

var localeOrder = []string{"ko_KR", "en_US", "ja_JP", "zh_CN"}

// defaultWorkflows is the state set a new project gets: one workflow per class,
// orders as in the documented example.
var defaultWorkflows = []struct {
	class string
	order int
	names [4]string // ko_KR, en_US, ja_JP, zh_CN
}{
	{"backlog", 0, [4]string{"대기", "Backlog", "保留", "待办"}},
	{"registered", 100, [4]string{"등록", "To do", "登録", "已登记"}},
	{"working", 200, [4]string{"진행 중", "In progress", "進行中", "进行中"}},
	{"closed", 400, [4]string{"완료", "Done", "完了", "已完成"}},
}

func (s *Server) addProjectLocked(code string) *project {
	p := &project{id: s.newID(), code: code, description: code + " project", nextNumber: 1}
	for _, d := range defaultWorkflows {
		w := &workflow{id: s.newID(), class: d.class, order: d.order}
		for i, loc := range localeOrder {
			w.names = append(w.names, [2]string{loc, d.names[i]})
		}
		p.workflows = append(p.workflows, w)
	}
	s.projects[p.id] = p
	s.projectOrder = append(s.projectOrder, p.id)
	return p
}

func (s *Server) addMemberLocked(name, email string) *member {
	m := &member{id: s.newID(), name: name, userCode: userCode(email), email: email}
	s.members[m.id] = m
	return m
}

func userCode(email string) string {
	for i := range len(email) {
		if email[i] == '@' {
			return email[:i]
		}
	}
	return email
}

// now is the fake's clock, at the millisecond precision it prints.
func (s *Server) now() time.Time {
	return s.opts.clock().In(kst).Truncate(time.Millisecond)
}

var kst = time.FixedZone("KST", 9*3600)

// Dooray! prints timestamps with and without millis; the fake does both
// (posts with, logs without) so clients must accept either.
const (
	layoutMillis = "2006-01-02T15:04:05.000Z07:00"
	layoutSecond = "2006-01-02T15:04:05Z07:00"
)
