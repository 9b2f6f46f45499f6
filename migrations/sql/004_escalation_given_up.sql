-- An escalation whose job gave up ('failed': a wrong project, retries
-- exhausted) no longer waits for a task, so the ticket can be escalated again.
-- 003's index is replaced by one that leaves given-up links out.
DROP INDEX IF EXISTS dooray_links_one_pending_idx;
CREATE UNIQUE INDEX dooray_links_one_pending_idx ON dooray_links (ticket_id) WHERE post_id IS NULL AND workflow_class <> 'failed';
