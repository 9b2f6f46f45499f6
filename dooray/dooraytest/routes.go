package dooraytest

// Routes the fake serves, as counted by Requests. They follow dooray-api.md §4.
const (
	RouteMe           = "GET /common/v1/members/me"
	RouteMember       = "GET /common/v1/members/{memberID}"
	RouteProjects     = "GET /project/v1/projects"
	RouteProject      = "GET /project/v1/projects/{projectID}"
	RouteWorkflows    = "GET /project/v1/projects/{projectID}/workflows"
	RouteCreatePost   = "POST /project/v1/projects/{projectID}/posts"
	RouteListPosts    = "GET /project/v1/projects/{projectID}/posts"
	RoutePost         = "GET /project/v1/projects/{projectID}/posts/{postID}"
	RoutePostByID     = "GET /project/v1/posts/{postID}"
	RouteSetWorkflow  = "POST /project/v1/projects/{projectID}/posts/{postID}/set-workflow"
	RouteSetDone      = "POST /project/v1/projects/{projectID}/posts/{postID}/set-done"
	RouteCreateLog    = "POST /project/v1/projects/{projectID}/posts/{postID}/logs"
	RouteListLogs     = "GET /project/v1/projects/{projectID}/posts/{postID}/logs"
	RouteLog          = "GET /project/v1/projects/{projectID}/posts/{postID}/logs/{logID}"
	RouteUpload       = "POST /project/v1/projects/{projectID}/posts/{postID}/files"
	RouteUploadTarget = "POST /uploads/{uploadID}" // on the file host
	RouteRegisterHook = "POST /project/v1/projects/{projectID}/hooks"
)

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc(RouteMe, s.handleMe)
	m.HandleFunc(RouteMember, s.handleMember)
	m.HandleFunc(RouteProjects, s.handleProjects)
	m.HandleFunc(RouteProject, s.handleProject)
	m.HandleFunc(RouteWorkflows, s.handleWorkflows)
	m.HandleFunc(RouteCreatePost, s.handleCreatePost)
	m.HandleFunc(RouteListPosts, s.handleListPosts)
	m.HandleFunc(RoutePost, s.handleGetPost)
	m.HandleFunc(RoutePostByID, s.handleGetPost)
	m.HandleFunc(RouteSetWorkflow, s.handleSetWorkflow)
	m.HandleFunc(RouteSetDone, s.handleSetDone)
	m.HandleFunc(RouteCreateLog, s.handleCreateLog)
	m.HandleFunc(RouteListLogs, s.handleListLogs)
	m.HandleFunc(RouteLog, s.handleGetLog)
	m.HandleFunc(RouteUpload, s.handleUpload)
	m.HandleFunc(RouteRegisterHook, s.handleRegisterHook)
	s.fileMux.HandleFunc(RouteUploadTarget, s.handleUploadTarget)
}
