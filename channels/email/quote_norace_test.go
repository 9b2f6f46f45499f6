//go:build !race

package email

import "time"

// replyTimeBudget is FuzzExtractReply's bound on one extraction: no input
// may take more than a second.
const replyTimeBudget = time.Second
