package ticket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// FailedWork is an outbox row whose task failed for good (archived in
// asynq): owed work that waits for a person to decide.
type FailedWork struct {
	OutboxID  int64           `json:"outbox_id"`
	Kind      string          `json:"kind"`
	Payload   json.RawMessage `json:"payload"`
	TicketID  *int64          `json:"ticket_id,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	FailedAt  time.Time       `json:"failed_at"`
	Error     string          `json:"error"`
}

// FailedOutbox lists the outbox rows that failed for good and were not run
// again, newest first.
func (s *Store) FailedOutbox(ctx context.Context, limit int) ([]FailedWork, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `SELECT id, kind, payload, ticket_id, created_at, failed_at, last_error FROM outbox
		WHERE failed_at IS NOT NULL AND retried_by IS NULL ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (FailedWork, error) {
		var w FailedWork
		return w, r.Scan(&w.OutboxID, &w.Kind, &w.Payload, &w.TicketID, &w.CreatedAt, &w.FailedAt, &w.Error)
	})
}

// RetryOutbox runs failed outbox row id again: a new row with the same kind
// and payload, which the relay enqueues as a new task (the handlers are
// idempotent, so work already done is not done twice). The old row points at
// the new one and leaves the list. It returns the new row's id.
func (s *Store) RetryOutbox(ctx context.Context, id int64, actor string) (int64, error) {
	var newID int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var kind string
		var payload []byte
		var ticketID *int64
		var failed bool
		var retriedBy *int64
		err := tx.QueryRow(ctx, `SELECT kind, payload, ticket_id, failed_at IS NOT NULL, retried_by FROM outbox WHERE id = $1 FOR UPDATE`, id).
			Scan(&kind, &payload, &ticketID, &failed, &retriedBy)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("outbox row %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		switch {
		case retriedBy != nil:
			return inputf("outbox row %d was run again already, as row %d", id, *retriedBy)
		case !failed:
			return inputf("outbox row %d has not failed: nothing to run again", id)
		}
		newID, err = rerunIn(ctx, tx, kind, payload, ticketID, actor, s.now(), "outbox_id", id)
		return err
	})
	return newID, err
}

// rerunIn writes a new outbox row for work run again by a person, marks every
// failed row of the same work as run again by it, and records an event.
func rerunIn(ctx context.Context, tx pgx.Tx, kind string, payload []byte, ticketID *int64, actor string, now time.Time, key string, val int64) (int64, error) {
	var newID int64
	if err := tx.QueryRow(ctx, `INSERT INTO outbox (kind, payload, ticket_id, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		kind, payload, ticketID, now).Scan(&newID); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `UPDATE outbox SET retried_by = $1 WHERE kind = $2 AND payload = $3::jsonb
		AND failed_at IS NOT NULL AND retried_by IS NULL AND id <> $1`, newID, kind, payload); err != nil {
		return 0, err
	}
	if ticketID == nil {
		return newID, nil
	}
	return newID, insertEvent(ctx, tx, *ticketID, "work_retried", actor, "", "",
		map[string]any{key: val, "kind": kind, "new_outbox_id": newID}, now)
}

// OutboundProblem is a customer mail that was not sent: it failed for good
// or a guard suppressed it.
type OutboundProblem struct {
	ID        int64         `json:"id"`
	TicketID  int64         `json:"ticket_id"`
	Kind      MessageKind   `json:"kind"`
	Recipient string        `json:"recipient"`
	State     OutboundState `json:"state"`
	Attempts  int           `json:"attempts"`
	Error     string        `json:"error"`
	CreatedAt time.Time     `json:"created_at"`
}

// OutboundProblems lists failed and suppressed customer mails, newest first.
func (s *Store) OutboundProblems(ctx context.Context, limit int) ([]OutboundProblem, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `SELECT id, ticket_id, kind, recipient, state, attempts, last_error, created_at
		FROM outbound_mails WHERE state IN ('failed', 'suppressed') ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (OutboundProblem, error) {
		var p OutboundProblem
		return p, r.Scan(&p.ID, &p.TicketID, &p.Kind, &p.Recipient, &p.State, &p.Attempts, &p.Error, &p.CreatedAt)
	})
}

// RetryOutbound sends failed or suppressed customer mail id again (after a
// fix: a corrected address, a lifted suppression): a new mail:send outbox
// row, as RetryOutbox. It returns the new row's id.
func (s *Store) RetryOutbound(ctx context.Context, id int64, actor string) (int64, error) {
	var newID int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var ticketID int64
		var state OutboundState
		err := tx.QueryRow(ctx, `SELECT ticket_id, state FROM outbound_mails WHERE id = $1 FOR UPDATE`, id).Scan(&ticketID, &state)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("outbound mail %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if state != OutboundFailed && state != OutboundSuppressed {
			return inputf("outbound mail %d is %s: only a failed or suppressed mail is sent again by hand", id, state)
		}
		payload, _ := json.Marshal(map[string]int64{"outbound_mail_id": id})
		newID, err = rerunIn(ctx, tx, OutboxMailSend, payload, &ticketID, actor, s.now(), "outbound_mail_id", id)
		return err
	})
	return newID, err
}
