package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/contiple/contiple-worker/ticket"
)

// Batch intake: the mails one poll stored together are ingested in a few
// transactions instead of one task and one transaction each. A chunk is read in
// one statement, parsed, and ingested in one transaction in fetch order (see
// ticket.Store.IngestBatch); a mail over aloneOver is ingested on its own, as
// mail retry would, so that big mail never shares the memory budget.
const (
	chunkMails = 50
	chunkBytes = 4 << 20
	aloneOver  = 1 << 20
)

// IngestMany ingests the stored mails ids in order. It returns the first
// error after trying every mail: asynq runs the task again, and mails already
// ingested are then skipped.
func (h *MailIngest) IngestMany(ctx context.Context, ids []int64) error {
	mails, err := h.Store.InboundBatch(ctx, ids)
	if err != nil {
		return err
	}
	var errs []error
	var chunk []ticket.InboundMail
	var bytes int64
	flush := func() {
		if len(chunk) > 0 {
			errs = append(errs, h.ingestChunk(ctx, chunk, bytes))
		}
		chunk, bytes = chunk[:0], 0
	}
	for _, im := range mails {
		if im.State != ticket.InboundReceived {
			continue
		}
		if im.RawSize > aloneOver {
			flush()
			if _, err := h.Ingest(ctx, im.ID); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if len(chunk) == chunkMails || bytes+im.RawSize > chunkBytes {
			flush()
		}
		chunk = append(chunk, im)
		bytes += im.RawSize
	}
	flush()
	return errors.Join(errs...)
}

// ingestChunk reads, parses and ingests small mails in one transaction. When
// the transaction fails, each mail is ingested on its own, so that one mail
// the database refuses does not hold the others back.
func (h *MailIngest) ingestChunk(ctx context.Context, chunk []ticket.InboundMail, bytes int64) error {
	release, err := h.Budget.Acquire(ctx, bytes)
	if err != nil {
		return err
	}
	defer release()
	ids := make([]int64, len(chunk))
	for i, im := range chunk {
		ids[i] = im.ID
	}
	raws, err := h.Store.InboundRaws(ctx, ids)
	if err != nil {
		return err
	}
	// A mail whose hints cannot be read now (a DKIM key lookup failed) stays
	// received; the task fails and ingests it again, the others are done.
	var prepErrs []error
	items := make([]ticket.IngestItem, 0, len(chunk))
	ready := make([]ticket.InboundMail, 0, len(chunk))
	for _, im := range chunk {
		item, err := h.prepare(im, raws[im.ID])
		if err != nil {
			prepErrs = append(prepErrs, fmt.Errorf("inbound mail %d: %w", im.ID, err))
			continue
		}
		items, ready = append(items, item), append(ready, im)
	}
	chunk = ready
	results, err := h.Store.IngestBatch(ctx, items)
	if err == nil {
		for i, res := range results {
			h.logIngested(ctx, chunk[i], items[i], res)
		}
		return errors.Join(prepErrs...)
	}
	if ctx.Err() != nil {
		return err
	}
	h.Log.Warn("ingesting a batch of mails failed; ingesting them one by one", "mails", len(chunk), "err", err)
	errs := prepErrs
	for i, it := range items {
		res, err := h.Store.Ingest(ctx, it.ID, it.Message, it.Hints, it.ParseErr)
		if errors.Is(err, ticket.ErrNotFound) {
			continue // gone with its mailbox: nothing to ingest
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("inbound mail %d: %w", it.ID, err))
			continue
		}
		h.logIngested(ctx, chunk[i], it, res)
	}
	return errors.Join(errs...)
}
