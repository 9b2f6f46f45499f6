package ticket

import "context"

// Board is the seed's at-a-glance board (ミニ電光掲示板), ALL side.
type Board struct {
	ReceivedToday  int     `json:"received_today"`
	ResolvedToday  int     `json:"resolved_today"`
	InProgress     int     `json:"in_progress"`
	OnHold         int     `json:"on_hold"`
	Unassigned     int     `json:"unassigned"`
	ProcessingRate float64 `json:"processing_rate"` // share of the last 24 h's tickets that are resolved
}

// Board counts the board in one query. "Today" is the database's day.
func (s *Store) Board(ctx context.Context) (Board, error) {
	var b Board
	var recent, recentDone int
	err := s.pool.QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE created_at >= date_trunc('day', now())),
			count(*) FILTER (WHERE resolved_at >= date_trunc('day', now())),
			count(*) FILTER (WHERE status = 'in_progress'),
			count(*) FILTER (WHERE status = 'on_hold'),
			count(*) FILTER (WHERE status = 'unassigned'),
			count(*) FILTER (WHERE created_at >= now() - interval '24 hours'),
			count(*) FILTER (WHERE created_at >= now() - interval '24 hours' AND status IN ('resolved', 'completed'))
		FROM tickets`).Scan(&b.ReceivedToday, &b.ResolvedToday, &b.InProgress, &b.OnHold, &b.Unassigned, &recent, &recentDone)
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
