package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Health answers /healthz (the process is alive) and /readyz (it can work:
// every dependency answers). A worker started while PostgreSQL or Redis is
// down does not exit: it waits for each (Await), /healthz answers meanwhile,
// and /readyz says what it waits for and why until Started.
type Health struct {
	Log *slog.Logger

	mu      sync.Mutex
	waiting string // what the worker waits for, and the last error
	started bool
	checks  []healthCheck
}

type healthCheck struct {
	name string
	ping func(context.Context) error
}

// Await calls ping until it succeeds, with backoff from half a second
// doubling to ten seconds, and then keeps it as one of /readyz's checks. It
// returns only ctx's error.
func (h *Health) Await(ctx context.Context, name string, ping func(context.Context) error) error {
	wait := 500 * time.Millisecond
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := ping(pctx)
		cancel()
		if err == nil {
			h.mu.Lock()
			h.waiting = ""
			h.checks = append(h.checks, healthCheck{name, ping})
			h.mu.Unlock()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		h.mu.Lock()
		h.waiting = fmt.Sprintf("waiting for %s: %v", name, err)
		h.mu.Unlock()
		h.Log.Warn("waiting for "+name, "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}

// Started marks the worker as started: /readyz then only runs the checks.
func (h *Health) Started() {
	h.mu.Lock()
	h.started = true
	h.mu.Unlock()
}

// Mount adds GET /healthz and GET /readyz to mux.
func (h *Health) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", h.ready)
}

func (h *Health) ready(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	waiting, started, checks := h.waiting, h.started, h.checks
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var problems []string
	for _, c := range checks {
		if err := c.ping(ctx); err != nil {
			problems = append(problems, c.name+": "+err.Error())
		}
	}
	switch {
	case waiting != "":
		problems = append(problems, waiting)
	case !started:
		problems = append(problems, "starting")
	}
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		for _, p := range problems {
			fmt.Fprintln(w, p)
		}
		return
	}
	fmt.Fprintln(w, "ready")
}
