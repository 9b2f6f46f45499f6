package jobs

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/contiple/contiple-worker/ticket"
)

// Task types. They are stored in Redis and written by other applications into
// the outbox: they never change.
const (
	TypeMailPoll       = "mail:poll"
	TypeMailIngest     = ticket.OutboxMailIngest
	TypeMailSend       = ticket.OutboxMailSend
	TypeDoorayEscalate = ticket.OutboxDoorayEscalate
	TypeDoorayComment  = ticket.OutboxDoorayComment
	TypeDooraySync     = "dooray:sync"
	TypeMailExpireRaw  = "mail:expire_raw"
)

// Queues, so that a Dooray! outage never holds up customer mail.
const (
	QueueMailOut = "mail_out"
	QueueMailIn  = "mail_in"
	QueueDooray  = "dooray"
	QueueDefault = "default"
)

// Queues are the queues a server works on, with their weights.
var Queues = map[string]int{QueueMailOut: 4, QueueMailIn: 4, QueueDooray: 2, QueueDefault: 1}

// PublishQueues makes every queue visible in the dashboard, even before its
// first task: asynq lists a queue only once a task was enqueued to it (and its
// client remembers having done so, so a Redis that lost its data would show
// none). asynq:queues is asynq's set of queue names (base.AllQueues, stable
// since v0.1).
func PublishQueues(ctx context.Context, rdb redis.UniversalClient) error {
	return rdb.SAdd(ctx, "asynq:queues", slices.Collect(maps.Keys(Queues))).Err()
}

// QueueFor is the queue of a task type.
func QueueFor(taskType string) string {
	switch taskType {
	case TypeMailSend:
		return QueueMailOut
	case TypeMailPoll, TypeMailIngest:
		return QueueMailIn
	case TypeDoorayEscalate, TypeDoorayComment, TypeDooraySync:
		return QueueDooray
	}
	return QueueDefault
}

// retention keeps a finished task's ID reserved in Redis for a day, so that an
// outbox row enqueued again after a relay crash is refused as a duplicate even
// when the first task has already completed.
const retention = 24 * time.Hour

// MailIngestPayload is the payload of mail:ingest: one mail (mail retry), or
// the mails one poll stored together (intake), ingested in that order.
type MailIngestPayload struct {
	InboundMailID  int64   `json:"inbound_mail_id,omitempty"`
	InboundMailIDs []int64 `json:"inbound_mail_ids,omitempty"`
}

// MailSendPayload is the payload of mail:send (outbox row of resolve and hold).
type MailSendPayload struct {
	OutboundMailID int64 `json:"outbound_mail_id"`
}

// DoorayEscalatePayload is the payload of dooray:escalate.
type DoorayEscalatePayload struct {
	DoorayLinkID int64 `json:"dooray_link_id"`
}

// DoorayCommentPayload is the payload of dooray:comment.
type DoorayCommentPayload struct {
	MessageID int64 `json:"message_id"`
}

// outboxTask is the task of an outbox row: TaskID outbox:<id> makes the row's
// enqueue idempotent.
func outboxTask(id int64, kind string, payload []byte) (*asynq.Task, []asynq.Option) {
	return asynq.NewTask(kind, payload), []asynq.Option{
		asynq.TaskID(OutboxTaskID(id)), asynq.Queue(QueueFor(kind)), asynq.Retention(retention), asynq.MaxRetry(20),
	}
}

// OutboxTaskID is the asynq TaskID of outbox row id.
func OutboxTaskID(id int64) string { return "outbox:" + itoa(id) }
