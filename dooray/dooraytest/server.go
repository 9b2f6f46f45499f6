package dooraytest

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"
)

// Server is a fake Dooray! API on loopback. Use it as an httptest.Server: URL is
// the API base URL, Client() an HTTP client for it, Close() stops it (and its
// file host). All methods are safe for concurrent use.
type Server struct {
	*httptest.Server
	files *httptest.Server // the file-api host uploads are redirected to

	opts    options
	mux     *http.ServeMux
	fileMux *http.ServeMux

	mu           sync.Mutex
	seq          uint64
	members      map[string]*member
	bot, other   string
	projects     map[string]*project
	projectOrder []string
	defaultProj  string
	posts        map[string]*post
	postSeq      uint64
	logs         map[string][]*logEntry
	filesByID    map[string]*file
	uploads      map[string]upload
	targets      []string
	bucket       bucket
	faults       []*Fault
	requests     map[string]int
	throttled    int
	deliveries   []Delivery
	hookClient   *http.Client
	hookQueue    []hookJob
	hookWake     chan struct{}
	hookExited   chan struct{}
	closed       bool
}

type options struct {
	token         string
	orgID         string
	capacity      int
	rate          int
	clock         func() time.Time
	projectCode   string
	hookVersion   string
	totalAsString bool
}

// Option configures NewServer.
type Option func(*options)

// WithToken sets the API token the fake accepts (default DefaultToken).
func WithToken(token string) Option { return func(o *options) { o.token = token } }

// WithRateLimit turns on the token bucket: capacity tokens, refilled by rate
// tokens at every whole second, as the X-RateLimit-* headers then report. Without
// it the fake never answers 429 and sends no rate-limit headers.
func WithRateLimit(capacity, rate int) Option {
	return func(o *options) { o.capacity, o.rate = capacity, rate }
}

// WithOrganizationID sets the organisation the fake is (default
// DefaultOrganizationID), as members/me and projects report it. A fake is one
// organisation on one host: several fakes, each with its own token and rate
// limit, stand for several organisations (or clouds). Their ids are drawn
// from the same sequence, so the same project, task and comment ids occur in
// each, as ids of different clouds may.
func WithOrganizationID(id string) Option { return func(o *options) { o.orgID = id } }

// DefaultOrganizationID is the organisation a fake is unless WithOrganizationID says otherwise.
const DefaultOrganizationID = "1000000000000000001"

// WithClock replaces time.Now for timestamps.
func WithClock(now func() time.Time) Option { return func(o *options) { o.clock = now } }

// WithProjectCode names the project every fake starts with (default "helpdesk").
func WithProjectCode(code string) Option { return func(o *options) { o.projectCode = code } }

// WithDocumentedHookVersion makes hook payloads carry "hookVersion": 2, as the
// documentation says, instead of the "version": 2 seen in real payloads.
func WithDocumentedHookVersion() Option { return func(o *options) { o.hookVersion = "hookVersion" } }

// WithStringTotalCount sends totalCount as a JSON string on every list, as some
// documented examples do (logs always do).
func WithStringTotalCount() Option { return func(o *options) { o.totalAsString = true } }

// DefaultToken is the token a fake accepts unless WithToken says otherwise.
const DefaultToken = "fake-dooray-token"

// NewServer starts a fake with one project (ProjectID), the token's member
// (BotMemberID) and a second member acting as a human user (OtherMemberID).
func NewServer(opts ...Option) *Server {
	o := options{token: DefaultToken, orgID: DefaultOrganizationID, clock: time.Now, projectCode: "helpdesk", hookVersion: "version"}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Server{
		opts:       o,
		mux:        http.NewServeMux(),
		fileMux:    http.NewServeMux(),
		members:    map[string]*member{},
		projects:   map[string]*project{},
		posts:      map[string]*post{},
		logs:       map[string][]*logEntry{},
		filesByID:  map[string]*file{},
		uploads:    map[string]upload{},
		requests:   map[string]int{},
		hookClient: &http.Client{Timeout: 5 * time.Second},
		hookWake:   make(chan struct{}, 1),
		hookExited: make(chan struct{}),
	}
	s.bucket = bucket{capacity: o.capacity, rate: o.rate, tokens: o.capacity, last: o.clock().Unix()}
	s.bot = s.addMemberLocked("Helpdesk Bot", "helpdesk-bot@corp.example").id
	s.other = s.addMemberLocked("Kim Minji", "kim@corp.example").id
	s.defaultProj = s.addProjectLocked(o.projectCode).id
	s.routes()
	go s.runHooks()
	s.files = httptest.NewServer(http.HandlerFunc(s.serveFiles))
	s.Server = httptest.NewServer(http.HandlerFunc(s.serveAPI))
	return s
}

