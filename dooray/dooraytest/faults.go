package dooraytest

import (
	"net/http"
	"net/http/httptest"
	"time"
)

// Fault disturbs the next matching requests (after authentication and the rate
// limiter, so a faulted request still spends a token).
type Fault struct {
	Route string // a Route… constant; "" matches every route
	Times int    // how many requests it affects (default 1)
	// Status answers with this code and an error envelope instead of handling
	// the request (default 500), unless AfterApply is set.
	Status int
	// Body replaces the error envelope (e.g. a plain-text error page).
	Body string
	// Delay holds the request this long, then handles it normally: a client
	// with a shorter timeout gives up on a request that still takes effect.
	Delay time.Duration
	// AfterApply handles the request (it takes effect, hooks fire), then
	// discards the answer: Status is sent instead, or with Status 0 the
	// connection is dropped without a response.
	AfterApply bool
}

// Inject queues a fault; faults apply in the order injected.
func (s *Server) Inject(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	if f.Status == 0 && !f.AfterApply && f.Delay == 0 {
		f.Status = http.StatusInternalServerError
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// FailNext answers the next n requests with status (500 when 0), unapplied.
func (s *Server) FailNext(n, status int) {
	if status == 0 {
		status = http.StatusInternalServerError
	}
	s.Inject(Fault{Times: n, Status: status})
}

// DelayNext holds the next n requests for d before handling them.
func (s *Server) DelayNext(n int, d time.Duration) { s.Inject(Fault{Times: n, Delay: d}) }

// FailNextAfterApply applies the next n requests but answers status instead
// (0: drops the connection): the ambiguous outcome of a create.
func (s *Server) FailNextAfterApply(n, status int) {
	s.Inject(Fault{Times: n, Status: status, AfterApply: true})
}

func (s *Server) takeFault(pattern string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Route != "" && f.Route != pattern {
			continue
		}
		f.Times--
		if f.Times <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		c := *f
		return &c
	}
	return nil
}

func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f *Fault) {
	if f.Delay > 0 {
		time.Sleep(f.Delay)
	}
	switch {
	case f.AfterApply:
		rec := httptest.NewRecorder()
		s.mux.ServeHTTP(rec, r)
		if f.Status == 0 {
			panic(http.ErrAbortHandler) // closes the connection, no response
		}
		s.writeFault(w, f)
	case f.Status != 0:
		s.writeFault(w, f)
	default:
		s.mux.ServeHTTP(w, r)
	}
}

func (s *Server) writeFault(w http.ResponseWriter, f *Fault) {
	if f.Body != "" {
		w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(f.Body))
		return
	}
	writeError(w, f.Status, -10000-f.Status, http.StatusText(f.Status))
}
