package dooraytest

import (
	"net/http"
	"strconv"
)

// bucket mimics the gateway limiter behind Dooray!'s X-RateLimit-* headers: a
// token bucket refilled by rate tokens per elapsed whole second, never above
// capacity. capacity 0 turns it off.
type bucket struct {
	capacity, rate int
	tokens         int
	last           int64 // unix second of the last refill
}

// takeToken spends one token, setting the rate-limit headers; false means 429.
func (s *Server) takeToken(w http.ResponseWriter) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := &s.bucket
	if b.capacity <= 0 {
		return true
	}
	now := s.opts.clock().Unix()
	if d := now - b.last; d > 0 {
		b.tokens = int(min(int64(b.capacity), int64(b.tokens)+d*int64(b.rate)))
		b.last = now
	}
	ok := b.tokens >= 1
	if ok {
		b.tokens--
	} else {
		s.throttled++
	}
	h := w.Header()
	h.Set("X-RateLimit-Remaining", strconv.Itoa(b.tokens))
	h.Set("X-RateLimit-Requested-Tokens", "1")
	h.Set("X-RateLimit-Burst-Capacity", strconv.Itoa(b.capacity))
	h.Set("X-RateLimit-Replenish-Rate", strconv.Itoa(b.rate))
	return ok
}
