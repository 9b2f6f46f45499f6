package ticket

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/contiple/contiple-worker/channels"
)

// Intake of many mails at once: several stored mails are read in one
// statement and ingested in one transaction, each by the same per-mail logic
// as Ingest, in order, so a reply in the batch threads into the ticket the
// batch made for the mail it answers and triggers see the mails in order.

// InboundBatch returns the stored mails of ids (without raw bytes; RawSize
// says how many there are), in id order, which is the order they were fetched.
// Ids that do not exist are left out.
func (s *Store) InboundBatch(ctx context.Context, ids []int64) ([]InboundMail, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+inboundColumns+`, length(i.raw)
		FROM inbound_mails i JOIN mailboxes b ON b.id = i.mailbox_id WHERE i.id = ANY($1) ORDER BY i.id`, ids)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (InboundMail, error) {
		var size int64
		m, err := scanInbound(r, &size)
		m.RawSize = size
		return m, err
	})
}

// InboundRaws returns the raw bytes of the (small) stored mails ids, by id.
func (s *Store) InboundRaws(ctx context.Context, ids []int64) (map[int64][]byte, error) {
	out := make(map[int64][]byte, len(ids))
	rows, err := s.pool.Query(ctx, "SELECT id, raw FROM inbound_mails WHERE id = ANY($1)", ids)
	if err != nil {
		return nil, err
	}
	var id int64
	var raw []byte
	_, err = pgx.ForEachRow(rows, []any{&id, &raw}, func() error {
		out[id] = raw
		raw = nil // a new slice for the next row
		return nil
	})
	return out, err
}

// IngestItem is one parsed mail for IngestBatch, as Ingest takes it.
type IngestItem struct {
	ID       int64
	Message  *channels.Message
	Hints    Hints
	ParseErr error
}

// IngestBatch ingests items in one transaction, in order, each exactly as
// Ingest would. Any error rolls the whole batch back (nothing is half done);
// the caller may then ingest the mails one by one.
func (s *Store) IngestBatch(ctx context.Context, items []IngestItem) ([]IngestResult, error) {
	var out []IngestResult
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		out = out[:0]
		now := s.now()
		for _, it := range items {
			res, err := s.ingestIn(ctx, tx, it.ID, it.Message, it.Hints, it.ParseErr, now)
			if err != nil {
				return err
			}
			out = append(out, res)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
