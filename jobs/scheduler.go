package jobs

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hibiken/asynq"
)

// Periodic is a task the scheduler enqueues on a fixed interval. Every worker
// process runs the scheduler; the tasks are unique for one interval, so N
// processes still enqueue each one once.
type Periodic struct {
	Every time.Duration
	Task  *asynq.Task
	Opts  []asynq.Option
}

// Spec is the scheduler's cron spec of p.
func (p Periodic) Spec() string { return fmt.Sprintf("@every %s", p.Every) }

// Schedule lists the periodic tasks: a mail:poll for each mailbox that is not
// watched with IDLE, and the Dooray! poll every doorayEvery (0: none).
func Schedule(mailboxes map[string]MailboxIntake, doorayEvery time.Duration) []Periodic {
	var out []Periodic
	if doorayEvery > 0 {
		task, opts := NewDooraySyncAllTask(doorayEvery)
		out = append(out, Periodic{Every: doorayEvery, Task: task, Opts: opts})
	}
	for _, name := range slices.Sorted(maps.Keys(mailboxes)) {
		mi := mailboxes[name]
		if mi.IDLE {
			continue
		}
		every := mi.Poll
		if every <= 0 {
			every = 30 * time.Second
		}
		task, opts := NewMailPollTask(name, every)
		out = append(out, Periodic{Every: every, Task: task, Opts: opts})
	}
	return out
}
