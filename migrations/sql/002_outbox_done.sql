-- When the worker finished with an outbox row's task (done, or failed for good).
-- The relay re-enqueues a row whose task is neither finished nor in Redis any
-- more (Redis lost it: a flush, a failover without persistence).
ALTER TABLE outbox ADD COLUMN done_at timestamptz;
CREATE INDEX outbox_unfinished_idx ON outbox (enqueued_at) WHERE enqueued_at IS NOT NULL AND done_at IS NULL;

-- The webhook and the poll find a Dooray! link by its post alone.
CREATE INDEX dooray_links_post_idx ON dooray_links (post_id) WHERE post_id IS NOT NULL;
