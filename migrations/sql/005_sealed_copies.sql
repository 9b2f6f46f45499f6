-- Masking a span of a message seals every other stored copy of it: the raw
-- mail it came from (and duplicates of that mail) and its attachments, with
-- the mask key (nonce || ciphertext), or drops them when no key is set.
-- raw_state says where the raw mail is: kept (in raw), sealed (in raw_sealed,
-- while its message has masked spans), masked (masked without a key: gone),
-- expired (removed by mail.raw_retention; content_hash still recognises
-- duplicates).
ALTER TABLE inbound_mails ADD COLUMN raw_sealed bytea;
ALTER TABLE inbound_mails ADD COLUMN raw_state text NOT NULL DEFAULT 'kept'
    CHECK (raw_state IN ('kept', 'sealed', 'masked', 'expired'));
CREATE INDEX inbound_mails_raw_retention_idx ON inbound_mails (received_at)
    WHERE raw_state IN ('kept', 'sealed') AND state IN ('processed', 'duplicate');

-- A sealed attachment leaves content-addressed storage (its sha256 would
-- fingerprint the content): sha256 is NULL and sealed holds it.
ALTER TABLE message_attachments ALTER COLUMN sha256 DROP NOT NULL;
ALTER TABLE message_attachments ADD COLUMN sealed bytea;

-- When intake last read the mailbox without an error, mail or no mail: a
-- quiet mailbox is not a stale one (last_fetch_at is the last mail stored).
ALTER TABLE mailboxes ADD COLUMN last_check_at timestamptz;
