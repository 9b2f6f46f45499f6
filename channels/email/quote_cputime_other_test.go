//go:build !linux

package email

import "time"

// extractionTime returns how long f took, by the wall clock (Linux measures
// the thread's CPU time instead).
func extractionTime(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}
