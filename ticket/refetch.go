package ticket

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/jackc/pgx/v5"
)

// ErrNotStored is RetryInbound refusing a mail whose content was never read:
// it was larger than mail.max_message_bytes when it came and was left on the
// server. It is fetched from the mailbox by its UIDVALIDITY and UID, then
// handed to Refetched.
var ErrNotStored = errors.New("its content was not read (larger than mail.max_message_bytes when it came) and must be fetched from the mailbox")

// Refetched stores the content of a mail left on the server as too large,
// read now from its mailbox, and owes its mail:ingest, in one transaction. A
// mail whose content is stored already (a second retry at the same time) is
// left alone.
func (s *Store) Refetched(ctx context.Context, id int64, raw []byte) error {
	if len(raw) == 0 {
		return inputf("inbound mail %d: the mailbox returned no content", id)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		sum := sha256.Sum256(raw)
		tag, err := tx.Exec(ctx, `UPDATE inbound_mails SET raw = $2, content_hash = $3, size = $4, state = 'received', error = ''
			WHERE id = $1 AND state = 'failed' AND length(raw) = 0`, id, raw, hex.EncodeToString(sum[:]), len(raw))
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO outbox (kind, payload, created_at) VALUES ($1, $2, $3)`,
			OutboxMailIngest, map[string]int64{"inbound_mail_id": id}, s.now())
		return err
	})
}
