//go:build race

package email

import "time"

// replyTimeBudget is FuzzExtractReply's bound on one extraction; the race
// detector makes the same work about ten times slower.
const replyTimeBudget = 10 * time.Second
