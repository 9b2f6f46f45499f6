-- What a helpdesk shows first of a customer's mail: the new words without the
-- quoted history; body keeps the full text. '' for a mail that only quotes;
-- NULL where no reply text was read (not a mail, or stored before this).
ALTER TABLE ticket_messages ADD COLUMN reply_text text;

-- A fingerprint of what the sender wrote (From, Date, Subject, body), without
-- the trace fields relays add: with the Message-ID it recognises the same mail
-- fetched twice or delivered by two routes, while a different mail that reuses
-- a Message-ID is not taken for a copy. '' for rows stored before it existed.
ALTER TABLE inbound_mails ADD COLUMN fingerprint text NOT NULL DEFAULT '';
CREATE INDEX inbound_mails_fingerprint_idx ON inbound_mails (message_id, fingerprint);
