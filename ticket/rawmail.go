package ticket

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// rawReadable says why inbound mail id cannot be ingested again from its raw
// mail, or nil when it can.
func rawReadable(ctx context.Context, tx pgx.Tx, id int64) error {
	var size int
	var state string
	if err := tx.QueryRow(ctx, "SELECT length(raw), raw_state FROM inbound_mails WHERE id = $1", id).Scan(&size, &state); err != nil {
		return err
	}
	switch {
	case state == RawSealed:
		return inputf("inbound mail %d is sealed because its message has masked spans: unmask the message first", id)
	case state == RawMasked:
		return inputf("inbound mail %d was dropped when its message was masked without a key", id)
	case state == RawExpired:
		return inputf("inbound mail %d was removed by mail.raw_retention", id)
	case size == 0:
		return fmt.Errorf("inbound mail %d: %w", id, ErrNotStored)
	}
	return nil
}

// ExpireRaw removes the raw mail of processed (and duplicate) inbound mail
// received more than olderThan ago, at most batch rows (0: 1,000), and
// returns how many it removed. content_hash and message_id stay, so a copy
// delivered again is still recognised as a duplicate; failed and ignored mail
// keeps its raw mail for `mail retry`.
func (s *Store) ExpireRaw(ctx context.Context, olderThan time.Duration, batch int) (int64, error) {
	if batch <= 0 {
		batch = 1000
	}
	tag, err := s.pool.Exec(ctx, `UPDATE inbound_mails SET raw = '', raw_sealed = NULL, raw_state = 'expired'
		WHERE id IN (SELECT id FROM inbound_mails
			WHERE raw_state IN ('kept', 'sealed') AND state IN ('processed', 'duplicate')
			  AND received_at < $1 ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED)`, s.now().Add(-olderThan), batch)
	return tag.RowsAffected(), err
}
