// Package dooraytest is a fake Dooray! API for tests, faithful to dooray-api.md:
// envelopes, 19-digit string ids, paging, workflows, posts, logs, the 307 upload
// to a second host, rate-limit headers and 429s, hooks, and injected faults.
//
// Use it like httptest.Server:
//
//	s := dooraytest.NewServer(dooraytest.WithRateLimit(10, 10))
//	defer s.Close()
//	c, _ := dooray.New(dooray.Config{BaseURL: s.URL, Token: s.Token(), HTTPClient: s.Client()})
//	id, _ := c.CreatePost(ctx, dooray.ID(s.ProjectID()), dooray.NewPost{Subject: "[CT-1] …"})
//
// Act as a person in the web UI with AddPost, MovePost, AddComment,
// AddEmailReply, DeletePost and MovePostToProject; inspect with Post, Posts,
// Comments, File, Requests (counts by Route… constant), Throttled and
// Deliveries. HookTarget(url) makes every change POST its hook payload to url
// (hooks registered through the API receive theirs too); EmitHook sends any
// payload by hand. Hooks go out from one goroutine in the order of the changes:
// an API call does not wait for its hooks (they may arrive before or after the
// caller reads the answer), a helper returns once its hooks and all earlier
// ones are delivered, and Close waits for the queue.
//
// Organisations: a fake is one Dooray! organisation on its own host, with its
// own token (WithToken), rate limit (WithRateLimit) and organisation id
// (WithOrganizationID). Start one fake per organisation; ids repeat across
// fakes, as they may across clouds, so a client keyed by id alone mixes them up.
//
// Faults: FailNext(n, status) answers without applying; DelayNext(n, d) holds
// requests (a client with a shorter timeout gives up on a request that still
// takes effect); FailNextAfterApply(n, status) applies then fails (status 0
// drops the connection); Inject(Fault{Route: RouteCreatePost, …}) targets one route.
//
// Choices where the real API is unverified: sizes over 100 get 400; subjects
// matches a case-insensitive substring; date ranges are inclusive; a new post
// starts in the first "registered" workflow; comments bump the post's updatedAt;
// the default list order is newest first; the log list sends totalCount as a
// string and log creators' ids as bare JSON numbers; the bucket refills rate
// tokens per whole second up to capacity, like the gateway behind the headers.
package dooraytest