// Close stops both hosts, waiting for requests in flight and queued hooks.
// Changes made through helpers after Close fire no hooks.
func (s *Server) Close() {
	s.Server.Close()
	s.files.Close()
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if !already {
		select {
		case s.hookWake <- struct{}{}:
		default:
		}
	}
	<-s.hookExited
}

// Token is the accepted API token.
func (s *Server) Token() string { return s.opts.token }

// OrganizationID is the organisation the fake is.
func (s *Server) OrganizationID() string { return s.opts.orgID }

// ProjectID is the id of the project the fake starts with.
func (s *Server) ProjectID() string { return s.defaultProj }

// BotMemberID is the member that owns the token (GET /common/v1/members/me).
func (s *Server) BotMemberID() string { return s.bot }

// OtherMemberID is a second member: the human who moves tasks and comments.
func (s *Server) OtherMemberID() string { return s.other }

// FileHostURL is the base URL of the second host that takes uploads.
func (s *Server) FileHostURL() string { return s.files.URL }

// AddProject creates another project with the default workflows.
func (s *Server) AddProject(code string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addProjectLocked(code).id
}

// AddMember creates a member and returns its id.
func (s *Server) AddMember(name, email string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addMemberLocked(name, email).id
}

// WorkflowID returns the id of the first workflow of class ("backlog",
// "registered", "working", "closed") in a project, or "".
func (s *Server) WorkflowID(projectID, class string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.projects[projectID]; p != nil {
		if w := p.firstOfClass(class); w != nil {
			return w.id
		}
	}
	return ""
}

// Requests counts the requests received so far by route: the method and
// pattern, e.g. RouteCreatePost. Unrouted requests count under method and path.
func (s *Server) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.requests))
	for k, v := range s.requests {
		out[k] = v
	}
	return out
}

// Throttled is the number of 429 answers given so far.
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

// serveAPI runs every API request through what Dooray! does before the handler:
// authentication, the rate limiter, then the injected faults.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	pattern := s.countRequest(s.mux, r)

	if !s.authorized(r) {
		writeError(w, http.StatusUnauthorized, -10100, "unauthorized: missing or invalid dooray-api token")
		return
	}
	if !s.takeToken(w) {
		writeError(w, http.StatusTooManyRequests, -10429, "too many requests")
		return
	}
	if pattern == "" {
		writeError(w, http.StatusNotFound, -10404, "no such API")
		return
	}
	if f := s.takeFault(pattern); f != nil {
		s.applyFault(w, r, f)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// countRequest counts r under its route on mux (method and pattern), or under
// method and path when unrouted, and returns the pattern ("" when unrouted).
func (s *Server) countRequest(mux *http.ServeMux, r *http.Request) string {
	_, pattern := mux.Handler(r)
	key := pattern
	if key == "" {
		key = r.Method + " " + r.URL.Path
	}
	s.mu.Lock()
	s.requests[key]++
	s.mu.Unlock()
	return pattern
}

func (s *Server) authorized(r *http.Request) bool {
	return r.Header.Get("Authorization") == "dooray-api "+s.opts.token
}

// requireContentType answers 415 unless the body is declared of media type want.
func requireContentType(w http.ResponseWriter, r *http.Request, want string) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != want {
		writeError(w, http.StatusUnsupportedMediaType, -10415, "Content-Type must be "+want)
		return false
	}
	return true
}

// decodeBody reads a JSON request body, answering 415 or 400 itself.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if !requireContentType(w, r, "application/json") {
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, -10400, "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

type header struct {
	IsSuccessful  bool   `json:"isSuccessful"`
	ResultCode    int    `json:"resultCode"`
	ResultMessage string `json:"resultMessage"`
}

// writeResult writes a success envelope.
func writeResult(w http.ResponseWriter, result any) {
	writeJSON(w, http.StatusOK, map[string]any{"header": header{IsSuccessful: true}, "result": result})
}

func (s *Server) writeList(w http.ResponseWriter, items any, total int, asString bool) {
	var tc any = total
	if asString || s.opts.totalAsString {
		tc = strconv.Itoa(total)
	}
	writeJSON(w, http.StatusOK, map[string]any{"header": header{IsSuccessful: true}, "result": items, "totalCount": tc})
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{
		"header": header{IsSuccessful: false, ResultCode: code, ResultMessage: msg}, "result": nil})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("dooraytest: encoding response: %v", err))
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
