-- Large mail is read back in slices (substring) so that the worker never holds
-- more than one copy of it: uncompressed out-of-line storage lets PostgreSQL
-- fetch just the TOAST chunks of a slice instead of decompressing the whole
-- value for each. Mail and attachments are mostly base64 or already
-- compressed, so little is lost. (Applies to rows written from now on.)
ALTER TABLE inbound_mails ALTER COLUMN raw SET STORAGE EXTERNAL;
ALTER TABLE attachments ALTER COLUMN data SET STORAGE EXTERNAL;

-- Mail not yet acknowledged on the server, found without walking the
-- mailbox's whole history (intake's cost must not grow with it).
CREATE INDEX inbound_mails_unacked_idx ON inbound_mails (mailbox_id, uidvalidity, uid) WHERE acked_at IS NULL;

-- (The hourly cap of mails to one recipient reads outbound_mails_recipient_idx,
-- made by 009.)
