package ticket

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Board is the seed's at-a-glance board (ミニ電光掲示板), ALL side.
type Board struct {
	ReceivedToday  int     `json:"received_today"`
	ResolvedToday  int     `json:"resolved_today"`
	InProgress     int     `json:"in_progress"`
	OnHold         int     `json:"on_hold"`
	Unassigned     int     `json:"unassigned"`
	ProcessingRate float64 `json:"processing_rate"` // share of the last 24 h's tickets that are resolved
}

// MyBoard is the board's MY side: one operator's tickets.
type MyBoard struct {
	Operator      string `json:"operator"`
	ResolvedToday int    `json:"resolved_today"`
	InProgress    int    `json:"in_progress"`
	OnHold        int    `json:"on_hold"`
	// Transferring are the operator's tickets waiting on issue management or
	// on a Dooray! task.
	Transferring int `json:"transferring"`
	// FeedbackRequested are the operator's tickets whose issue management
	// asked for the customer to be informed (see RequestFeedback).
	FeedbackRequested int `json:"feedback_requested"`
}

// MyBoard counts operator's side of the board in one query (the spam box
// left out). "Today" is the database's day.
func (s *Store) MyBoard(ctx context.Context, operator string) (MyBoard, error) {
	b := MyBoard{Operator: operator}
	if operator == "" {
		return b, inputf("an operator is required for the MY board")
	}
	err := s.pool.QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE resolved_at >= date_trunc('day', now()) AND status IN ('resolved', 'completed')),
			count(*) FILTER (WHERE status = 'in_progress'),
			count(*) FILTER (WHERE status = 'on_hold'),
			count(*) FILTER (WHERE status IN ('issue_transferring', 'dooray_transferred', 'dooray_in_progress')),
			count(*) FILTER (WHERE feedback_requested_at IS NOT NULL)
		FROM tickets WHERE assignee = $1 AND status <> 'spam'`, operator).Scan(
		&b.ResolvedToday, &b.InProgress, &b.OnHold, &b.Transferring, &b.FeedbackRequested)
	return b, err
}

// Board counts the ALL side in one query (the spam box left out everywhere).
// "Today" is the database's day.
func (s *Store) Board(ctx context.Context) (Board, error) {
	var b Board
	var recent, recentDone int
	// One index per count, so that the board costs what today's tickets cost,
	// not what the whole table does (Prometheus asks on every scrape).
	err := s.pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM tickets WHERE created_at >= date_trunc('day', now()) AND status <> 'spam'),
			(SELECT count(*) FROM tickets WHERE resolved_at >= date_trunc('day', now()) AND status <> 'spam'),
			(SELECT count(*) FROM tickets WHERE status = 'in_progress'),
			(SELECT count(*) FROM tickets WHERE status = 'on_hold'),
			(SELECT count(*) FROM tickets WHERE status = 'unassigned'),
			count(*),
			count(*) FILTER (WHERE status IN ('resolved', 'completed'))
		FROM tickets WHERE created_at >= now() - interval '24 hours' AND status <> 'spam'`).Scan(
		&b.ReceivedToday, &b.ResolvedToday, &b.InProgress, &b.OnHold, &b.Unassigned, &recent, &recentDone)
	if recent > 0 {
		b.ProcessingRate = float64(recentDone) / float64(recent)
	}
	return b, err
}

// OutboxLag is the age in seconds of the oldest outbox row not yet relayed (0 when none).
func (s *Store) OutboxLag(ctx context.Context) (float64, error) {
	var lag float64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)
		FROM outbox WHERE enqueued_at IS NULL`).Scan(&lag)
	return lag, err
}

// Operations are the numbers an operator watches besides the board.
type Operations struct {
	// MailboxFetchAge is the age in seconds of each mailbox's last successful
	// check, mail or no mail (-1: never checked).
	MailboxFetchAge map[string]float64
	// MailboxFailing is 1 for a mailbox whose last intake attempt failed.
	MailboxFailing map[string]float64
	// InboundByState counts stored inbound mail that needs a person or is
	// still waiting: failed, ignored, received (not yet ingested).
	InboundByState map[string]float64
	// OutboundProblems counts customer mails not sent, by state (failed,
	// suppressed) and reason (the first words of the recorded error).
	OutboundProblems map[[2]string]float64
}

// Operations reads the operational gauges in three queries.
func (s *Store) Operations(ctx context.Context) (Operations, error) {
	ops := Operations{MailboxFetchAge: map[string]float64{}, MailboxFailing: map[string]float64{},
		InboundByState: map[string]float64{"failed": 0, "ignored": 0, "received": 0}, OutboundProblems: map[[2]string]float64{}}
	rows, err := s.pool.Query(ctx, `SELECT name, coalesce(extract(epoch FROM now() - greatest(last_check_at, last_fetch_at)), -1),
			coalesce(last_error, '') <> ''
		FROM mailboxes`)
	if err != nil {
		return ops, err
	}
	var name string
	var age float64
	var failing bool
	if _, err := pgx.ForEachRow(rows, []any{&name, &age, &failing}, func() error {
		ops.MailboxFetchAge[name] = age
		ops.MailboxFailing[name] = map[bool]float64{true: 1}[failing]
		return nil
	}); err != nil {
		return ops, err
	}
	rows, err = s.pool.Query(ctx, `SELECT state, count(*) FROM inbound_mails WHERE state IN ('failed', 'ignored', 'received') GROUP BY state`)
	if err != nil {
		return ops, err
	}
	var state string
	var n float64
	if _, err := pgx.ForEachRow(rows, []any{&state, &n}, func() error { ops.InboundByState[state] = n; return nil }); err != nil {
		return ops, err
	}
	// The reason is the error up to its first colon, so that addresses and
	// server texts do not make a label per mail.
	rows, err = s.pool.Query(ctx, `SELECT state, left(split_part(last_error, ':', 1), 60), count(*) FROM outbound_mails
		WHERE state IN ('failed', 'suppressed') GROUP BY 1, 2`)
	if err != nil {
		return ops, err
	}
	var reason string
	_, err = pgx.ForEachRow(rows, []any{&state, &reason, &n}, func() error {
		ops.OutboundProblems[[2]string{state, reason}] = n
		return nil
	})
	return ops, err
}
