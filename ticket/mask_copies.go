package ticket

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// Raw mail states (inbound_mails.raw_state).
const (
	RawKept    = "kept"    // in raw
	RawSealed  = "sealed"  // its message has masked spans: sealed in raw_sealed
	RawMasked  = "masked"  // masked without a key: gone
	RawExpired = "expired" // removed by mail.raw_retention
)

// copiesOf selects the raw mails holding message $1's text: the one it came
// from and every duplicate delivery of that mail.
const copiesOf = `SELECT i.id FROM ticket_messages m
	JOIN inbound_mails src ON src.id = m.inbound_mail_id
	JOIN inbound_mails i ON i.id = src.id OR i.state = 'duplicate'
		AND (i.content_hash = src.content_hash OR src.message_id <> '' AND i.message_id = src.message_id)
	WHERE m.id = $1`

// sealCopies seals every other stored copy of a message's text once a span of
// it is masked: its raw mail (and duplicates of that mail) and its
// attachments (original.eml among them), so that nothing of the message is
// left in clear but its masked text. Without a key they are dropped. Copies
// sealed by an earlier mask stay as they are.
func (s *Store) sealCopies(ctx context.Context, tx pgx.Tx, messageID int64) error {
	if err := s.sealRaw(ctx, tx, `id IN (`+copiesOf+`)`, messageID); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT ma.id, ma.sha256, a.data FROM message_attachments ma JOIN attachments a ON a.sha256 = ma.sha256
		WHERE ma.message_id = $1 FOR UPDATE OF ma`, messageID)
	if err != nil {
		return err
	}
	type attachment struct {
		id   int64
		sum  string
		data []byte
	}
	atts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (attachment, error) {
		var a attachment
		return a, r.Scan(&a.id, &a.sum, &a.data)
	})
	if err != nil || len(atts) == 0 {
		return err
	}
	var sums []string
	for _, a := range atts {
		var sealed []byte
		if s.sealer != nil {
			sealed = s.sealer.Seal(a.data, attachmentAD(a.id))
		}
		if _, err := tx.Exec(ctx, `UPDATE message_attachments SET sha256 = NULL, sealed = $2 WHERE id = $1`, a.id, sealed); err != nil {
			return err
		}
		sums = append(sums, a.sum)
	}
	// The content goes with its hash unless another message holds the same
	// attachment (that message is not masked).
	_, err = tx.Exec(ctx, `DELETE FROM attachments a WHERE a.sha256 = ANY($1)
		AND NOT EXISTS (SELECT 1 FROM message_attachments ma WHERE ma.sha256 = a.sha256)`, sums)
	return err
}

// sealRaw seals (or, without a key, drops) the raw mail of the inbound rows
// matching where (with its one argument) that still hold theirs in clear.
func (s *Store) sealRaw(ctx context.Context, tx pgx.Tx, where string, arg any) error {
	raws, err := blobs(ctx, tx, `SELECT id, raw FROM inbound_mails WHERE `+where+` AND raw_state = 'kept' FOR UPDATE`, arg)
	if err != nil {
		return err
	}
	for _, b := range raws {
		state, sealed := RawMasked, []byte(nil)
		if s.sealer != nil {
			state, sealed = RawSealed, s.sealer.Seal(b.data, rawAD(b.id))
		}
		if _, err := tx.Exec(ctx, `UPDATE inbound_mails SET raw = '', raw_sealed = $2, raw_state = $3 WHERE id = $1`,
			b.id, sealed, state); err != nil {
			return err
		}
	}
	return nil
}

// sealDuplicate seals the raw mail of inbound mail id, just recognised as a
// duplicate, when the mail it repeats was sealed by a mask: a copy delivered
// after the mask must not bring the text back in clear.
func (s *Store) sealDuplicate(ctx context.Context, tx pgx.Tx, id int64) error {
	return s.sealRaw(ctx, tx, `id = $1 AND EXISTS (SELECT 1 FROM inbound_mails d JOIN inbound_mails o ON o.id <> d.id
		AND o.raw_state IN ('sealed', 'masked') AND (o.content_hash = d.content_hash OR d.message_id <> '' AND o.message_id = d.message_id)
		WHERE d.id = $1)`, id)
}

// unsealCopies restores what sealCopies sealed, once a message has no masked
// span left.
func (s *Store) unsealCopies(ctx context.Context, tx pgx.Tx, messageID int64) error {
	raws, err := blobs(ctx, tx, `SELECT id, raw_sealed FROM inbound_mails WHERE id IN (`+copiesOf+`) AND raw_state = 'sealed' FOR UPDATE`, messageID)
	if err != nil {
		return err
	}
	for _, b := range raws {
		raw, err := s.sealer.Open(b.data, rawAD(b.id))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE inbound_mails SET raw = $2, raw_sealed = NULL, raw_state = 'kept' WHERE id = $1`, b.id, raw); err != nil {
			return err
		}
	}
	atts, err := blobs(ctx, tx, `SELECT id, sealed FROM message_attachments WHERE message_id = $1 AND sealed IS NOT NULL FOR UPDATE`, messageID)
	if err != nil {
		return err
	}
	for _, b := range atts {
		data, err := s.sealer.Open(b.data, attachmentAD(b.id))
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		key := hex.EncodeToString(sum[:])
		if _, err := tx.Exec(ctx, `INSERT INTO attachments (sha256, size, content_type, data)
			SELECT $2, $3, coalesce(nullif(content_type, ''), 'application/octet-stream'), $4 FROM message_attachments WHERE id = $1
			ON CONFLICT (sha256) DO NOTHING`, b.id, key, len(data), data); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE message_attachments SET sha256 = $2, sealed = NULL WHERE id = $1`, b.id, key); err != nil {
			return err
		}
	}
	return nil
}

// blob is a row's id and one bytea column of it.
type blob struct {
	id   int64
	data []byte
}

// blobs runs query (selecting an id and a bytea) and collects its rows.
func blobs(ctx context.Context, tx pgx.Tx, query string, args ...any) ([]blob, error) {
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (blob, error) {
		var b blob
		return b, r.Scan(&b.id, &b.data)
	})
}

// The additional data of a sealed copy binds it to its row.
func rawAD(id int64) []byte        { return []byte("inbound_mails:" + strconv.FormatInt(id, 10)) }
func attachmentAD(id int64) []byte { return []byte("message_attachments:" + strconv.FormatInt(id, 10)) }
