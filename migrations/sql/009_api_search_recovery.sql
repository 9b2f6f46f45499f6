-- The helpdesk app's API: ticket fields it edits, work a person re-runs,
-- suppressions that end, feedback from issue management, and finding tickets.

-- Customer fields set per intake type (customer id, phone …) beside name and address.
ALTER TABLE tickets ADD COLUMN customer_fields jsonb NOT NULL DEFAULT '{}';
-- Issue management asked the original assignee to inform the customer
-- ("feedback"); cleared when that ticket is acted on.
ALTER TABLE tickets ADD COLUMN feedback_requested_at timestamptz;

-- An outbox row whose task failed for good (archived): listed by `outbox failed`
-- until a person runs it again (`outbox retry`, which writes a new row and
-- points this one at it).
ALTER TABLE outbox ADD COLUMN failed_at timestamptz;
ALTER TABLE outbox ADD COLUMN last_error text NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN retried_by bigint REFERENCES outbox (id) ON DELETE SET NULL;
CREATE INDEX outbox_failed_idx ON outbox (id) WHERE failed_at IS NOT NULL AND retried_by IS NULL;

-- Outbound mail a person must look at (failed, suppressed).
CREATE INDEX outbound_mails_problem_idx ON outbound_mails (id) WHERE state IN ('failed', 'suppressed');
-- The per-recipient hourly cap counts recent mail to one address.
CREATE INDEX outbound_mails_recipient_idx ON outbound_mails (lower(recipient), sent_at);

-- A suppression ends when the customer writes again: their latest message.
CREATE INDEX ticket_messages_customer_author_idx ON ticket_messages (lower(author), created_at) WHERE kind = 'customer';

-- Finding tickets. Keyset pagination runs on id; each filter has an index.
-- Text in subject, customer name and message bodies: trigram GIN indexes
-- (pg_trgm, trusted since PostgreSQL 13), which match CJK text as well under
-- a UTF-8 ctype, for LIKE/ILIKE of three characters or more.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX tickets_service_idx ON tickets (service_key, id);
CREATE INDEX tickets_assignee_idx ON tickets (assignee, id) WHERE assignee <> '';
CREATE INDEX tickets_group_idx ON tickets (operator_group, id) WHERE operator_group <> '';
CREATE INDEX tickets_channel_idx ON tickets (channel, id);
CREATE INDEX tickets_starred_idx ON tickets (id) WHERE starred;
CREATE INDEX tickets_updated_idx ON tickets (updated_at);
CREATE INDEX tickets_status_id_idx ON tickets (status, id);
CREATE INDEX tickets_feedback_idx ON tickets (assignee) WHERE feedback_requested_at IS NOT NULL;
CREATE INDEX tickets_subject_trgm_idx ON tickets USING gin (subject gin_trgm_ops);
CREATE INDEX tickets_customer_name_trgm_idx ON tickets USING gin (customer_name gin_trgm_ops);
CREATE INDEX ticket_messages_body_trgm_idx ON ticket_messages USING gin (body gin_trgm_ops);
