package ticket

import "time"

// SetDoorayLeaseTiming shortens s's Dooray! lease times for a test.
func SetDoorayLeaseTiming(s *Store, ttl, renew time.Duration) { s.leaseTTL, s.leaseRenew = ttl, renew }

// Abandon stops renewing the lease without giving it up: the worker that
// held it died.
func (l *DoorayLease) Abandon() {
	close(l.stop)
	<-l.done
	l.owner = ""
}

// OnClaimJudged runs fn between a claim's guard verdict and its record.
func OnClaimJudged(s *Store, fn func()) { s.judged = fn }
