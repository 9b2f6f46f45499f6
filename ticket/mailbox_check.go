package ticket

import "context"

// MailboxChecked records the end of an intake cycle of mailbox name: when the
// mailbox was read (checked), the time of this check; errText is its error
// ("" clears it). A failed check leaves the last good one as it was, so the
// age of the last check (contiple_mailbox_last_fetch_age_seconds) grows while
// the mailbox is broken, and stays small while it is merely quiet.
func (s *Store) MailboxChecked(ctx context.Context, name string, checked bool, errText string) error {
	if !checked {
		return s.MailboxError(ctx, name, errText)
	}
	_, err := s.pool.Exec(ctx, "UPDATE mailboxes SET last_check_at = $3, last_error = $2 WHERE name = $1", name, errText, s.now())
	return err
}
