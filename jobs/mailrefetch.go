package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/contiple/contiple-worker/channels/email"
	"github.com/contiple/contiple-worker/ticket"
)

// Retry puts inbound mail id back to be ingested (mail retry). A mail that
// was larger than mail.max_message_bytes when it came was left on the server
// unread: it is fetched now from its mailbox by UIDVALIDITY and UID, under
// today's limit. When the server no longer has it (deleted, moved, or the
// folder recreated with a new UIDVALIDITY) or it is still over the limit, the
// error says so. It reports whether the mail was fetched.
func (p *MailPoll) Retry(ctx context.Context, id int64) (fetched bool, err error) {
	err = p.Store.RetryInbound(ctx, id)
	if !errors.Is(err, ticket.ErrNotStored) {
		return false, err
	}
	im, err := p.Store.Inbound(ctx, id)
	if err != nil {
		return false, err
	}
	mi, ok := p.Mailboxes[im.Mailbox]
	if !ok {
		return false, fmt.Errorf("inbound mail %d: mailbox %q is not in the configuration, so it cannot be fetched", id, im.Mailbox)
	}
	src, err := p.connect(ctx, mi.Account)
	if err != nil {
		return false, fmt.Errorf("inbound mail %d: %w", id, err)
	}
	defer src.Close()
	folder := mi.Account.Folder
	if folder == "" {
		folder = "INBOX"
	}
	if v := src.UIDValidity(); v != im.UIDValidity {
		return false, fmt.Errorf("inbound mail %d is no longer on the server under its UID: folder %q of mailbox %s was recreated (UIDVALIDITY %d, the mail was UID %d under %d); find it in the folder by hand",
			id, folder, im.Mailbox, v, im.UID, im.UIDValidity)
	}
	var got *email.Fetched
	err = src.Fetch(ctx, im.UID-1, 1, p.maxBytes(), func(f email.Fetched) error {
		if f.UID == im.UID {
			got = &f
		}
		return nil
	})
	switch {
	case err != nil:
		return false, fmt.Errorf("inbound mail %d: %w", id, err)
	case got == nil:
		return false, fmt.Errorf("inbound mail %d (UID %d) is no longer on the server: it was deleted or moved out of folder %q of mailbox %s",
			id, im.UID, folder, im.Mailbox)
	case got.Raw == nil:
		return false, fmt.Errorf("inbound mail %d is still larger than mail.max_message_bytes (%d bytes, limit %d): raise the limit first",
			id, got.Size, p.maxBytes())
	}
	return true, p.Store.Refetched(ctx, id, got.Raw)
}
